// State changes from ALIVE, SUSPECT and DEAD, wherever they come from
// (gossip, push-pull, our own probes): memberlist's aliveNode, suspectNode,
// deadNode and refute. Each accepted change is re-broadcast, reflected in the
// peer set the data plane forwards to, and reported as an event.
import { ADDR_LEN } from "../abi";
import { CLAIM_LEN, claimFormSign, claimFormVerify, claimSign, claimVerify } from "../claims";
import { self } from "../node";
import { peerRemove, peerUpsert } from "../peers";
import { Stat, count } from "../stats";
import { awarenessApply } from "./awareness";
import { banAdd, isBanned } from "./bans";
import { BROADCAST_SPACE_MEMBER, broadcastEnqueue } from "./broadcast";
import {
  MSG_ALIVE, MSG_DEAD, MSG_SUSPECT, MemberInfo, NAME_MAX, PROTOCOL_VERSION,
  accusationForm, writeAccusation, writeInfo,
} from "./codec";
import {
  EVENT_ALIVE, EVENT_DEAD, EVENT_JOIN, EVENT_LEFT, EVENT_SUSPECT, EVENT_UPDATE, emitMemberEvent,
} from "./events";
import { messageScratch, sendMessage } from "./send";
import { Member, MemberState, memberAdd, memberById, memberCount, memberSetState, members } from "./state";
import { Suspicion, suspicionConfirmations, suspicionMin } from "./suspicion";
import { config } from "../config";
import { macAnnounceLocal } from "../mactable";
import { serialNewer } from "../serial";

let leaving = false;
let selfCapabilities: u32 = 0;
let me: Member | null = null;
/** Members with a running suspicion timer (may hold stale entries; the tick drops them). */
const suspects = new Array<Member>();

export function isLeaving(): bool { return leaving; }
export function selfMember(): Member | null { return me; }

/** Capability flags this node advertises; a change is broadcast as a new incarnation. */
export function membershipSetCapabilities(flags: u32): void {
  selfCapabilities = flags;
  if (me != null) membershipIdentify();
}

function encodeName(name: string): ArrayBuffer {
  const full = String.UTF8.encode(name);
  let n = <u32>full.byteLength;
  if (n <= NAME_MAX) return full;
  n = NAME_MAX;
  while (n > 0 && (load<u8>(changetype<usize>(full) + n) & 0xc0) == 0x80) n--; // cut on a character boundary
  return full.slice(0, <i32>n);
}

function sameName(m: Member, ptr: usize, len: u32): bool {
  return <u32>m.name.byteLength == len && memory.compare(changetype<usize>(m.name), ptr, len) == 0;
}

function sameMeta(m: Member, a: MemberInfo): bool {
  return memory.compare(m.addr, a.addr, ADDR_LEN) == 0 && m.protocol == a.protocol &&
    m.capabilities == a.capabilities && sameName(m, a.namePtr, a.nameLen);
}

function setState(m: Member, s: MemberState): void {
  if (m.state == s) return;
  const wasLive = m.live;
  memberSetState(m, s, self.now);
  if (m.id == self.id) return;
  if (m.live) peerUpsert(m.id, m.addr);
  else if (wasLive) peerRemove(m.id);
}

function encodeAlive(m: Member): u32 {
  store<u8>(messageScratch, MSG_ALIVE);
  return 1 + writeInfo(messageScratch + 1, NAME_MAX + 64 + CLAIM_LEN, m.incarnation, m.id, m.addr, m.protocol,
    m.capabilities, changetype<usize>(m.name), <u32>m.name.byteLength, m.claim);
}

function broadcastAlive(m: Member): void {
  broadcastEnqueue(messageScratch, encodeAlive(m), BROADCAST_SPACE_MEMBER, m.id);
}

/** Our info changed (a new incarnation): the host signs it, and the signed ALIVE goes out. */
function announceSelf(m: Member): void {
  const n = encodeAlive(m);
  claimSign(messageScratch + 1, n - 1);
  memory.copy(m.claim, messageScratch + n - CLAIM_LEN, CLAIM_LEN);
  broadcastEnqueue(messageScratch, n, BROADCAST_SPACE_MEMBER, m.id);
}

