// SWIM failure detection (memberlist probeNode and the ping handlers):
// every probe interval one member, in shuffled round-robin order, gets a
// direct PING; without an ACK within the probe timeout, k others are asked to
// ping it (PING_REQ) and answer ACK or NACK; without any ACK by the end of the
// interval it is suspected. Interval and timeout are stretched by awareness.
import { ADDR_LEN } from "../abi";
import { config } from "../config";
import { self } from "../node";
import { nextBelow, nextUnit } from "../prng";
import { Stat, count } from "../stats";
import { wakeAt } from "../wake";
import { trafficAnswering } from "../traffic";
import { getU32, getU64 } from "../wire/bytes";
import { awarenessApply, awarenessScale } from "./awareness";
import {
  ACCUSE_LEN, ACK_LEN, ACK_SEQ, MSG_ACK, MSG_NACK, MSG_SUSPECT, PING_LEN, PING_REQ_ADDR, PING_REQ_LEN, PING_SOURCE,
  PING_REQ_SEQ, PING_REQ_TARGET, PING_SEQ, PING_TARGET, writeAccusation, writeAck, writePing, writePingReq,
} from "./codec";
import { broadcastFill } from "./broadcast";
import { datagramBegin, datagramSend, messageScratch, sendMessage } from "./send";
import { Member, MemberState, memberById, memberReapAndShuffle, members } from "./state";
import { isLeaving, sendAliveOf, suspectNode } from "./updates";
import { pushPullSend } from "./pushpull";
import { PUSH_PULL_JOIN } from "./codec";

const MAX_RELAYS: i32 = 256;

let seq: u32 = 0;
let probeIndex: i32 = 0;
let nextProbeAt: f64 = 0;

// The probe in flight (at most one, as in memberlist).
let target: Member | null = null;
let probeSeq: u32 = 0;
let indirectAt: f64 = 0; // direct timeout: send PING_REQs
let probeEndAt: f64 = 0; // no ack by then: suspect
let indirectSent = false;
let expectedNacks: i32 = 0;
let nacks: i32 = 0;

/** A PING we send for someone else's PING_REQ: relay the ACK, or NACK at the deadline. */
class Relay {
  readonly requester: StaticArray<u8> = new StaticArray<u8>(ADDR_LEN);
  localSeq: u32 = 0;
  originSeq: u32 = 0;
  deadline: f64 = 0;
}
const relays = new Array<Relay>();

// Reconnecting (as serf does): now and then a PING to a random dead member; if it
// answers, the partition or outage is over and a push-pull merges the two views.
let nextReconnectAt: f64 = Infinity;
let reconnectSeq: u32 = 0;
let reconnectTarget: Member | null = null;

function reconnectTick(now: f64): void {
  if (now < nextReconnectAt) return;
  nextReconnectAt = now + config.reconnectIntervalMs;
  let dead = 0;
  for (let i = 0; i < members.length; i++) if (unchecked(members[i]).state == MemberState.Dead) dead++;
  if (dead == 0) return;
  let k = <i32>nextBelow(<u32>dead);
  for (let i = 0; i < members.length; i++) {
    const m = unchecked(members[i]);
    if (m.state != MemberState.Dead || k-- > 0) continue;
    reconnectTarget = m;
    reconnectSeq = nextSeq();
    sendMessage(m.addr, writePing(messageScratch, PING_LEN, reconnectSeq, m.id, self.id));
    return;
  }
}

function nextSeq(): u32 { return ++seq; }

// Set by NAT traversal (assembly/nat/nat.ts), which sits above membership.
let reachable: (id: u64) => bool = (id: u64): bool => true;
let pingedBy: (id: u64) => void = (id: u64): void => {};

/** Sets `fn` to tell whether member `id` can be reached (a path to it: assembly/nat/paths.ts). */
export function probeReachable(fn: (id: u64) => bool): void { reachable = fn; }

/** Sets `fn` to run after a PING from member `id` is answered. */
export function onPingFrom(fn: (id: u64) => void): void { pingedBy = fn; }

