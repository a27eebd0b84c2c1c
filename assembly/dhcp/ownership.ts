// Who may change which token (docs/dhcp.md, "Ownership"): the rules that keep
// two nodes from ever owning one block, with only a node's own view of the
// switch as input. Quorum is counted over the pool's owners, not over the
// membership list, which forgets dead members: a side of a partition holds a
// quorum when more than half of the nodes owning blocks are alive in its view.
import { LeaseTable } from "./leases";
import { RangeTable } from "./ranges";

/** What a node sees: itself, the members it holds alive (suspects included), the time. */
export class View {
  self: u64 = 0;
  live: Array<u64> = new Array<u64>();
  now: f64 = 0;

  isLive(id: u64): bool { return id == this.self || this.live.includes(id); }
}

/** When each owner absent from the view was first seen absent; an owner back alive is forgotten. */
export class Absences {
  ids: Array<u64> = new Array<u64>();
  since: Array<f64> = new Array<f64>();
  /** Whether more than half of the block owners were alive in the last view. */
  quorum: bool = true;
  /** Since when fewer than half of the owners are alive here (another side may hold a quorum), or -1. */
  outnumberedAt: f64 = -1;

  sinceOf(id: u64): f64 {
    const i = this.ids.indexOf(id);
    return i < 0 ? Infinity : unchecked(this.since[i]);
  }

  update(ranges: RangeTable, view: View): void {
    for (let i = this.ids.length - 1; i >= 0; i--) {
      const id = unchecked(this.ids[i]);
      if (view.isLive(id) || !ownsAny(ranges, id)) {
        this.ids.splice(i, 1);
        this.since.splice(i, 1);
      }
    }
    for (let b = 0; b < ranges.blocks; b++) {
      const o = ranges.owner(b);
      if (o != 0 && !view.isLive(o) && !this.ids.includes(o)) {
        this.ids.push(o);
        this.since.push(view.now);
      }
    }
    const live = liveOwners(ranges, view);
    this.quorum = live.total == 0 || live.live * 2 > live.total;
    if (live.live * 2 >= live.total) this.outnumberedAt = -1;
    else if (this.outnumberedAt < 0) this.outnumberedAt = view.now;
  }
}

function ownsAny(ranges: RangeTable, id: u64): bool {
  for (let b = 0; b < ranges.blocks; b++) if (ranges.owner(b) == id) return true;
  return false;
}

class OwnerCount {
  live: i32 = 0;
  total: i32 = 0;
}

const ownerCount = new OwnerCount();

/** The distinct block owners, and how many of them are alive in `view`. */
function liveOwners(ranges: RangeTable, view: View): OwnerCount {
  const owners = new Array<u64>();
  for (let b = 0; b < ranges.blocks; b++) {
    const o = ranges.owner(b);
    if (o != 0 && !owners.includes(o)) owners.push(o);
  }
  let live = 0;
  for (let i = 0; i < owners.length; i++) if (view.isLive(unchecked(owners[i]))) live++;
  ownerCount.live = live;
  ownerCount.total = owners.length;
  return ownerCount;
}

/** More than half of the distinct block owners are alive in `view` (true while nobody owns anything). */
export function hasQuorum(ranges: RangeTable, view: View): bool {
  const c = liveOwners(ranges, view);
  return c.total == 0 || c.live * 2 > c.total;
}

/**
 * The latest expiry this node may give a lease: unbounded while at least half of the owners are alive
 * here (no other side can hold a quorum, so nobody can reclaim our blocks); when fewer, half the
 * reclaim bound after that began, so every lease granted on a minority side has expired before the
 * majority may reclaim the blocks it was granted from.
 */
export function leaseCap(abs: Absences, reclaimAfterMs: f64): f64 {
  return abs.outnumberedAt < 0 ? Infinity : abs.outnumberedAt + reclaimAfterMs / 2;
}

/** A block is free to give away when no address in it is held. */
function blockFree(ranges: RangeTable, leases: LeaseTable, b: i32, now: f64): bool {
  return !leases.anyHeld(ranges.blockFirst(b), ranges.blockEnd(b), now);
}

function freeBlocksOf(ranges: RangeTable, leases: LeaseTable, id: u64, now: f64): i32 {
  let n = 0;
  for (let b = 0; b < ranges.blocks; b++) if (ranges.owner(b) == id && blockFree(ranges, leases, b, now)) n++;
  return n;
}

