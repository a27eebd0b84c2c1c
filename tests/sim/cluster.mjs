// A simulated cluster: N instances of the real core on a virtual clock and a
// simulated network (per-link latency, random loss, partitions, crashes and
// restarts, slow members whose input is handled late, a largest datagram per
// link, home routers in front of some nodes: tests/sim/nat.mjs). Each node's
// host follows the core's routes (OUT_ROUTE) and relays for the pairs its core
// allows (OUT_RELAY_ALLOW), as host/secure does. Everything random
// comes from one seed, so a run is reproducible.
import {
  ADDR_LEN, ADDR_SLOT, CoreInstance, DATAGRAM_UNROUTED, IN_DATAGRAM, IN_DATAGRAM_VIA, IN_FRAME, IN_IDENTITY, IN_JOIN, IN_LEAVE, IN_PATHS_QUERY, IN_PING, IN_RANDOM,
  OUT_DATAGRAM, OUT_EVENT, OUT_FRAME, OUT_PATHS_REPORT, OUT_PONG, OUT_RELAY_ALLOW, OUT_ROUTE, OUT_TIMER, addrIndex, compileCore, nodeAddr,
} from "./core.mjs";
import { WakeHeap } from "./heap.mjs";
import { NAT, Router, addrKey, portOf } from "./nat.mjs";
import { Rng } from "./rng.mjs";

const ROUTE_RELAY = 2;
const NAT_UDP_TIMEOUT_MS = 15_000; // the home router

function slot(addr) { const s = new Uint8Array(ADDR_SLOT); s.set(addr); return s; }
function u64le(v) { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, v, true); return b; }

export class Cluster {
  /**
   * @param {object} o nodes, seed, loss (0..1), slow (count), slowLagMs, config ({key: value} for config_set),
   *   onEvent(t, observer, kind, subject), linkLimit(from, to) (largest datagram the link carries; none when absent),
   *   onTooBig(t, from, to, data) (a datagram the link dropped for its size),
   *   nat(i) (NAT.NONE, NAT.CONE or NAT.SYMMETRIC: node i's home router; none when absent),
   *   onPong(t, node, {id, seq, rtt, kind}) (an OUT_PONG answering IN_PING),
   *   onPathsReport(t, node, {reporter, seq, total, start, entries: [{peer, kind, relay}]}) (OUT_PATHS_REPORT),
   *   identity(i) ({id, claims}: node i's id and claim imports, tests/sim/identities.mjs; the stand-in when absent),
   *   onRelayRefused(t, relay, from, to) (an envelope the relay's host dropped: no grant for the pair),
   *   onRoutedDelivery(t, from, to) (a datagram sent along its route, not DATAGRAM_UNROUTED, reached its core)
   */
  constructor(o) {
    this.module = compileCore();
    this.rng = new Rng(o.seed ?? 1);
    this.loss = o.loss ?? 0;
    this.slowLagMs = o.slowLagMs ?? 1000;
    this.config = o.config ?? {};
    this.onEvent = o.onEvent ?? (() => {});
    this.linkLimit = o.linkLimit ?? (() => Infinity); // may be replaced mid-run: the path shrinks
    this.onTooBig = o.onTooBig ?? (() => {});
    this.onPong = o.onPong ?? (() => {});
    this.onPathsReport = o.onPathsReport ?? (() => {});
    this.onFrame = o.onFrame ?? (() => {}); // (t, node, frame): a frame the node wrote to its TAP
    this.onRelayRefused = o.onRelayRefused ?? (() => {});
    this.onRoutedDelivery = o.onRoutedDelivery ?? (() => {});
    this.now = 0;
    this.heap = new WakeHeap();
    this.side = null; // partition: side per node, or null
    this.cutLinks = new Set(); // "a>b": node a's datagrams to node b are lost (one link, not a partition)
    this.sent = { datagrams: 0, bytes: 0 };
    this.net = { filtered: 0, unreachable: 0, relayed: 0, relayedBytes: 0, relayRefused: 0, flows: new Map() };
    this.idIndex = new Map();
    this.nodes = [];
    this.identity = o.identity ?? null;
    for (let i = 0; i < o.nodes; i++) {
      const id = this.identity ? this.identity(i).id : this.rng.u64();
      this.idIndex.set(id, i);
      this.nodes.push({
        i, id, addr: nodeAddr(i), slot: slot(nodeAddr(i)), core: null, up: false, slow: false,
        inbox: [], timer: Infinity, wakeAt: Infinity, x: this.rng.next(), y: this.rng.next(),
        name: `n${i}`, lifeStart: 0, router: null, routes: new Map(), directFrom: new Map(), allowed: new Set(),
      });
      const type = o.nat?.(i) ?? NAT.NONE;
      if (type !== NAT.NONE) this.nodes[i].router = new Router(this.publicIp(i), type, NAT_UDP_TIMEOUT_MS, this.rng);
    }
    const order = this.nodes.map((n) => n.i);
    for (let k = 0; k < (o.slow ?? 0) && k < order.length - 1; k++) this.nodes[order[order.length - 1 - k]].slow = true;
  }

