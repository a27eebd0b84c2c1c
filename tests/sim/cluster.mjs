// A simulated cluster: N instances of the real core on a virtual clock and a
// simulated network (per-link latency, random loss, partitions, crashes and
// restarts, slow members whose input is handled late, a largest datagram per
// link). Everything random comes from one seed, so a run is reproducible.
import {
  ADDR_SLOT, CoreInstance, IN_DATAGRAM, IN_FRAME, IN_IDENTITY, IN_JOIN, IN_LEAVE, IN_RANDOM, OUT_DATAGRAM, OUT_EVENT,
  OUT_FRAME, OUT_TIMER, addrIndex, compileCore, nodeAddr,
} from "./core.mjs";
import { WakeHeap } from "./heap.mjs";
import { Rng } from "./rng.mjs";

function slot(addr) { const s = new Uint8Array(ADDR_SLOT); s.set(addr); return s; }
function u64le(v) { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, v, true); return b; }

export class Cluster {
  /**
   * @param {object} o nodes, seed, loss (0..1), slow (count), slowLagMs, config ({key: value} for config_set),
   *   onEvent(t, observer, kind, subject), linkLimit(from, to) (largest datagram the link carries; none when absent),
   *   onTooBig(t, from, to, data) (a datagram the link dropped for its size)
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
    this.onFrame = o.onFrame ?? (() => {}); // (t, node, frame): a frame the node wrote to its TAP
    this.now = 0;
    this.heap = new WakeHeap();
    this.side = null; // partition: side per node, or null
    this.sent = { datagrams: 0, bytes: 0 };
    this.idIndex = new Map();
    this.nodes = [];
    for (let i = 0; i < o.nodes; i++) {
      const id = this.rng.u64();
      this.idIndex.set(id, i);
      this.nodes.push({
        i, id, addr: nodeAddr(i), slot: slot(nodeAddr(i)), core: null, up: false, slow: false,
        inbox: [], timer: Infinity, wakeAt: Infinity, x: this.rng.next(), y: this.rng.next(),
        name: `n${i}`, lifeStart: 0,
      });
    }
    const order = this.nodes.map((n) => n.i);
    for (let k = 0; k < (o.slow ?? 0) && k < order.length - 1; k++) this.nodes[order[order.length - 1 - k]].slow = true;
  }

  /** One-way latency: 0.5 ms + 10 ms per unit of distance on a unit square, plus exponential jitter. */
  latency(a, b) {
    const na = this.nodes[a], nb = this.nodes[b];
    const base = 0.5 + 10 * Math.hypot(na.x - nb.x, na.y - nb.y);
    return base + this.rng.exp(base * 0.1);
  }

  /** Starts (or restarts) node i with a fresh core, joining through `seeds` (node indices). */
  start(i, seeds = []) {
    const n = this.nodes[i];
    n.core = new CoreInstance(this.module);
    n.up = true;
    n.inbox = [];
    n.timer = Infinity;
    n.lifeStart = this.now;
    for (const [k, v] of Object.entries(this.config)) n.core.x.config_set(Number(k), v);
    n.core.record(IN_RANDOM, [this.rng.bytes(32)]);
    n.core.record(IN_IDENTITY, [u64le(n.id), n.slot, new TextEncoder().encode(n.name)]);
    for (const s of seeds) n.core.record(IN_JOIN, [this.nodes[s].slot]);
    this.step(n, this.now);
  }

  crash(i) {
    const n = this.nodes[i];
    n.up = false;
    n.core = null;
    n.inbox = [];
  }

  leave(i) { this.input(i, IN_LEAVE, []); }

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

  schedule(n, t) {
    if (t < n.wakeAt) { n.wakeAt = t; this.heap.push(t, n.i); }
  }

  send(from, to, data) {
    this.sent.datagrams++;
    this.sent.bytes += data.length;
    if (to < 0 || to >= this.nodes.length) return;
    if (data.length > this.linkLimit(from, to)) { this.onTooBig(this.now, from, to, data); return; }
    if (this.loss > 0 && this.rng.next() < this.loss) return;
    if (this.side && this.side[from] !== this.side[to]) return;
    let at = this.now + this.latency(from, to);
    if (this.nodes[to].slow) at += this.rng.next() * this.slowLagMs;
    at = Math.ceil(at); // 1 ms steps, so deliveries to a node batch into one process call
    const n = this.nodes[to];
    if (!n.up) return;
    n.inbox.push({ at, src: from, data });
    this.schedule(n, at);
  }

  step(n, t) {
    this.now = t;
    if (!n.up) return;
    const core = n.core;
    let keep = 0;
    for (let k = 0; k < n.inbox.length; k++) {
      const d = n.inbox[k];
      if (d.at > t || !core.record(IN_DATAGRAM, [this.nodes[d.src].slot, d.data])) n.inbox[keep++] = d;
    }
    n.inbox.length = keep;
    n.timer = Infinity;
    core.process(t, (kind, at, len) => {
      if (kind === OUT_DATAGRAM) {
        this.send(n.i, addrIndex(core.u8, at), core.u8.slice(at + ADDR_SLOT, at + len));
      } else if (kind === OUT_TIMER) {
        n.timer = core.dv.getFloat64(at, true);
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
