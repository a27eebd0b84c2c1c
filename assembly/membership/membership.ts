// Membership entry points for the ABI layer (assembly/index.ts): identity,
// join, leave, received membership messages, the timer tick and the dump.
import { ADDR_LEN, ADDR_SLOT, OUT_MEMBER } from "../abi";
import { config } from "../config";
import { self } from "../node";
import { nextUnit } from "../prng";
import { peerAddrById } from "../peers";
import { pmtuPeek } from "../pmtu";
import { outputReserve } from "../queue";
import { Stat, count } from "../stats";
import { wakeAt, wakeNow } from "../wake";
import {
  ACCUSE_FROM, ACCUSE_INCARNATION, ACCUSE_LEN, ACCUSE_NODE, ACCUSE_TRAILER, MSG_ACK, MSG_ALIVE, MSG_DEAD, MSG_NACK, MSG_PING,
  MSG_PING_REQ, MSG_PUSH_PULL, MSG_SUSPECT, MemberInfo, PUSH_PULL_FLAGS, PUSH_PULL_JOIN, PUSH_PULL_LAST,
  PUSH_PULL_PART, PUSH_PULL_RESPONSE, PUSH_PULL_SENDER, readInfo,
} from "./codec";
import { getU16, getU32, getU64 } from "../wire/bytes";
import { gossipRound, gossipStagger } from "./gossip";
import { handleAck, handleNack, handlePing, handlePingReq, probeStagger, probeTick, randomMembers } from "./probe";
import { handlePushPull, pushPullInterval, pushPullSend } from "./pushpull";
import { Member, members } from "./state";
import { aliveNode, answerStaleAccusation, deadNode, membershipIdentify, membershipLeave, selfMember, suspectNode, suspicionTick } from "./updates";

export { membershipBan, membershipSetCapabilities } from "./updates";

let started = false;
let nextPushPullAt: f64 = Infinity;

// Seeds we are joining through, retried until one answers; a few are plenty.
const MAX_SEEDS: i32 = 16;
const MAX_JOIN_PARTS: i32 = 4096;
const seeds = new Array<StaticArray<u8>>();
let nextJoinAt: f64 = Infinity;
let joinBackoff: f64 = 0;

// Parts of join responses seen, by responder: joined once one responder's parts are all in
// (push-pull runs over datagrams, so a lost part is made up by asking again).
const joinParts = new Map<u64, Array<bool>>();
const joinLastPart = new Map<u64, i32>();

const info = new MemberInfo();
const pushPullTarget = new Array<Member>();

/** IN_IDENTITY: starts membership on the first call; later calls announce changed metadata. */
export function membershipIdentity(): void {
  membershipIdentify();
  if (started) return;
  started = true;
  probeStagger(self.now);
  gossipStagger(self.now);
  nextPushPullAt = self.now + pushPullInterval(1) * (0.5 + nextUnit());
  wakeNow();
}

/** IN_JOIN: push-pull with the seed at `addr` now, and again until some seed answers. */
export function membershipJoin(addr: usize): void {
  if (!started) return;
  if (!isSeed(addr)) {
    if (seeds.length >= MAX_SEEDS) { count(Stat.MemberSeedsFull); return; }
    const seed = new StaticArray<u8>(ADDR_LEN);
    memory.copy(changetype<usize>(seed), addr, ADDR_LEN);
    seeds.push(seed);
  }
  joinParts.clear();
  joinLastPart.clear();
  joinBackoff = config.joinRetryMs;
  nextJoinAt = self.now + joinBackoff;
  wakeAt(nextJoinAt);
  pushPullSend(addr, PUSH_PULL_JOIN);
}

/** True while IN_JOIN seeds are given and none has answered with its whole state yet. */
export function membershipJoining(): bool {
  return seeds.length > 0;
}

/** True when `addr` is a seed we are joining through. */
export function isSeed(addr: usize): bool {
  for (let i = 0; i < seeds.length; i++) {
    if (memory.compare(changetype<usize>(unchecked(seeds[i])), addr, ADDR_LEN) == 0) return true;
  }
  return false;
}

/** IN_LEAVE: broadcast our departure and push it out at once; the host stops after a short grace. */
export function membershipLeaveNow(): void {
  if (!started) return;
  membershipLeave();
  gossipRound(config.gossipNodes * 2);
}

/** Handles one membership message (type 0x10-0x1f) from `src`; malformed ones are counted. */
export function membershipMessage(src: usize, p: usize, len: u32): void {
  if (!started || len < 1) return;
  let ok = false;
  switch (load<u8>(p)) {
    case MSG_PING: ok = handlePing(src, p, len); break;
    case MSG_PING_REQ: ok = handlePingReq(src, p, len); break;
    case MSG_ACK: ok = handleAck(p, len); break;
    case MSG_NACK: ok = handleNack(p, len); break;
    case MSG_ALIVE:
      ok = readInfo(p + 1, len - 1, info) != 0;
      if (ok) aliveNode(info);
      break;
    case MSG_SUSPECT:
    case MSG_DEAD: {
      ok = len >= ACCUSE_LEN;
      if (!ok) break;
      const inc = getU32(p + ACCUSE_INCARNATION);
      const node = getU64(p + ACCUSE_NODE);
      const from = getU64(p + ACCUSE_FROM);
      if (answerStaleAccusation(src, inc, node)) break;
      if (load<u8>(p) == MSG_SUSPECT) suspectNode(inc, node, from, p + ACCUSE_TRAILER);
      else deadNode(inc, node, from, p + ACCUSE_TRAILER);
      break;
    }
    case MSG_PUSH_PULL:
      ok = handlePushPull(src, p, len);
      if (ok && seeds.length > 0) noteJoinResponse(p);
      break;
    default:
      count(Stat.DatagramUnknownType);
      return;
  }
  if (!ok) count(Stat.MemberMsgMalformed);
}

