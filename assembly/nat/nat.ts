// Entry points of NAT traversal for the ABI layer (assembly/index.ts): path
// messages (0x40-0x4f), IN_PING, the push-pull CANDIDATES section and OBSERVED
// answers. Everything but PATH_PING/PATH_PONG (which name their sender and are
// authenticated by the transport) must come from a member; the rest is dropped
// and counted. NAT traversal sits above membership: what membership must do for
// it (an OBSERVED ahead of each push-pull answer, a look at a PING's source,
// gossip only where a path is) it registers at the end of this file.
import { ADDR_LEN, ADDR_SLOT, OUT_PONG } from "../abi";
import { self } from "../node";
import { outputReserve } from "../queue";
import { Stat, count } from "../stats";
import { memberById } from "../membership/state";
import { PushPullSection, onPushPullAnswer, pushPullRegister } from "../membership/pushpull";
import { isSeed } from "../membership/membership";
import { onPingFrom, probeReachable } from "../membership/probe";
import { trafficAnswering } from "../traffic";
import {
  CANDIDATES_ADDRS, CANDIDATES_COUNT, CANDIDATES_NAT, CANDIDATES_NODE, CANDIDATES_VERSION, MSG_CANDIDATES,
  MSG_OBSERVED, MSG_PATH_PING, MSG_PATH_PONG, MSG_PATHS_QUERY, MSG_PATHS_REPORT, MSG_RELAY_OK, MSG_RELAY_REQUEST, MSG_RENDEZVOUS, OBSERVED_ADDR,
  PATH_PONG_OBSERVED, RELAY_OK_GRANTED, RENDEZVOUS_ADDRS, RENDEZVOUS_COUNT, RENDEZVOUS_F_ASK, RENDEZVOUS_FLAGS,
  RENDEZVOUS_PEER, natMessageLength, pathPingTarget, pathSender, pathSeq, relayPeer, writeObserved, writePathPong,
} from "../wire/nat";
import { getU32, getU64 } from "../wire/bytes";
import { addrEq, addrHash, addrPtr } from "./addr";
import { aliasSet } from "./aliases";
import { meetRelayRequest, meetRendezvous } from "./meet";
import { natObserved, natWriteOwnCandidates } from "./observed";
import { KIND_DIRECT, KIND_RELAY } from "./path";
import {
  pathById, pathPing, paths, pathsCandidates, pathsCandidatesEarly, pathsConfirmed,
  pathsPingedFrom, pathsReachable, pathsRelayAnswer, pathsRelayEarly, pathsRendezvous,
} from "./paths";
import { takePending } from "./pings";
import { natRefreshFrom } from "./refresh";
import { pathsQueryIn, pathsReportIn } from "./report";
import { natMessage, natMessageRoom, natSend } from "./send";
import { natSendObserved, rawSource, relaySource, sourceMember, sourceVia, wireSource } from "./source";

/** The member the current datagram came from, if it is a live one (else counted and 0). */
function memberSender(): u64 {
  const id = sourceMember();
  const m = id != 0 ? memberById(id) : null;
  if (m == null || !m.live || id == self.id) { count(Stat.PathFromNonMember); return 0; }
  return id;
}

/** The member at `from` named one we do not know (its ALIVE missed us): ask it for its state. */
function natUnknownMember(from: usize): void {
  count(Stat.PathUnknownMember);
  natRefreshFrom(from);
}

