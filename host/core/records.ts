// Decoders for the core's structured output records: OUT_MEMBER (members_dump), OUT_MAC (macs_dump)
// and OUT_EVENT. Layouts follow assembly/membership and assembly/mactable; keep them in step.
import { hexU64 } from "../base/node-id.ts";
import { ADDR_SLOT } from "./abi.ts";
import { formatAddress, isMappedIpv4 } from "../net/address.ts";
import { underlayMtuOf } from "./mtu.ts";

export interface Member {
  id: string; // 16 hex digits
  address: string;
  state: string;
  incarnation: number;
  /** Core time (ms) of the last state change. */
  sinceMs: number;
  /** The largest plaintext datagram the path to it carries (assembly/pmtu.ts); 0 for self or a member not alive. */
  maxDatagram: number;
  /** That path MTU as the underlay's IP MTU (datagram + sealing + UDP + IP header); null when maxDatagram is 0. */
  pmtu: number | null;
  name: string;
  self: boolean;
}

export interface MacEntry {
  mac: string;
  vlan: number;
  owner: string; // node id, 16 hex digits
  version: number;
  kind: string;
  ageMs: number;
  /** IP addresses bound to this MAC (docs/arp.md), IPv4 dotted, IPv6 RFC 5952 text. */
  ips: string[];
}

export interface CoreEvent {
  type: string;
  state: string;
  incarnation: number;
  id: string;
  address: string;
  name: string;
}

const MEMBER_STATES = ["alive", "suspect", "dead", "left"];
const MAC_KINDS = ["", "local", "remote"];
const EVENT_TYPES = ["", "join", "update", "suspect", "alive", "dead", "left"];

const decoder = new TextDecoder();

export function formatMac(b: Uint8Array, offset: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(b[offset + i].toString(16).padStart(2, "0"));
  return parts.join(":");
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * [u64 id][u32 incarnation][u8 state][u8 0][u16 protocol][u32 capabilities][u32 max datagram]
 * [f64 state since ms][addr slot][name utf8] (assembly/membership/membership.ts MEMBER_*)
 */
export function decodeMember(b: Uint8Array, selfId: string): Member {
  const v = view(b);
  const id = hexU64(b, 0);
  const maxDatagram = v.getUint32(20, true);
  return {
    id,
    address: formatAddress(b, 32),
    state: MEMBER_STATES[b[12]] ?? `state${b[12]}`,
    incarnation: v.getUint32(8, true),
    sinceMs: v.getFloat64(24, true),
    maxDatagram,
    pmtu: maxDatagram === 0 ? null : underlayMtuOf(maxDatagram, !isMappedIpv4(b, 32)),
    name: decoder.decode(b.subarray(32 + ADDR_SLOT)),
    self: id === selfId,
  };
}

const MAC_DUMP_LEN = 32;
const DUMP_IP_LEN = 16;

/** The 16-byte addresses after an OUT_MAC body (IPv4 as ::ffff:a.b.c.d, assembly/bindings.ts). */
function decodeIps(b: Uint8Array, from: number): string[] {
  const ips: string[] = [];
  for (let off = from; off + DUMP_IP_LEN <= b.length; off += DUMP_IP_LEN) ips.push(formatIp(b, off));
  return ips;
}

/** An IPv6 address in RFC 5952 text (longest run of two or more zero groups as ::), IPv4-mapped as dotted IPv4. */
export function formatIp(b: Uint8Array, off: number): string {
  if (isMappedIpv4(b, off)) return `${b[off + 12]}.${b[off + 13]}.${b[off + 14]}.${b[off + 15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[off + i] << 8) | b[off + i + 1]);
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j === i ? i + 1 : j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  return best < 0 ? hex(groups) : `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/**
 * [6-byte MAC][u16 vlan][u64 owner][f64 age ms][u32 version][u8 kind, 3 zero] (assembly/mactable.ts DUMP_*),
 * then 16 bytes per bound IP address.
 */
export function decodeMac(b: Uint8Array): MacEntry {
  const v = view(b);
  return {
    mac: formatMac(b, 0),
    vlan: v.getUint16(6, true),
    owner: hexU64(b, 8),
    ageMs: Math.round(v.getFloat64(16, true)),
    version: v.getUint32(24, true),
    kind: MAC_KINDS[b[28]] ?? `kind${b[28]}`,
    ips: decodeIps(b, MAC_DUMP_LEN),
  };
}

/** [u16 kind][u16 state][u32 incarnation][u64 id][addr slot][name utf8] (assembly/membership/events.ts) */
export function decodeEvent(b: Uint8Array): CoreEvent {
  const v = view(b);
  const kind = v.getUint16(0, true);
  const state = v.getUint16(2, true);
  return {
    type: EVENT_TYPES[kind] ?? `event${kind}`,
    state: MEMBER_STATES[state] ?? `state${state}`,
    incarnation: v.getUint32(4, true),
    id: hexU64(b, 8),
    address: formatAddress(b, 16),
    name: decoder.decode(b.subarray(16 + ADDR_SLOT)),
  };
}