/** Passes on an accusation with its accuser's `trailer` (key, signature), as the accuser made it. */
function broadcastAccusation(type: u8, incarnation: u32, node: u64, from: u64, trailer: usize): void {
  const n = writeAccusation(messageScratch, 256, type, incarnation, node, from, trailer);
  broadcastEnqueue(messageScratch, n, BROADCAST_SPACE_MEMBER, node);
}

const ownAccusation = heap.alloc(CLAIM_LEN);

/**
 * The trailer an accusation travels with, or 0 when it is forged. `trailer` 0: the accusation is ours
 * (a failed probe, a suspicion run out), signed here; otherwise it came from the network and must be
 * signed by the accuser it names (docs/membership.md "Signed accusations"), ours included. Called only
 * for an accusation that would change something, so relayed copies cost no check.
 */
function accusation(type: u8, incarnation: u32, id: u64, from: u64, trailer: usize): usize {
  const len = accusationForm(type, incarnation, id, from);
  if (trailer == 0) {
    claimFormSign(len, ownAccusation);
    return ownAccusation;
  }
  if (claimFormVerify(len, trailer)) return trailer;
  count(Stat.MemberAccusationBadSignature);
  return 0;
}

/**
 * An accusation about us older than our incarnation: whoever passed it on missed our
 * refutation (it was lost or cut off by a partition), so send it our current ALIVE.
 * Returns false when the accusation is not a stale one about us.
 */
export function answerStaleAccusation(src: usize, incarnation: u32, id: u64): bool {
  const m = me;
  if (m == null || id != m.id || !serialNewer(m.incarnation, incarnation) || leaving) return false;
  sendAliveOf(src, m);
  return true;
}

/** Sends member `m`'s ALIVE to `to` alone (a requester that names it by an old address). */
export function sendAliveOf(to: usize, m: Member): void {
  sendMessage(to, encodeAlive(m));
}

/** Creates or refreshes the self member from `self` (IN_IDENTITY); a change is a new incarnation. */
export function membershipIdentify(): void {
  const name = encodeName(self.name);
  let m = me;
  if (m == null) {
    m = new Member(self.id);
    me = m;
    memberAdd(m);
    m.incarnation = 1; // as memberlist: 0 means "never heard of", so a restart at 1 gets refuted upwards
    memberSetState(m, MemberState.Alive, self.now);
  } else if (memory.compare(m.addr, self.addr, ADDR_LEN) == 0 && m.capabilities == selfCapabilities &&
    sameName(m, changetype<usize>(name), <u32>name.byteLength)) {
    return;
  } else {
    m.incarnation++;
  }
  memory.copy(m.addr, self.addr, ADDR_LEN);
  m.name = name;
  m.protocol = PROTOCOL_VERSION;
  m.capabilities = selfCapabilities;
  announceSelf(m);
}

/**
 * Beats an accusation about ourselves with a newer incarnation (and counts it against our health).
 * Serial arithmetic (assembly/serial.ts): accused + 1 is newer than accused even where it wraps.
 */
function refute(m: Member, accused: u32): void {
  let inc = m.incarnation + 1;
  if (!serialNewer(inc, accused)) inc = accused + 1;
  m.incarnation = inc;
  awarenessApply(1);
  count(Stat.MemberRefuted);
  announceSelf(m);
  macAnnounceLocal(); // whoever took us for dead dropped our MACs
}

/** A push-pull holds us suspect, dead or left at `incarnation`: refute it if it is current. */
export function refuteRemoteState(incarnation: u32): void {
  const m = me;
  if (m == null || leaving || serialNewer(m.incarnation, incarnation)) return;
  refute(m, incarnation);
}

