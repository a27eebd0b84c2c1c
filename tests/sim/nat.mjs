// Home routers for the simulator (docs/nat.md "Simulator"): one public IPv4
// address per router, UDP mappings with a timeout, and address-and-port-
// dependent filtering (WAN input only for flows the inside opened, as an
// nftables masquerade router with a default-drop input does). Mapping:
//   cone      endpoint-independent: one public port per inside address (kept: masquerade keeps ports while free)
//   symmetric a new public port per destination (masquerade fully-random)
import { ADDR_LEN } from "./core.mjs";

export const NAT = { NONE: "none", CONE: "cone", SYMMETRIC: "symmetric" };

export const addrKey = (a) => Array.from(a.subarray(0, ADDR_LEN)).join(".");

/** An 18-byte address ::ffff:a.b.c.d port. */
export function v4Addr(ip, port) {
  const a = new Uint8Array(ADDR_LEN);
  a[10] = 0xff; a[11] = 0xff; a.set(ip, 12);
  a[16] = port >> 8; a[17] = port & 0xff;
  return a;
}

export const portOf = (a) => (a[16] << 8) | a[17];
export const ipOf = (a) => Array.from(a.subarray(12, 16)).join(".");

export class Router {
  /** @param {number[]} ip public IPv4; type NAT.CONE or NAT.SYMMETRIC; timeoutMs: UDP conntrack timeout */
  constructor(ip, type, timeoutMs, rng) {
    this.rng = rng;
    this.timeoutMs = timeoutMs;
    this.reset(ip, type);
  }

  /** A new public address and/or behaviour (the ISP or the router changed): every mapping is gone. */
  reset(ip, type) {
    this.ip = ip;
    this.type = type;
    this.byKey = new Map(); // mapping key -> mapping
    this.byPort = new Map(); // public port -> mapping
  }

  /** The public source address for a datagram from inside `from` (18 bytes) to `to`; opens the flow. */
  outbound(from, to, now) {
    const fromKey = addrKey(from), toKey = addrKey(to);
    const key = this.type === NAT.SYMMETRIC ? `${fromKey}>${toKey}` : fromKey;
    let m = this.byKey.get(key);
    if (m && this.idle(m, now)) { this.drop(m); m = undefined; }
    if (!m) {
      let port = this.type === NAT.CONE ? portOf(from) : 0;
      while (port === 0 || this.byPort.has(port)) port = 20000 + this.rng.below(40000);
      m = { key, port, inside: from, flows: new Map() };
      this.byKey.set(key, m);
      this.byPort.set(port, m);
    }
    m.flows.set(toKey, now);
    return v4Addr(this.ip, m.port);
  }

  /** The inside address a datagram from `src` to public `port` goes to, or null (filtered). */
  inbound(port, src, now) {
    const m = this.byPort.get(port);
    if (!m) return null;
    const k = addrKey(src);
    const seen = m.flows.get(k);
    if (seen === undefined || now - seen > this.timeoutMs) return null;
    m.flows.set(k, now); // conntrack refreshes the flow on replies too
    return m.inside;
  }

  idle(m, now) {
    for (const t of m.flows.values()) if (now - t <= this.timeoutMs) return false;
    return true;
  }

  drop(m) {
    this.byKey.delete(m.key);
    this.byPort.delete(m.port);
  }
}