/** One path message (type 0x40-0x4f) from `src` (the member address it is handled as). */
export function natMessageIn(src: usize, p: usize, len: u32): void {
  if (natMessageLength(p, len) == 0) {
    count(load<u8>(p) <= MSG_PATHS_REPORT ? Stat.PathMalformed : Stat.DatagramUnknownType);
    return;
  }
  switch (load<u8>(p)) {
    case MSG_PATH_PING: pathPingIn(src, p); break;
    case MSG_PATH_PONG: pathPongIn(p); break;
    case MSG_OBSERVED: observedIn(p); break;
    case MSG_CANDIDATES: {
      if (memberSender() == 0) return;
      candidatesIn(p);
      break;
    }
    case MSG_RENDEZVOUS: {
      const from = memberSender();
      if (from == 0) return;
      const peer = getU64(p + RENDEZVOUS_PEER);
      if ((load<u8>(p + RENDEZVOUS_FLAGS) & RENDEZVOUS_F_ASK) != 0) { meetRendezvous(from, peer); return; }
      const path = pathById(peer);
      if (path != null) pathsRendezvous(path, p + RENDEZVOUS_ADDRS, <u32>load<u8>(p + RENDEZVOUS_COUNT));
      else natUnknownMember(src);
      break;
    }
    case MSG_RELAY_REQUEST: {
      const from = memberSender();
      if (from != 0) meetRelayRequest(from, relayPeer(p));
      break;
    }
    case MSG_PATHS_QUERY: {
      const from = memberSender();
      if (from != 0) pathsQueryIn(from, p);
      break;
    }
    case MSG_PATHS_REPORT: {
      const from = memberSender();
      if (from != 0) pathsReportIn(from, p);
      break;
    }
    case MSG_RELAY_OK: {
      const from = memberSender();
      if (from == 0) return;
      const peer = relayPeer(p);
      const granted = load<u8>(p + RELAY_OK_GRANTED) == 1;
      const path = pathById(peer);
      if (path != null) { pathsRelayAnswer(path, from, granted); break; }
      pathsRelayEarly(peer, from, granted);
      natUnknownMember(src);
      break;
    }
  }
}

function pathPingIn(src: usize, p: usize): void {
  const sender = pathSender(p);
  if (pathPingTarget(p) != self.id) { count(Stat.PathPingMisdirected); return; }
  const path = pathById(sender);
  if (path == null) {
    count(Stat.PathFromNonMember);
    natUnknownMember(sourceVia() ? relaySource : rawSource);
    return;
  }
  if (sourceVia() && sourceMember() == 0) aliasSet(rawSource, sender); // as natHeardFrom
  // The answer goes back where the ping came from: through the relay when it came relayed, else to
  // that address on the wire, past the route (a probe of a relayed peer's member address proves that way).
  const via = sourceVia();
  trafficAnswering(true);
  natSend(via ? src : wireSource, writePathPong(natMessage, natMessageRoom, pathSeq(p), self.id, wireSource), !via);
  trafficAnswering(false);
  count(Stat.PathPingsAnswered);
  if (!sourceVia()) pathsPingedFrom(path, wireSource);
}

function pathPongIn(p: usize): void {
  const sender = pathSender(p);
  const ping = takePending(pathSeq(p), sender);
  const path = pathById(sender);
  if (ping == null || path == null) { count(Stat.PathPongUnexpected); return; }
  const rtt = self.now - ping.sentAt;
  const via = sourceVia();
  if (!via) {
    natObserved(addrHash(rawSource), p + PATH_PONG_OBSERVED, false);
    // Our ping went to `ping.addr` on the wire; the answer proves that address when it came from there.
    if (addrEq(wireSource, addrPtr(ping.addr))) pathsConfirmed(path, addrPtr(ping.addr), rtt);
  } else if (path.kind == KIND_RELAY) {
    path.rtt = rtt;
  }
  if (ping.userSeq >= 0) emitPong(sender, <u32>ping.userSeq, rtt, via ? KIND_RELAY : KIND_DIRECT, via ? relaySource : rawSource);
}

// OUT_PONG body: u64 node id, u32 seq, u32 0, f64 RTT ms, u8 path kind (1 direct, 2 relay), u8 0 x3,
// address slot (the endpoint that answered, or the relay it came through).
export const PONG_ID: u32 = 0;
export const PONG_SEQ: u32 = 8;
export const PONG_RTT: u32 = 16;
export const PONG_KIND: u32 = 24;
export const PONG_ADDR: u32 = 28;
export const PONG_LEN: u32 = PONG_ADDR + ADDR_SLOT;