/**
 * True when `m` may be sent gossip or asked for help: not us, not `exclude`, live (or recently dead, with
 * `includeRecentlyDead`: they learn they were declared dead and refute), and reached by a path (behind a
 * NAT, a member with no path yet would not get it: assembly/nat/paths.ts).
 */
export function contactable(m: Member, exclude: u64, includeRecentlyDead: bool): bool {
  if (m.id == self.id || m.id == exclude) return false;
  if (!m.live && !(includeRecentlyDead && self.now - m.stateSince < config.gossipToTheDeadMs)) return false;
  return reachable(m.id);
}

/**
 * Picks up to k random `contactable` members (memberlist kRandomNodes); when the random tries fall short
 * (few members qualify: behind NATs, only those with a path), the rest of them in list order.
 */
export function randomMembers(k: i32, exclude: u64, includeRecentlyDead: bool, out: Array<Member>): void {
  out.length = 0;
  const n = members.length;
  for (let tries = 0; tries < 3 * n && out.length < k; tries++) {
    const m = unchecked(members[<i32>nextBelow(<u32>n)]);
    if (contactable(m, exclude, includeRecentlyDead) && !out.includes(m)) out.push(m);
  }
  for (let i = 0; i < n && out.length < k; i++) {
    const m = unchecked(members[i]);
    if (contactable(m, exclude, includeRecentlyDead) && !out.includes(m)) out.push(m);
  }
}

const picked = new Array<Member>();

function nextTarget(): Member | null {
  for (let wraps = 0; wraps < 2;) {
    if (probeIndex >= members.length) {
      memberReapAndShuffle(self.now - config.gossipToTheDeadMs, self.now - config.reconnectTimeoutMs);
      probeIndex = 0;
      wraps++;
      continue;
    }
    const m = unchecked(members[probeIndex++]);
    if (m.id != self.id && m.live) return m;
  }
  return null;
}

function startProbe(now: f64): void {
  const interval = awarenessScale(config.probeIntervalMs);
  nextProbeAt = now + interval;
  const t = nextTarget();
  if (t == null) return;
  target = t;
  probeSeq = nextSeq();
  indirectAt = now + awarenessScale(config.probeTimeoutMs);
  probeEndAt = now + interval;
  indirectSent = false;
  expectedNacks = 0;
  nacks = 0;
  count(Stat.MemberProbes);
  const w = datagramBegin();
  const s = t.suspicion;
  if (t.state == MemberState.Suspect && s != null) {
    // Lifeguard buddy system: a suspect we probe learns of the suspicion at once (its origin's signed word).
    w.add(writeAccusation(w.cursor(), w.room(), MSG_SUSPECT, s.incarnation, t.id, s.origin, s.originTrailer));
  }
  w.add(writePing(w.cursor(), w.room(), probeSeq, t.id, self.id));
  broadcastFill(w);
  datagramSend(t.addr);
}

function sendIndirect(t: Member): void {
  indirectSent = true;
  randomMembers(config.indirectChecks, t.id, false, picked);
  for (let i = 0; i < picked.length; i++) {
    const len = writePingReq(messageScratch, PING_REQ_LEN, probeSeq, t.id, t.addr);
    sendMessage(unchecked(picked[i]).addr, len);
  }
  expectedNacks = picked.length;
  if (picked.length > 0) count(Stat.MemberProbesIndirect);
}

function probeFailed(t: Member): void {
  target = null;
  count(Stat.MemberProbesFailed);
  // Missing nacks mean the trouble may be ours (Lifeguard); without helpers any failure counts.
  awarenessApply(expectedNacks > 0 ? expectedNacks - nacks : 1);
  if (t.live) suspectNode(t.incarnation, t.id, self.id, 0);
}

