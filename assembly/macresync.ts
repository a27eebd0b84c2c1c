// Members back from dead get their MACs back at once (docs/mactable.md "Members back from dead").
// While a member is dead or gone here its entries are dropped and claims for it refused
// (assembly/macgossip.ts); nothing sends those claims again before its next refresh (up to a refresh
// interval), so when it returns we push-pull for them: with one awaited member a second, until a
// push-pull has brought its MACs (from it, or copies from anyone) or RESYNC_TRIES requests went out.
import { dropOwner } from "./mactable";
import { onMemberGone, onMemberJoin } from "./membership/events";
import { pushPullSend } from "./membership/pushpull";
import { Member, MemberState, members } from "./membership/state";
import { self } from "./node";
import { Stat, count } from "./stats";
import { wakeAt } from "./wake";

/** Requests to awaited members at most this often: a healed partition returns members in bursts, and
 *  one exchange brings the MACs of every member alive at its answerer. */
const RESYNC_GAP_MS: f64 = 1000;
/** Requests to one awaited member at most: an answer can be lost (loss, or a relay route left from the
 *  partition through a relay that no longer relays for the pair) and is asked for again. */
const RESYNC_TRIES: i32 = 3;
/** Members each set holds at most. Only ids in our member table go in (the refused claims' owners
 *  too, so forged claims cannot grow it); on overflow a set is emptied: a member forgotten costs its
 *  MACs' lag up to a refresh interval, as before this file. */
const OWNERS_MAX: i32 = 4096;

/** Members gone here whose MACs we dropped or refused since: their return is to bring them back. */
const lacking = new Set<u64>();
/** Members back whose MACs no push-pull has brought yet, with the requests sent to each so far. */
const awaited = new Map<u64, i32>();
let resyncAt: f64 = Infinity;
let lastResync: f64 = -Infinity;
let cursor: i32 = 0;

function lack(id: u64): void {
  if (lacking.size >= OWNERS_MAX) lacking.clear();
  lacking.add(id);
}

function ownerGone(id: u64): void {
  awaited.delete(id);
  if (dropOwner(id) > 0) lack(id);
}
onMemberGone(ownerGone);

/**
 * A claim owned by `id`, a member held dead or left here, was refused: it may come back, and the claim
 * with it only at its next refresh. Its return asks for it (a claim refused because the member section
 * saying it is back came after, in a later datagram or by gossip).
 */
export function macResyncRefused(id: u64): void {
  lack(id);
}

function ownerBack(id: u64): void {
  if (!lacking.has(id)) return; // nothing of it was lost here; a new member's join push-pull brings our table
  lacking.delete(id);
  if (awaited.size >= OWNERS_MAX) awaited.clear();
  awaited.set(id, 0);
  resyncAt = Math.min(resyncAt, Math.max(self.now, lastResync + RESYNC_GAP_MS));
  wakeAt(resyncAt);
}
onMemberJoin(ownerBack);

/** A push-pull brought a claim owned by `id`, checked: it brings what its sender holds of that owner. */
export function macResyncCarried(id: u64): void {
  if (awaited.size > 0) awaited.delete(id);
}

/** Sends the resync request due at `now`, if any; returns when the next is due. */
export function macResyncTick(now: f64): f64 {
  if (now < resyncAt) return resyncAt;
  resyncAt = Infinity;
  if (awaited.size == 0) return Infinity;
  const m = nextAwaited();
  if (m != null) {
    const tries = awaited.get(m.id) + 1;
    if (tries >= RESYNC_TRIES) awaited.delete(m.id);
    else awaited.set(m.id, tries);
    lastResync = now;
    pushPullSend(m.addr, 0);
    count(Stat.MacResyncs);
  }
  if (awaited.size > 0) resyncAt = now + RESYNC_GAP_MS; // one held suspect waits for its verdict
  return resyncAt;
}

/** The next awaited member alive here, in the member order from where the last pick stopped. */
function nextAwaited(): Member | null {
  const n = members.length;
  for (let k = 0; k < n; k++) {
    const i = (cursor + k) % n;
    const m = unchecked(members[i]);
    if (m.state == MemberState.Alive && awaited.has(m.id)) {
      cursor = i + 1;
      return m;
    }
  }
  return null;
}