const freeCounts = new Map<u64, i32>();
const needy = new Array<u64>();

class Donor {
  id: u64 = 0;
  free: i32 = 0;
}
const donors = new Array<Donor>();

/**
 * The live members (not us) with no free address in their blocks (owning none, or every one held),
 * by id: their clients would go unanswered while others have room.
 */
function needyMembers(ranges: RangeTable, leases: LeaseTable, view: View): Array<u64> {
  freeCounts.clear();
  for (let b = 0; b < ranges.blocks; b++) {
    const o = ranges.owner(b);
    if (o == 0 || !view.isLive(o)) continue;
    let free = freeCounts.has(o) ? freeCounts.get(o) : 0;
    for (let off = ranges.blockFirst(b); off < ranges.blockEnd(b); off++) if (off != 0 && !leases.held(off, view.now)) free++;
    freeCounts.set(o, free);
  }
  needy.length = 0;
  for (let i = 0; i < view.live.length; i++) {
    const id = unchecked(view.live[i]);
    if (id != view.self && !(freeCounts.has(id) && freeCounts.get(id) > 0)) needy.push(id);
  }
  needy.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return needy;
}

/**
 * One step of the rules, run by every node on its own view; the blocks it changed are pushed to
 * `changed` for gossip. Only with a quorum:
 * - donation: live members with no free address (owning nothing, or every address they own held),
 *   by id, each get half of the free blocks of one live owner, the richest for the first (ties: the
 *   smaller id), the next richest for the second...; we give when we are one of those owners;
 * - reclaim: the smallest live id takes the blocks of an owner absent for `reclaimAfterMs` whose
 *   known leases have all expired (version + 2, so it wins over a gift the absent owner made unheard).
 * A change takes one common version over its blocks (RangeTable.assignAll), so it travels as few runs.
 */
export function rebalance(
  ranges: RangeTable, leases: LeaseTable, abs: Absences, view: View, reclaimAfterMs: f64, changed: Array<i32>,
): void {
  abs.update(ranges, view);
  if (!abs.quorum) return;
  const now = view.now;
  let smallest = view.self;
  for (let i = 0; i < view.live.length; i++) smallest = min(smallest, unchecked(view.live[i]));
  if (smallest == view.self) {
    const taken = new Array<i32>();
    for (let b = 0; b < ranges.blocks; b++) {
      const o = ranges.owner(b);
      if (o == 0 || view.isLive(o) || now - abs.sinceOf(o) < reclaimAfterMs) continue;
      if (leases.lastExpiry(ranges.blockFirst(b), ranges.blockEnd(b)) > now) continue;
      taken.push(b);
    }
    ranges.assignAll(taken, view.self, 2);
    for (let i = 0; i < taken.length; i++) changed.push(unchecked(taken[i]));
  }
  const needy = needyMembers(ranges, leases, view);
  if (needy.length == 0) return;
  // Donors: the live owners with two free blocks or more, richest first (ties: the smaller id); the
  // k-th donor gives to the k-th needy member, so a join storm is served in a few rounds, not one a second.
  donors.length = 0;
  for (let i = -1; i < view.live.length; i++) {
    const id = i < 0 ? view.self : unchecked(view.live[i]);
    const n = freeBlocksOf(ranges, leases, id, now);
    if (n < 2) continue;
    const d = new Donor();
    d.id = id;
    d.free = n;
    donors.push(d);
  }
  donors.sort((a, b) => a.free != b.free ? b.free - a.free : (a.id < b.id ? -1 : 1));
  let k = 0;
  while (k < donors.length && unchecked(donors[k]).id != view.self) k++;
  if (k >= donors.length || k >= needy.length) return;
  const most = unchecked(donors[k]).free;
  let give = most / 2;
  const gift = new Array<i32>();
  for (let b = ranges.blocks - 1; b >= 0 && give > 0; b--) {
    if (ranges.owner(b) != view.self || !blockFree(ranges, leases, b, now)) continue;
    gift.unshift(b);
    give--;
  }
  ranges.assignAll(gift, unchecked(needy[k]), 1);
  for (let i = 0; i < gift.length; i++) changed.push(unchecked(gift[i]));
}