  /** Router i's public address: 203.0.113.0/24 and up (`generation` > 0 after a change). */
  publicIp(i, generation = 0) { return [203, 0, 113 + generation, 1 + i]; }

  /** Node i's router turns `type` with a new public address (generation > 0): its mappings are gone. */
  changeNat(i, type, generation) { this.nodes[i].router.reset(this.publicIp(i, generation), type); }

  /** The node a datagram to `dst` is for (a public router's owner, or a node with no router), or -1. */
  ownerOf(dst) {
    if (dst[12] === 203 && dst[13] === 0) {
      const n = this.nodes[dst[15] - 1];
      return n && n.router && n.router.ip[2] === dst[14] ? n.i : -1;
    }
    const j = addrIndex(dst, 0);
    return j >= 0 && j < this.nodes.length && !this.nodes[j].router ? j : -1;
  }

  /** One-way latency: 0.5 ms + 10 ms per unit of distance on a unit square, plus exponential jitter. */
  latency(a, b) {
    const na = this.nodes[a], nb = this.nodes[b];
    const base = 0.5 + 10 * Math.hypot(na.x - nb.x, na.y - nb.y);
    return base + this.rng.exp(base * 0.1);
  }

  /** Starts (or restarts) node i with a fresh core, joining through `seeds` (node indices); then `records` ([kind, parts]) as input. */
  start(i, seeds = [], records = []) {
    const n = this.nodes[i];
    n.core = this.identity ? new CoreInstance(this.module, this.identity(i).claims) : new CoreInstance(this.module);
    n.up = true;
    n.inbox = [];
    n.timer = Infinity;
    n.lifeStart = this.now;
    n.routes = new Map();
    n.directFrom = new Map();
    n.allowed = new Set();
    for (const [k, v] of Object.entries(this.config)) n.core.x.config_set(Number(k), v);
    n.core.record(IN_RANDOM, [this.rng.bytes(32)]);
    n.core.record(IN_IDENTITY, [u64le(n.id), n.slot, new TextEncoder().encode(n.name)]);
    for (const s of seeds) n.core.record(IN_JOIN, [this.nodes[s].slot]);
    for (const [kind, parts] of records) n.core.record(kind, parts);
    this.step(n, this.now);
  }

  /** Runs in steps of `stepMs` until done() holds after one or `capMs` passes; the elapsed ms, or null. */
  runUntil(done, capMs, stepMs) {
    const t0 = this.now;
    while (this.now - t0 < capMs) {
      this.run(this.now + stepMs);
      if (done()) return this.now - t0;
    }
    return null;
  }

  crash(i) {
    const n = this.nodes[i];
    n.up = false;
    n.core = null;
    n.inbox = [];
  }

  leave(i) { this.input(i, IN_LEAVE, []); }

  /** `divs ping`: node i pings member j (IN_PING with `seq`). */
  ping(i, j, seq) {
    const b = new Uint8Array(12);
    const v = new DataView(b.buffer);
    v.setBigUint64(0, this.nodes[j].id, true);
    v.setUint32(8, seq, true);
    this.input(i, IN_PING, [b]);
  }

  /** `divs paths`: node i asks member j for its paths from `start` on (IN_PATHS_QUERY with `seq`). */
  pathsQuery(i, j, seq, start = 0) {
    const b = new Uint8Array(14);
    const v = new DataView(b.buffer);
    v.setBigUint64(0, this.nodes[j].id, true);
    v.setUint32(8, seq, true);
    v.setUint16(12, start, true);
    this.input(i, IN_PATHS_QUERY, [b]);
  }

  /** Changes node i's name: an update every member must learn. */
  rename(i, name) {
    const n = this.nodes[i];
    n.name = name;
    this.input(i, IN_IDENTITY, [u64le(n.id), n.slot, new TextEncoder().encode(name)]);
  }

