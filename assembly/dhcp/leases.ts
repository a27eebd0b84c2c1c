// Leases, one slot per pool address (docs/dhcp.md). A lease binds the address
// to a client's MAC (and client id hash) until `expiry` on this node's clock;
// gossip carries the time left, never a clock. Versions order the changes to
// one address: the higher wins, equal versions keep the later expiry.

export const LEASE_FREE: u8 = 0;
/** Offered, waiting for the REQUEST: held locally, never gossiped. */
export const LEASE_OFFERED: u8 = 1;
export const LEASE_BOUND: u8 = 2;
/** Declined by a client (someone else uses it): not handed out until it expires. */
export const LEASE_DECLINED: u8 = 3;
export const LEASE_RELEASED: u8 = 4;

/** Copies of one change differ in expiry by their trips' latency, far below this. */
const SAME_CHANGE_MS: f64 = 5000;
export const NO_NAME = new ArrayBuffer(0);

export class LeaseTable {
  size: u32 = 0;
  macs: StaticArray<u64> = new StaticArray<u64>(0);
  cids: StaticArray<u32> = new StaticArray<u32>(0);
  expiries: StaticArray<f64> = new StaticArray<f64>(0);
  nodes: StaticArray<u64> = new StaticArray<u64>(0);
  versions: StaticArray<u32> = new StaticArray<u32>(0);
  states: StaticArray<u8> = new StaticArray<u8>(0);
  /** Client host names, bytes as sent. */
  names: Array<ArrayBuffer> = new Array<ArrayBuffer>(0);

  reset(size: u32): void {
    this.size = size;
    this.macs = new StaticArray<u64>(size);
    this.cids = new StaticArray<u32>(size);
    this.expiries = new StaticArray<f64>(size);
    this.nodes = new StaticArray<u64>(size);
    this.versions = new StaticArray<u32>(size);
    this.states = new StaticArray<u8>(size);
    this.names = new Array<ArrayBuffer>(size);
    for (let i: u32 = 0; i < size; i++) this.names[i] = NO_NAME;
  }

  state(off: u32): u8 { return unchecked(this.states[off]); }
  mac(off: u32): u64 { return unchecked(this.macs[off]); }
  cid(off: u32): u32 { return unchecked(this.cids[off]); }
  expiry(off: u32): f64 { return unchecked(this.expiries[off]); }
  node(off: u32): u64 { return unchecked(this.nodes[off]); }
  version(off: u32): u32 { return unchecked(this.versions[off]); }
  name(off: u32): ArrayBuffer { return unchecked(this.names[off]); }

  /** Whether the address is held at `now` (offered, bound or quarantined and not expired). */
  held(off: u32, now: f64): bool {
    const s = this.state(off);
    return (s == LEASE_OFFERED || s == LEASE_BOUND || s == LEASE_DECLINED) && this.expiry(off) > now;
  }

  /** The address last bound or offered to `mac` (client id `cid` when both have one), or -1. */
  find(mac: u64, cid: u32): i32 {
    for (let off: u32 = 0; off < this.size; off++) {
      const s = this.state(off);
      if ((s == LEASE_BOUND || s == LEASE_OFFERED || s == LEASE_RELEASED) && this.mac(off) == mac &&
          (cid == 0 || this.cid(off) == 0 || this.cid(off) == cid)) return <i32>off;
    }
    return -1;
  }

  /** Records a local change: one version on. */
  set(off: u32, state: u8, mac: u64, cid: u32, expiry: f64, node: u64, name: ArrayBuffer): void {
    this.write(off, state, mac, cid, expiry, node, name, this.version(off) + 1);
  }

  /**
   * Applies a lease heard from a peer; returns whether it was news. An equal version is the same
   * change arriving again (its expiry later by the trip's latency), unless the expiry is later by
   * more than SAME_CHANGE_MS: two nodes extended the same lease at once, and the longer stands.
   */
  merge(off: u32, state: u8, mac: u64, cid: u32, expiry: f64, node: u64, name: ArrayBuffer, version: u32): bool {
    if (off >= this.size || state == LEASE_OFFERED || state > LEASE_RELEASED) return false;
    const v = this.version(off);
    if (version < v || (version == v && expiry <= this.expiry(off) + SAME_CHANGE_MS)) return false;
    this.write(off, state, mac, cid, expiry, node, name, version);
    return true;
  }

  private write(off: u32, state: u8, mac: u64, cid: u32, expiry: f64, node: u64, name: ArrayBuffer, version: u32): void {
    unchecked(this.states[off] = state);
    unchecked(this.macs[off] = mac);
    unchecked(this.cids[off] = cid);
    unchecked(this.expiries[off] = expiry);
    unchecked(this.nodes[off] = node);
    unchecked(this.versions[off] = version);
    unchecked(this.names[off] = name);
  }

  /** Leases served by `from` show `to` as their server (a restarted node's old id): display only, no new version. */
  adoptNode(from: u64, to: u64): void {
    for (let off: u32 = 0; off < this.size; off++) if (this.node(off) == from) unchecked(this.nodes[off] = to);
  }

  /** Whether any address in [first, end) is held at `now`. */
  anyHeld(first: u32, end: u32, now: f64): bool {
    for (let off = first; off < end; off++) if (this.held(off, now)) return true;
    return false;
  }

  /** The latest expiry in [first, end) of a bound or declined lease, -Infinity when none. */
  lastExpiry(first: u32, end: u32): f64 {
    let last = -Infinity;
    for (let off = first; off < end; off++) {
      const s = this.state(off);
      if (s == LEASE_BOUND || s == LEASE_DECLINED) last = Math.max(last, this.expiry(off));
    }
    return last;
  }
}