export function aliveNode(a: MemberInfo): void {
  if (a.id == 0 || me == null) return;
  if (isBanned(a.id)) { count(Stat.MemberAliveBanned); return; }
  const isSelf = a.id == self.id;
  const found = memberById(a.id);
  if (found == null) {
    if (isSelf) return;
    if (members.length >= config.maxMembers) { count(Stat.MemberTableFull); return; }
  } else {
    // Only a newer incarnation is news, wherever the member is now: a dead member comes back by its
    // refutation alone (a push-pull to it or answering it tells it it is dead here, pushpull.ts). Any
    // ALIVE it signed before its death is at most that old, so a replayed copy, from any address it
    // once had, cannot bring it back (docs/membership.md "Coming back from dead").
    if (isSelf ? serialNewer(found.incarnation, a.incarnation) : !serialNewer(a.incarnation, found.incarnation)) return;
    if (isSelf && (leaving || (a.incarnation == found.incarnation && sameMeta(found, a)))) return;
  }
  // News: only the member itself can make it (issue 16, "a member speaks only for itself").
  if (!claimVerify(a.ptr, a.len)) {
    count(Stat.MemberBadSignature);
    return;
  }
  let m: Member;
  if (found == null) {
    m = new Member(a.id);
    m.stateSince = self.now;
    memberAdd(m);
  } else {
    m = found;
  }
  if (isSelf) {
    refute(m, a.incarnation); // our own ALIVE from before a restart, newer than ours
    return;
  }
  m.suspicion = null;
  const oldState = m.state;
  const metaChanged = !sameMeta(m, a);
  m.incarnation = a.incarnation;
  memory.copy(m.claim, a.claimPtr, CLAIM_LEN);
  if (metaChanged) {
    memory.copy(m.addr, a.addr, ADDR_LEN);
    m.protocol = a.protocol;
    m.capabilities = a.capabilities;
    if (!sameName(m, a.namePtr, a.nameLen)) {
      const name = new ArrayBuffer(<i32>a.nameLen);
      memory.copy(changetype<usize>(name), a.namePtr, a.nameLen);
      m.name = name;
    }
  }
  broadcastAlive(m);
  setState(m, MemberState.Alive);
  if (metaChanged && oldState <= MemberState.Suspect) peerUpsert(m.id, m.addr);
  if (oldState >= MemberState.Dead) emitMemberEvent(EVENT_JOIN, m);
  else if (metaChanged) emitMemberEvent(EVENT_UPDATE, m);
  else if (oldState == MemberState.Suspect) emitMemberEvent(EVENT_ALIVE, m);
}

/**
 * An accusation (SUSPECT, DEAD) is about an incarnation the member announced: one older than we know
 * is stale, and one newer than its last ALIVE we heard is refused, so an accuser cannot push a
 * member's incarnation anywhere its own refutation would not beat (issue 16, finding 1). About us,
 * any accusation of ours or a newer one is refuted.
 */
function accusationCurrent(m: Member, incarnation: u32): bool {
  if (serialNewer(m.incarnation, incarnation)) return false;
  if (m.id != self.id && serialNewer(incarnation, m.incarnation)) {
    count(Stat.MemberAccusationAhead);
    return false;
  }
  return true;
}

/**
 * SUSPECT `id` at `incarnation`, by `from`, signed with `trailer` (0: ours, signed here). The first
 * verified accusation starts a suspicion; later ones from other accusers confirm it (Lifeguard).
 */
export function suspectNode(incarnation: u32, id: u64, from: u64, trailer: usize): void {
  const found = memberById(id);
  if (found == null) return;
  const m = found;
  if (!accusationCurrent(m, incarnation)) return;
  const s = m.suspicion;
  if (s != null) {
    if (s.counted(from)) return;
    const signed = accusation(MSG_SUSPECT, incarnation, id, from, trailer);
    if (signed != 0 && s.confirm(from)) broadcastAccusation(MSG_SUSPECT, incarnation, id, from, signed);
    return;
  }
  if (m.state != MemberState.Alive) return;
  const signed = accusation(MSG_SUSPECT, incarnation, id, from, trailer);
  if (signed == 0) return;
  if (id == self.id) {
    if (!leaving) refute(m, incarnation);
    return;
  }
  broadcastAccusation(MSG_SUSPECT, incarnation, id, from, signed);
  startSuspicion(m, incarnation, from, signed);
}

function startSuspicion(m: Member, incarnation: u32, from: u64, signed: usize): Suspicion {
  count(Stat.MemberSuspected);
  m.incarnation = incarnation;
  setState(m, MemberState.Suspect);
  const n = memberCount();
  const min = suspicionMin(n);
  const s = new Suspicion(from, signed, suspicionConfirmations(n), min,
    min * <f64>config.suspicionMaxTimeoutMult, self.now, incarnation);
  m.suspicion = s;
  if (!suspects.includes(m)) suspects.push(m);
  emitMemberEvent(EVENT_SUSPECT, m);
  // Lifeguard: if we raised it, suspicionTick tells the suspect directly (now, then every probe
  // interval) so it can refute without waiting for gossip.
  if (from == self.id) suspicionTick(self.now);
  return s;
}

