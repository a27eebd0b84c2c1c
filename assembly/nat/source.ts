// Where the datagram being handled came from: its raw source (and relay, if it
// came relayed), and the member address it is handled as. A datagram from a
// known alias of a member is handled as from the member's address, so every
// reply follows the route the host keeps for that member.
import { ADDR_LEN } from "../abi";
import { self } from "../node";
import { pushPullSend } from "../membership/pushpull";
import { Stat, count } from "../stats";
import { Addr, addrCopy, addrEq, addrPtr } from "./addr";
import { aliasLookup, aliasSet } from "./aliases";
import { KIND_DIRECT } from "./path";
import { pathById, pathsNoteRx, pathsOwnerOfCandidate } from "./paths";
import { natMessage, natMessageRoom, natSend } from "./send";
import { writeObserved } from "../wire/nat";

export const rawSource: usize = heap.alloc(ADDR_LEN);
export const relaySource: usize = heap.alloc(ADDR_LEN);
const keySource: usize = heap.alloc(ADDR_LEN);
/** The UDP source the datagram came from: what we tell a peer it looks like from here. */
export const wireSource: usize = heap.alloc(ADDR_LEN);
let via = false;
let sender: u64 = 0;

/** Notes a datagram from `raw` (through `relay` when not 0); returns the address to handle it as. */
export function natSource(raw: usize, relay: usize): usize {
  memory.copy(rawSource, raw, ADDR_LEN);
  memory.copy(wireSource, raw, ADDR_LEN);
  via = relay != 0;
  if (via) memory.copy(relaySource, relay, ADDR_LEN);
  else memory.fill(relaySource, 0, ADDR_LEN);
  sender = aliasLookup(raw);
  if (sender == 0 && via) {
    // The relay names the sender by the member address it knows, which we may know only as a
    // candidate (its new address has not reached us yet): the relay vouches it is that member's.
    sender = pathsOwnerOfCandidate(raw);
    if (sender != 0) aliasSet(raw, sender);
  }
  const p = sender != 0 ? pathById(sender) : null;
  if (p != null && via && !addrEq(raw, addrPtr(p.key))) staleKey(relay);
  if (p == null) {
    if (!via) noteStranger(raw);
    return rawSource;
  }
  // The host names a datagram from a peer's routed endpoint by the peer's key: the wire source is the endpoint.
  const fromKey = addrEq(raw, addrPtr(p.key));
  if (!via && p.routedKind == KIND_DIRECT && fromKey) memory.copy(wireSource, addrPtr(p.routedTo), ADDR_LEN);
  // Only what arrives along a path in use answers the traffic sent on it: not a new address of the peer.
  if (via || fromKey || addrEq(wireSource, addrPtr(p.routedTo))) pathsNoteRx(sender);
  memory.copy(keySource, addrPtr(p.key), ADDR_LEN);
  return keySource;
}

// The relay names a member by another address than the one we know it by: it moved (a new observed
// address, a new incarnation) and its ALIVE did not reach us; our relayed datagrams name it by the old
// address, which the relay refuses. A push-pull with the relay brings its current state.
const REFRESH_GAP_MS: f64 = 5000;
let refreshedAt: f64 = -Infinity;

function staleKey(relay: usize): void {
  if (self.now - refreshedAt < REFRESH_GAP_MS) return;
  refreshedAt = self.now;
  count(Stat.PathStaleAddress);
  pushPullSend(relay, 0);
}

// Recent sources we could not name: a member whose NAT mapping changed sends from one of them.
const STRANGERS_MAX: i32 = 8;
const STRANGER_TTL_MS: f64 = 10_000;
const strangers = new Array<Addr>();
const strangerAt = new Array<f64>();

function noteStranger(raw: usize): void {
  for (let i = 0; i < strangers.length; i++) {
    if (addrEq(addrPtr(unchecked(strangers[i])), raw)) { unchecked(strangerAt[i] = self.now); return; }
  }
  if (strangers.length >= STRANGERS_MAX) { strangers.shift(); strangerAt.shift(); }
  strangers.push(addrCopy(raw));
  strangerAt.push(self.now);
}

/** Calls `fn(addr)` for each source heard from lately that is no member's known address. */
export function forEachStranger(fn: (addr: usize) => void): void {
  for (let i = 0; i < strangers.length; i++) {
    if (self.now - unchecked(strangerAt[i]) < STRANGER_TTL_MS) fn(addrPtr(unchecked(strangers[i])));
  }
}

/** True when the datagram being handled came through a relay. */
export function sourceVia(): bool { return via; }
/** The member the datagram being handled came from (by address), 0 when unknown. */
export function sourceMember(): u64 { return sender; }

/** Tells the sender of the datagram being handled, at `to`, where it comes from (with push-pull answers). */
export function natSendObserved(to: usize): void {
  natSend(to, writeObserved(natMessage, natMessageRoom, wireSource));
}