/** Runs the probe state machine and relay timeouts at `now`; returns the next probe deadline. */
export function probeTick(now: f64): f64 {
  const t = target;
  if (t != null) {
    if (!t.live) target = null; // it left or died meanwhile
    else if (now >= probeEndAt) probeFailed(t);
    else if (!indirectSent && now >= indirectAt) sendIndirect(t);
  }
  if (target == null && now >= nextProbeAt && !isLeaving()) startProbe(now);
  if (!isLeaving()) reconnectTick(now);
  let next = target != null ? (indirectSent ? probeEndAt : indirectAt) : nextProbeAt;
  if (nextReconnectAt < next) next = nextReconnectAt;
  let w = 0;
  for (let i = 0, n = relays.length; i < n; i++) {
    const r = unchecked(relays[i]);
    if (now >= r.deadline) {
      sendMessage(changetype<usize>(r.requester), writeAck(messageScratch, ACK_LEN, MSG_NACK, r.originSeq));
      continue;
    }
    if (r.deadline < next) next = r.deadline;
    unchecked(relays[w++] = r);
  }
  relays.length = w;
  return isLeaving() && target == null && relays.length == 0 ? Infinity : next;
}

export function handlePing(src: usize, p: usize, len: u32): bool {
  if (len < PING_LEN) return false;
  if (getU64(p + PING_TARGET) != self.id) { count(Stat.MemberPingMisdirected); return true; }
  trafficAnswering(true); // an answer waits for none (assembly/traffic.ts)
  sendMessage(src, writeAck(messageScratch, ACK_LEN, MSG_ACK, getU32(p + PING_SEQ)));
  trafficAnswering(false);
  pingedBy(getU64(p + PING_SOURCE)); // maybe a new address of a member behind a NAT (assembly/nat/nat.ts)
  return true;
}

export function handlePingReq(src: usize, p: usize, len: u32): bool {
  if (len < PING_REQ_LEN) return false;
  // Only a member we know, and only at the address we know: else any sender could make us send
  // handshakes (and pings) to any address it names.
  const id = getU64(p + PING_REQ_TARGET);
  const m = memberById(id);
  if (m == null || id == self.id) {
    count(Stat.MemberPingReqUnknown);
    return true;
  }
  const stale = memory.compare(m.addr, p + PING_REQ_ADDR, ADDR_LEN) != 0;
  if (stale) {
    // Behind NATs a member's ALIVE with a new address can miss the requester: we ping it where we know
    // it, never where the request says, and tell the requester where that is.
    count(Stat.MemberPingReqUnknown);
    if (!m.live) return true;
    sendAliveOf(src, m);
  }
  if (relays.length >= MAX_RELAYS) { count(Stat.MemberRelayDropped); return true; }
  const r = new Relay();
  memory.copy(changetype<usize>(r.requester), src, ADDR_LEN);
  r.localSeq = nextSeq();
  r.originSeq = getU32(p + PING_REQ_SEQ);
  r.deadline = self.now + config.probeTimeoutMs;
  relays.push(r);
  wakeAt(r.deadline);
  sendMessage(m.addr, writePing(messageScratch, PING_LEN, r.localSeq, id, self.id));
  return true;
}

export function handleAck(p: usize, len: u32): bool {
  if (len < ACK_LEN) return false;
  const s = getU32(p + ACK_SEQ);
  const back = reconnectTarget;
  if (back != null && s == reconnectSeq) {
    reconnectTarget = null;
    if (back.state == MemberState.Dead) pushPullSend(back.addr, PUSH_PULL_JOIN);
    return true;
  }
  if (target != null && s == probeSeq) {
    target = null;
    wakeAt(nextProbeAt);
    awarenessApply(-1);
    return true;
  }
  for (let i = 0; i < relays.length; i++) {
    const r = unchecked(relays[i]);
    if (r.localSeq != s) continue;
    sendMessage(changetype<usize>(r.requester), writeAck(messageScratch, ACK_LEN, MSG_ACK, r.originSeq));
    relays.splice(i, 1);
    break;
  }
  return true;
}

export function handleNack(p: usize, len: u32): bool {
  if (len < ACK_LEN) return false;
  if (target != null && getU32(p + ACK_SEQ) == probeSeq) nacks++;
  return true;
}

/** Lets the first probe start at a random point of the first interval, so nodes do not probe in step. */
export function probeStagger(now: f64): void {
  nextProbeAt = now + <f64>nextBelow(<u32>config.probeIntervalMs);
  nextReconnectAt = now + config.reconnectIntervalMs * (0.5 + nextUnit());
}