  /** Node i's TAP sees a broadcast frame (an ARP request, say) of `len` bytes from station `mac` (12 hex digits) on `vlan` (0: untagged). */
  frame(i, mac, vlan = 0, len = 60) {
    const src = Uint8Array.from(mac.match(/../g), (h) => parseInt(h, 16));
    const tag = vlan ? [0x81, 0x00, vlan >> 8, vlan & 0xff] : [];
    const f = new Uint8Array(len);
    f.fill(0xff, 0, 6);
    f.set(src, 6);
    f.set([...tag, 0x08, 0x06], 12);
    this.input(i, IN_FRAME, [f]);
  }

  input(i, kind, parts) {
    const n = this.nodes[i];
    if (!n.up) return;
    n.core.record(kind, parts);
    this.step(n, this.now);
  }

  partition(side) { this.side = side; }
  heal() { this.side = null; }
  /** Loses every datagram between nodes a and b, both ways (each still reaches the others). */
  cutLink(a, b) { this.cutLinks.add(`${a}>${b}`).add(`${b}>${a}`); }
  healLinks() { this.cutLinks.clear(); }

  schedule(n, t) {
    if (t < n.wakeAt) { n.wakeAt = t; this.heap.push(t, n.i); }
  }

  /**
   * The host of node `from` sends `data` for address `dst` along its route (wrapped for a relay), or
   * with `unrouted` (the core's DATAGRAM_UNROUTED flag) to `dst` itself.
   */
  hostSend(from, dst, data, unrouted) {
    const r = unrouted ? undefined : this.nodes[from].routes.get(addrKey(dst));
    if (r && r.kind === ROUTE_RELAY) this.wire(from, r.to, { relay: "to", addr: dst.slice(0, ADDR_LEN), data });
    else this.wire(from, r ? r.to : dst, { data, routed: !unrouted });
  }

  /** A datagram leaves node `from` for `dst`: through its router, across the network, into the owner's inbox. */
  wire(from, dst, pkt) {
    this.sent.datagrams++;
    this.sent.bytes += pkt.data.length;
    const to = this.ownerOf(dst);
    if (to < 0) { this.net.unreachable++; return; }
    const f = this.nodes[from];
    const src = f.router ? f.router.outbound(f.addr, dst, this.now) : f.addr;
    if (pkt.data.length > this.linkLimit(from, to)) { this.onTooBig(this.now, from, to, pkt.data); return; }
    if (this.loss > 0 && this.rng.next() < this.loss) return;
    if (this.side && this.side[from] !== this.side[to]) return;
    if (this.cutLinks.has(`${from}>${to}`)) return;
    let at = this.now + this.latency(from, to);
    if (this.nodes[to].slow) at += this.rng.next() * this.slowLagMs;
    at = Math.ceil(at); // 1 ms steps, so deliveries to a node batch into one process call
    const n = this.nodes[to];
    if (!n.up) return;
    n.inbox.push({ at, from, src, dstPort: portOf(dst), pkt });
    this.schedule(n, at);
  }

  /** Node n's host receives one datagram (its router filters at arrival); false when the core's input is full. */
  receive(n, d) {
    if (n.router && n.router.inbound(d.dstPort, d.src, this.now) === null) { this.net.filtered++; return true; }
    const fromKey = n.directFrom.get(addrKey(d.src)) ?? d.src;
    const { pkt } = d;
    if (pkt.relay === "to") { this.relay(n, fromKey, pkt); return true; }
    const flow = `${d.from}>${n.i}`;
    if (!pkt.relay) this.net.flows.set(flow, (this.net.flows.get(flow) ?? 0) + 1);
    const taken = pkt.relay === "from"
      ? n.core.record(IN_DATAGRAM_VIA, [slot(pkt.addr), slot(d.src), pkt.data])
      : n.core.record(IN_DATAGRAM, [slot(fromKey), pkt.data]);
    if (taken && (pkt.relay === "from" || pkt.routed)) this.onRoutedDelivery(this.now, pkt.relay === "from" ? this.ownerOf(pkt.addr) : d.from, n.i);
    return taken;
  }