function noteJoinResponse(p: usize): void {
  const flags = load<u8>(p + PUSH_PULL_FLAGS);
  if ((flags & PUSH_PULL_RESPONSE) == 0 || (flags & PUSH_PULL_JOIN) == 0) return;
  const sender = getU64(p + PUSH_PULL_SENDER);
  const part = <i32>getU16(p + PUSH_PULL_PART);
  if (part >= MAX_JOIN_PARTS) return; // no real table needs more; a forged index must not grow memory
  if (!joinParts.has(sender)) joinParts.set(sender, new Array<bool>());
  const seen = joinParts.get(sender);
  while (seen.length <= part) seen.push(false);
  seen[part] = true;
  if ((flags & PUSH_PULL_LAST) != 0) joinLastPart.set(sender, part);
  if (!joinLastPart.has(sender)) return;
  const last = joinLastPart.get(sender);
  for (let i = 0; i <= last; i++) if (!seen[i]) return;
  seeds.length = 0; // joined
  wakeNow(); // a restored DHCP state waited for this (assembly/dhcp/persist.ts)
  nextJoinAt = Infinity;
  joinParts.clear();
  joinLastPart.clear();
}

function joinTick(now: f64): void {
  if (now < nextJoinAt) return;
  for (let i = 0; i < seeds.length; i++) pushPullSend(changetype<usize>(unchecked(seeds[i])), PUSH_PULL_JOIN);
  joinBackoff = Math.min(joinBackoff * 2, config.pushPullIntervalMs);
  nextJoinAt = seeds.length > 0 ? now + joinBackoff : Infinity;
}

function pushPullTick(now: f64): void {
  if (now < nextPushPullAt) return;
  nextPushPullAt = now + pushPullInterval(members.length);
  randomMembers(1, 0, false, pushPullTarget);
  if (pushPullTarget.length > 0) pushPullSend(unchecked(pushPullTarget[0]).addr, 0);
}

/** Runs everything due at `now`; returns the next deadline (Infinity when nothing is scheduled). */
export function membershipTick(now: f64): f64 {
  if (!started) return Infinity;
  let next = suspicionTick(now);
  const leaving = selfMember() != null && !selfMember()!.live;
  if (!leaving) {
    joinTick(now);
    pushPullTick(now);
    next = Math.min(next, Math.min(nextJoinAt, nextPushPullAt));
  }
  return Math.min(next, probeTick(now)); // gossip runs after every tick (assembly/index.ts)
}

// OUT_MEMBER body (little-endian): u64 id, u32 incarnation, u8 state, u8 0, u16 protocol,
// u32 capabilities, u32 max datagram (the path MTU to it, assembly/pmtu.ts; 0 for self or a member
// not alive), f64 state since (ms), address slot, name UTF-8.
export const MEMBER_ID: u32 = 0;
export const MEMBER_INCARNATION: u32 = 8;
export const MEMBER_STATE: u32 = 12;
export const MEMBER_PROTOCOL: u32 = 14;
export const MEMBER_CAPABILITIES: u32 = 16;
export const MEMBER_MAX_DATAGRAM: u32 = 20;
export const MEMBER_SINCE: u32 = 24;
export const MEMBER_ADDR: u32 = 32;
export const MEMBER_NAME: u32 = MEMBER_ADDR + ADDR_SLOT;

/** Appends one OUT_MEMBER record per known member (self included). */
export function membersDump(): void {
  for (let i = 0; i < members.length; i++) {
    const m = unchecked(members[i]);
    const nameLen = <u32>m.name.byteLength;
    const body = outputReserve(OUT_MEMBER, MEMBER_NAME + nameLen);
    if (body == 0) return;
    memory.fill(body, 0, MEMBER_NAME);
    store<u64>(body + MEMBER_ID, m.id);
    store<u32>(body + MEMBER_INCARNATION, m.incarnation);
    store<u8>(body + MEMBER_STATE, <u8>m.state);
    store<u16>(body + MEMBER_PROTOCOL, m.protocol);
    store<u32>(body + MEMBER_CAPABILITIES, m.capabilities);
    if (m.id != self.id) store<u32>(body + MEMBER_MAX_DATAGRAM, pmtuPeek(peerAddrById(m.id)));
    store<f64>(body + MEMBER_SINCE, m.stateSince);
    memory.copy(body + MEMBER_ADDR, m.addr, ADDR_LEN);
    memory.copy(body + MEMBER_NAME, changetype<usize>(m.name), nameLen);
  }
}