function emitPong(id: u64, seq: u32, rtt: f64, kind: u8, addr: usize): void {
  const body = outputReserve(OUT_PONG, PONG_LEN);
  if (body == 0) return;
  memory.fill(body, 0, PONG_LEN);
  store<u64>(body + PONG_ID, id);
  store<u32>(body + PONG_SEQ, seq);
  store<f64>(body + PONG_RTT, rtt);
  store<u8>(body + PONG_KIND, kind);
  memory.copy(body + PONG_ADDR, addr, ADDR_LEN);
  count(Stat.PathUserPongs);
}

/** IN_PING body: u64 node id, u32 seq. A PATH_PING along the peer's route; OUT_PONG when it returns. */
export function natUserPing(body: usize, len: u32): bool {
  if (len < 12) return false;
  const id = load<u64>(body);
  const path = pathById(id);
  if (path == null) { count(Stat.PathUserPingUnknown); return true; }
  pathPing(path, <i64>load<u32>(body + 8));
  return true;
}

function observedIn(p: usize): void {
  // Relayed, it names the address the relay knows us by: nothing any NAT of ours mapped for the sender.
  if (sourceVia()) return;
  // Only a member, or a seed we are joining through, may tell us where it sees us.
  const seed = isSeed(rawSource);
  if (!seed && memberSender() == 0) return;
  natObserved(addrHash(rawSource), p + OBSERVED_ADDR, seed);
}

/**
 * A membership PING from member `id` came from an address we do not know for it (its NAT mapping
 * changed, or it never pinged us on a path): tell it where we see it and test that address.
 */
function natHeardFrom(id: u64): void {
  if (sourceMember() != 0 || id == self.id) return;
  const path = pathById(id);
  if (path == null) return;
  if (sourceVia()) {
    // The relay names the sender by the member address it knows: an address of it we had not heard of.
    aliasSet(rawSource, id);
    return;
  }
  natSend(rawSource, writeObserved(natMessage, natMessageRoom, wireSource));
  pathsPingedFrom(path, wireSource);
}

function candidatesIn(p: usize): void {
  const node = getU64(p + CANDIDATES_NODE);
  if (node == self.id) return;
  const len = CANDIDATES_ADDRS + <u32>load<u8>(p + CANDIDATES_COUNT) * ADDR_LEN;
  const path = pathById(node);
  if (path == null) pathsCandidatesEarly(node, p, len);
  else pathsCandidates(path, p, len);
}

// Push-pull section 3: CANDIDATES messages, ours and the latest of every peer (anti-entropy: a gossiped
// one can be lost, and is sent again only when the list changes).
export const SECTION_CANDIDATES: u8 = 3;

class CandidatesSection extends PushPullSection {
  private cursor: i32 = -1; // -1: ours next
  constructor() { super(SECTION_CANDIDATES); }
  begin(): void { this.cursor = -1; }
  done(): bool { return this.cursor >= paths.length; }
  write(buf: usize, cap: u32): u32 {
    let used: u32 = 0;
    if (this.cursor < 0) {
      used = natWriteOwnCandidates(buf, cap);
      if (used == 0) return 0;
      this.cursor = 0;
    }
    while (this.cursor < paths.length) {
      const m = unchecked(paths[this.cursor]).candidatesMsg;
      if (m == null) { this.cursor++; continue; }
      const n = <u32>m.length;
      if (cap - used < n) break;
      memory.copy(buf + used, changetype<usize>(m), n);
      used += n;
      this.cursor++;
    }
    return used;
  }
  read(ptr: usize, len: u32, from: u64): void {
    const m = memberById(from);
    if (m == null || !m.live) { count(Stat.PathFromNonMember); return; }
    let off: u32 = 0;
    while (off < len) {
      const rest = len - off;
      if (rest < CANDIDATES_ADDRS || load<u8>(ptr + off) != MSG_CANDIDATES) { count(Stat.PathMalformed); return; }
      const n = CANDIDATES_ADDRS + <u32>load<u8>(ptr + off + CANDIDATES_COUNT) * ADDR_LEN;
      if (n > rest || natMessageLength(ptr + off, n) == 0) { count(Stat.PathMalformed); return; }
      candidatesIn(ptr + off);
      off += n;
    }
  }
}

pushPullRegister(new CandidatesSection());

onPushPullAnswer(natSendObserved);
onPingFrom(natHeardFrom);
probeReachable(pathsReachable);