  /** The relay role: forward, unread, between two members the core allowed, never along another relay. */
  relay(n, fromKey, pkt) {
    const a = addrKey(fromKey), b = addrKey(pkt.addr);
    const r = n.routes.get(b);
    if (!n.allowed.has(`${a}|${b}`) || (r && r.kind === ROUTE_RELAY)) {
      this.net.relayRefused++;
      this.onRelayRefused(this.now, n.i, this.ownerOf(fromKey), this.ownerOf(pkt.addr));
      return;
    }
    this.net.relayed++;
    this.net.relayedBytes += pkt.data.length;
    this.wire(n.i, r ? r.to : pkt.addr, { relay: "from", addr: fromKey.slice(0, ADDR_LEN), data: pkt.data });
  }

  /** OUT_ROUTE and OUT_RELAY_ALLOW, as the host's route table and relay admission keep them. */
  hostRecord(n, kind, u8, dv, at) {
    const a = u8.slice(at, at + ADDR_LEN), b = u8.slice(at + ADDR_SLOT, at + ADDR_SLOT + ADDR_LEN);
    const ka = addrKey(a), kb = addrKey(b);
    if (kind === OUT_ROUTE) {
      const old = n.routes.get(ka);
      if (old) n.directFrom.delete(addrKey(old.to));
      n.routes.delete(ka);
      const type = u8[at + 2 * ADDR_SLOT];
      if (type !== ROUTE_RELAY && ka === kb) return; // direct to its own address: no route
      n.routes.set(ka, { to: b, kind: type });
      if (type !== ROUTE_RELAY) n.directFrom.set(kb, a);
    } else {
      const budget = dv.getUint32(at + 2 * ADDR_SLOT, true);
      for (const k of [`${ka}|${kb}`, `${kb}|${ka}`]) budget > 0 ? n.allowed.add(k) : n.allowed.delete(k);
    }
  }

  step(n, t) {
    this.now = t;
    if (!n.up) return;
    const core = n.core;
    let keep = 0;
    for (let k = 0; k < n.inbox.length; k++) {
      const d = n.inbox[k];
      if (d.at > t || !this.receive(n, d)) n.inbox[keep++] = d;
    }
    n.inbox.length = keep;
    n.timer = Infinity;
    core.process(t, (kind, at, len) => {
      if (kind === OUT_DATAGRAM) {
        this.hostSend(n.i, core.u8.slice(at, at + ADDR_LEN), core.u8.slice(at + ADDR_SLOT, at + len), (core.dv.getUint16(at + ADDR_LEN, true) & DATAGRAM_UNROUTED) !== 0);
      } else if (kind === OUT_TIMER) {
        n.timer = core.dv.getFloat64(at, true);
      } else if (kind === OUT_PONG) {
        const dv = core.dv;
        this.onPong(t, n.i, { id: dv.getBigUint64(at, true), seq: dv.getUint32(at + 8, true), rtt: dv.getFloat64(at + 16, true), kind: core.u8[at + 24] });
      } else if (kind === OUT_PATHS_REPORT) {
        const dv = core.dv;
        const entries = [];
        for (let k = 0, n = dv.getUint32(at + 16, true); k < n; k++) {
          const e = at + 20 + k * 21; // big-endian, as on the wire
          entries.push({ peer: dv.getBigUint64(e), kind: core.u8[e + 8], relay: dv.getBigUint64(e + 9) });
        }
        this.onPathsReport(t, n.i, {
          reporter: dv.getBigUint64(at, true), seq: dv.getUint32(at + 8, true), total: dv.getUint16(at + 12, true), start: dv.getUint16(at + 14, true), entries,
        });
      } else if (kind === OUT_ROUTE || kind === OUT_RELAY_ALLOW) {
        this.hostRecord(n, kind, core.u8, core.dv, at);
      } else if (kind === OUT_EVENT) {
        const subject = this.idIndex.get(core.dv.getBigUint64(at + 8, true));
        if (subject !== undefined) this.onEvent(t, n.i, core.dv.getUint16(at, true), subject, core.dv.getUint32(at + 4, true));
      } else if (kind === OUT_FRAME) {
        this.onFrame(t, n.i, core.u8.slice(at, at + len));
      }
    });
    let next = n.timer;
    for (const d of n.inbox) if (d.at < next) next = d.at;
    if (next < Infinity) this.schedule(n, Math.max(next, t + 0.001));
  }

  /** Runs the network and every node until virtual time `until` (ms). */
  run(until) {
    const heap = this.heap;
    while (heap.size > 0 && heap.peekTime() <= until) {
      const t = heap.peekTime();
      const n = this.nodes[heap.pop()];
      if (n.wakeAt !== t) continue; // superseded by an earlier wake-up
      n.wakeAt = Infinity;
      this.step(n, t);
    }
    this.now = until;
  }
}
