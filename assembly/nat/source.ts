// Where the datagram being handled came from: its raw source (and relay, if it
// came relayed), and the member address it is handled as. A datagram from a
// known alias of a member is handled as from the member's address, so every
// reply follows the route the host keeps for that member.
import { ADDR_LEN } from "../abi";
import { Stat, count } from "../stats";
import { addrEq, addrPtr } from "./addr";
import { aliasLookup, aliasSet } from "./aliases";
import { KIND_DIRECT, KIND_RELAY } from "./path";
import { pathById, pathsHeardDirect, pathsNoteRx, pathsOwnerOfCandidate } from "./paths";
import { natRefreshFrom } from "./refresh";
import { natMessage, natMessageRoom, natSend } from "./send";
import { noteStranger } from "./strangers";
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
  if (p != null && via && !addrEq(raw, addrPtr(p.key))) unknownSender(relay, true);
  if (p == null) {
    if (via) unknownSender(relay, false);
    else noteStranger(raw);
    return rawSource;
  }
  // The host names a datagram from a peer's routed endpoint by the peer's key: the wire source is the endpoint.
  const fromKey = addrEq(raw, addrPtr(p.key));
  if (!via && p.routedKind == KIND_DIRECT && fromKey) memory.copy(wireSource, addrPtr(p.routedTo), ADDR_LEN);
  // Only what arrives along the path in use answers the traffic sent on it: not a new address of the
  // peer, and not the relay while we send direct (the peer may have given up a path that still looks
  // fine from here only because its relayed datagrams keep coming).
  const alongRoute = p.routedKind == KIND_RELAY ? via : !via && (fromKey || addrEq(wireSource, addrPtr(p.routedTo)));
  if (alongRoute) pathsNoteRx(sender);
  if (!via) pathsHeardDirect(p, wireSource);
  memory.copy(keySource, addrPtr(p.key), ADDR_LEN);
  return keySource;
}

/** The relayed datagram being handled names its sender by another address than we know it by (`stale`), or an unknown one. */
function unknownSender(relay: usize, stale: bool): void {
  count(stale ? Stat.PathStaleAddress : Stat.PathUnknownMember);
  natRefreshFrom(relay);
}

/** True when the datagram being handled came through a relay. */
export function sourceVia(): bool { return via; }
/** The member the datagram being handled came from (by address), 0 when unknown. */
export function sourceMember(): u64 { return sender; }

/**
 * Tells the sender of the datagram being handled, at `to`, where it comes from (with push-pull answers);
 * not when it came relayed: then we do not see where it comes from.
 */
export function natSendObserved(to: usize): void {
  if (via) return;
  natSend(to, writeObserved(natMessage, natMessageRoom, wireSource));
}