/**
 * DEAD `id` at `incarnation`, by `from`, signed with `trailer` (0: ours, signed here). `from == id`:
 * the member left, on its own word. Otherwise the accuser's suspicion ran out: here it counts as that
 * accuser's confirmation, and the member dies at once only when its suspicion holds k confirmations
 * by then (Lifeguard's independent accusers, docs/membership.md "Signed accusations"); short of them
 * the member is suspect, and can refute.
 */
export function deadNode(incarnation: u32, id: u64, from: u64, trailer: usize): void {
  const found = memberById(id);
  if (found == null) return;
  const m = found;
  if (!accusationCurrent(m, incarnation)) return;
  if (!m.live) return;
  const left = id == from;
  const s = m.suspicion;
  if (!left && id != self.id && s != null && s.counted(from) && !s.confirmed()) return; // nothing new
  const signed = accusation(MSG_DEAD, incarnation, id, from, trailer);
  if (signed == 0) return;
  if (id == self.id && !leaving) {
    refute(m, incarnation);
    return;
  }
  broadcastAccusation(MSG_DEAD, incarnation, id, from, signed);
  if (!left && !(s != null ? s : startSuspicion(m, incarnation, from, signed)).confirmedWith(from)) return;
  m.suspicion = null;
  m.incarnation = incarnation;
  setState(m, left ? MemberState.Left : MemberState.Dead);
  emitMemberEvent(left ? EVENT_LEFT : EVENT_DEAD, m);
}

/**
 * IN_BAN: the member is removed from the switch. Declared dead here at once (its MACs dropped, the DEAD
 * gossiped so members that have not heard of the removal yet stop forwarding to it) and never
 * taken back (aliveNode). Our own id cannot be banned here.
 */
export function membershipBan(id: u64): void {
  if (id == self.id || !banAdd(id)) return;
  count(Stat.MemberBanned);
  const m = memberById(id);
  if (m == null || !m.live) return;
  ownVerdict(m); // every member bans the node itself (docs/security.md "Removing a node")
}

/**
 * `m` is dead by our own verdict: gossiped as our signed DEAD, which elsewhere is one accusation among
 * the k a death needs, and dead here at once.
 */
function ownVerdict(m: Member): void {
  deadNode(m.incarnation, m.id, self.id, 0);
  if (!m.live) return;
  m.suspicion = null;
  setState(m, MemberState.Dead);
  emitMemberEvent(EVENT_DEAD, m);
}

/** Leaves gracefully: a DEAD about ourselves from ourselves, gossiped like any update. */
export function membershipLeave(): void {
  const m = me;
  if (m == null || leaving) return;
  leaving = true;
  deadNode(m.incarnation, m.id, m.id, 0);
}

/** Declares suspects whose timeout passed dead; returns the next suspicion deadline (Infinity if none). */
export function suspicionTick(now: f64): f64 {
  let next = Infinity;
  let w = 0;
  for (let i = 0, n = suspects.length; i < n; i++) {
    const m = unchecked(suspects[i]);
    const s = m.suspicion;
    if (s == null || m.state != MemberState.Suspect) continue;
    if (now >= s.deadline && !s.confirmed() && !s.ownVerdictDue) {
      // One accuser's word (or too few) does not kill: the suspect stays suspect, and is told so
      // below until it refutes or others confirm (each confirmation sets a new deadline), or, when
      // our own probes failed too, until our own verdict is due.
      s.awaitConfirmations(now);
      count(Stat.MemberSuspicionUnconfirmed);
    }
    if (now >= s.deadline) {
      if (s.incarnation == m.incarnation) {
        count(Stat.MemberDeclaredDead);
        if (s.ownVerdictDue) ownVerdict(m);
        else deadNode(m.incarnation, m.id, self.id, 0);
      }
      m.suspicion = null;
      continue;
    }
    if (now >= s.nudgeAt) {
      // A SUSPECT or its refutation may have been lost, or a partition cut the suspect off. The
      // origin's own signed accusation, so the suspect can check it (and only it can refute).
      s.nudgeAt = now + s.nudgeEvery;
      const len = writeAccusation(messageScratch, 256, MSG_SUSPECT, s.incarnation, m.id, s.origin, s.originTrailer);
      sendMessage(m.addr, len);
    }
    if (s.nudgeAt < next) next = s.nudgeAt;
    if (s.deadline < next) next = s.deadline;
    unchecked(suspects[w++] = m);
  }
  suspects.length = w;
  return next;
}
