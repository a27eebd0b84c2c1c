// This machine's own addresses, for both hosts: which interface addresses are candidates (IN_CANDIDATES,
// docs/host.md "Local candidates") and which one to advertise when listening on a wildcard address.
// Both runtimes list interfaces as { name, address } (Node: os.networkInterfaces(), Deno:
// Deno.networkInterfaces()); the rules look at the address and the name only, so both hosts agree.
import { type HostPort, formatHostPort, formatIp, isIpv6Host, parseIp } from "./address.ts";
import type { Timers } from "../base/services.ts";

export interface InterfaceAddress {
  name: string;
  address: string;
}

/** How often the host looks at its interface addresses again (a new DHCP lease, a new IPv6 prefix). */
export const CANDIDATE_REFRESH_MS = 30_000;

/**
 * True for an address other machines may reach this one at: not unspecified, loopback (127/8, ::1),
 * link-local (169.254/16, fe80::/10: a peer would need the interface's scope), nor multicast.
 */
export function isCandidateIp(ip: Uint8Array): boolean {
  const mapped = ip.subarray(0, 12).every((b, i) => b === (i < 10 ? 0 : 0xff));
  if (mapped) {
    const [a, b] = ip.subarray(12, 14);
    return !(a === 0 || a === 127 || (a === 169 && b === 254) || a >= 224);
  }
  if (ip.subarray(0, 15).every((b) => b === 0)) return false; // :: and ::1
  if (ip[0] === 0xfe && (ip[1] & 0xc0) === 0x80) return false; // fe80::/10
  return ip[0] !== 0xff; // ff00::/8
}

/**
 * The candidates among `interfaces` for a socket listening on `listen`: on "::", every IPv4 and IPv6
 * candidate address; on "0.0.0.0", the IPv4 ones (the socket cannot send IPv6); on one address, that
 * address when it is a candidate. Each with the listen port, in canonical text, without duplicates.
 * The node's own TAP (`tap`) is left out: its addresses are on the overlay, not the underlay.
 */
export function localCandidates(interfaces: readonly InterfaceAddress[], listen: HostPort, tap: string): HostPort[] {
  const wildcard = listen.host === "::" || listen.host === "0.0.0.0";
  const hosts = wildcard ? interfaces.filter((i) => i.name !== tap).map((i) => i.address) : [listen.host];
  const out: HostPort[] = [];
  for (const text of hosts) {
    const ip = parseIp(text); // null for a zone-scoped address ("fe80::1%eth0"), never a candidate
    if (ip === null || !isCandidateIp(ip)) continue;
    const host = formatIp(ip);
    if (listen.host === "0.0.0.0" && isIpv6Host(host)) continue;
    if (!out.some((c) => c.host === host)) out.push({ host, port: listen.port });
  }
  return out;
}

/**
 * The address to advertise for a wildcard `listen`: the first IPv4 candidate (every member can reach
 * IPv4; an IPv6 one cannot reach an IPv4-only member), else the first IPv6 one; null when none.
 */
export function guessAdvertise(interfaces: readonly InterfaceAddress[], listen: HostPort, tap: string): HostPort | null {
  const candidates = localCandidates(interfaces, listen, tap);
  return candidates.find((c) => !isIpv6Host(c.host)) ?? candidates[0] ?? null;
}

/**
 * Reads the interface addresses now and every CANDIDATE_REFRESH_MS, and hands the candidates to
 * `push` whenever they changed (a poll, not netlink: one cheap call per 30 s on both runtimes).
 */
export class CandidateWatch {
  private last = "";
  private timer: unknown = null;

  constructor(
    private readonly read: () => InterfaceAddress[],
    private readonly listen: HostPort,
    private readonly tap: string,
    private readonly timers: Timers,
    private readonly push: (candidates: HostPort[]) => void,
  ) {}

  start(): void {
    this.refresh();
  }

  private refresh(): void {
    const candidates = localCandidates(this.read(), this.listen, this.tap);
    const text = candidates.map(formatHostPort).join(" ");
    if (text !== this.last) {
      this.last = text;
      this.push(candidates);
    }
    this.timer = this.timers.set(() => this.refresh(), CANDIDATE_REFRESH_MS);
  }

  stop(): void {
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
  }
}
