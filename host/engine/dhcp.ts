// The distributed DHCP server's host side (docs/dhcp.md): `divs up --dhcp*` flags become core config
// keys, and `dhcp_dump` records (assembly/dhcp/dump.ts) become the pool's ownership and leases.
import { hexU64 } from "../base/node-id.ts";
import { OUT_DHCP_LEASE, OUT_DHCP_RANGE } from "../core/abi.ts";
import type { CoreConfig } from "../core/config.ts";
import type { Timers } from "../base/services.ts";
import { formatMac } from "../core/records.ts";
import { usageError } from "../base/errors.ts";

/** assembly/config.ts Key.Dhcp*. */
export const DHCP_KEYS = {
  poolStart: 300, poolSize: 301, leaseS: 302, router: 303, dns1: 304, dns2: 305, prefixLen: 306, mtu: 307, seed: 308,
} as const;
export const DEFAULT_DHCP_LEASE_S = 3600;
export const DEFAULT_DHCP_PREFIX = 24;

export function parseIpv4(text: string, flag: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m || m.slice(1).some((p) => Number(p) > 255)) throw usageError(`bad ${flag} "${text}": expected an IPv4 address like 198.18.0.1`);
  return m.slice(1).reduce((a, p) => a * 256 + Number(p), 0);
}

export function ipv4Text(v: number): string {
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");
}

export interface DhcpOptions {
  pool: string; // START-END
  leaseS: number;
  router?: string;
  dns?: string; // IP[,IP]
  prefixLen: number;
  tapMtu: number;
  /** This node starts the switch (no --join): it owns the whole pool until others join. */
  seed: boolean;
}

/** The core config entries for `divs up --dhcp ...`. */
export function dhcpConfig(o: DhcpOptions): CoreConfig {
  const parts = o.pool.split("-");
  if (parts.length !== 2) throw usageError(`bad --dhcp "${o.pool}": expected START-END like 198.18.0.100-198.18.0.199`);
  const start = parseIpv4(parts[0], "--dhcp start");
  const end = parseIpv4(parts[1], "--dhcp end");
  const size = end - start + 1;
  if (size < 2 || size > 65536) throw usageError(`bad --dhcp "${o.pool}": 2 to 65536 addresses, START first`);
  const out: CoreConfig = new Map([
    [DHCP_KEYS.poolStart, start], [DHCP_KEYS.poolSize, size], [DHCP_KEYS.leaseS, o.leaseS],
    [DHCP_KEYS.prefixLen, o.prefixLen], [DHCP_KEYS.mtu, o.tapMtu], [DHCP_KEYS.seed, o.seed ? 1 : 0],
  ]);
  if (o.router) out.set(DHCP_KEYS.router, parseIpv4(o.router, "--dhcp-router"));
  const dns = o.dns ? o.dns.split(",") : [];
  if (dns.length > 2) throw usageError(`bad --dhcp-dns "${o.dns}": one or two addresses`);
  dns.forEach((d, i) => out.set(i === 0 ? DHCP_KEYS.dns1 : DHCP_KEYS.dns2, parseIpv4(d, "--dhcp-dns")));
  return out;
}

export interface DhcpRange { first: string; last: string; owner: string; version: number; size: number }
export interface DhcpLease { ip: string; state: string; mac: string; node: string; expiresInS: number; hostname: string }
export interface DhcpState { ranges: DhcpRange[]; leases: DhcpLease[] }

const LEASE_STATES = ["free", "offered", "bound", "declined", "released"];
const decoder = new TextDecoder();

/** Adds one dhcp_dump record to `into`. */
export function decodeDhcpRecord(kind: number, b: Uint8Array, into: DhcpState): void {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (kind === OUT_DHCP_RANGE) {
    const first = v.getUint32(0, true), last = v.getUint32(4, true);
    into.ranges.push({ first: ipv4Text(first), last: ipv4Text(last), owner: hexU64(b, 8), version: v.getUint32(16, true), size: last - first + 1 });
  } else if (kind === OUT_DHCP_LEASE) {
    const mac = new Uint8Array(6);
    for (let i = 0; i < 6; i++) mac[i] = b[8 + 5 - i]; // u64 LE, low 48 bits: the MAC's last byte first
    into.leases.push({
      ip: ipv4Text(v.getUint32(0, true)), state: LEASE_STATES[b[4]] ?? `state${b[4]}`, mac: formatMac(mac, 0),
      node: hexU64(b, 16), expiresInS: Math.round(v.getFloat64(24, true) / 1000), hostname: decoder.decode(b.subarray(32, 32 + b[5])),
    });
  }
}

/** How often a serving node checks whether peers gossip another pool than its own. */
const POOL_CHECK_MS = 1000;

/**
 * Calls `onMismatch` once `mismatches()` (the core's dhcp_pool_mismatch counter) is above 0: a peer
 * gossips another pool, so this node's --dhcp disagrees with the switch's. Returns a stop function.
 */
export function watchPoolMismatch(timers: Timers, mismatches: () => number, onMismatch: () => void): () => void {
  let handle: unknown = null;
  const check = () => {
    handle = null;
    if (mismatches() > 0) onMismatch();
    else handle = timers.set(check, POOL_CHECK_MS);
  };
  handle = timers.set(check, POOL_CHECK_MS);
  return () => { if (handle !== null) timers.clear(handle); };
}
