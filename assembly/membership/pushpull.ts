// Push-pull anti-entropy (memberlist pushPull over UDP): a full state
// exchange on join and periodically with one random member. The state is a
// list of sections (u8 type, u16 length, body); the member section comes
// first and other layers register their own (the MAC table). Receivers skip
// sections they do not know. State larger than one datagram is split into
// parts, each a self-contained PUSH_PULL datagram that is merged on its own.
import { ADDR_LEN } from "../abi";
import { config } from "../config";
import { self } from "../node";
import { pmtuBase } from "../pmtu";
import { Stat, count } from "../stats";
import { trafficAnswering } from "../traffic";
import { getU16, getU64, putU16, putU64 } from "../wire/bytes";
import { DG_MESSAGE, WIRE_VERSION } from "../wire/divs";
import {
  MSG_PUSH_PULL, MemberInfo, PUSH_PULL_FLAGS, PUSH_PULL_JOIN, PUSH_PULL_LAST, PUSH_PULL_PART,
  PUSH_PULL_RESPONSE, PUSH_PULL_SECTIONS, PUSH_PULL_SENDER, SECTION_HEADER, SECTION_LEN, SECTION_MEMBERS,
  SECTION_TYPE, readInfo, writeInfo,
} from "./codec";
import { emitDatagram, scratch } from "./send";
import { MemberState, members } from "./state";
import { aliveNode, refuteRemoteState } from "./updates";

/**
 * One section of the push-pull state. Subclass it and `pushPullRegister` an
 * instance: `begin` rewinds, `write` copies whole entries that fit in `cap`
 * bytes and returns the bytes used, `done` says every entry was written,
 * `read` merges a received section body from member `from`.
 */
export class PushPullSection {
  constructor(readonly type: u8) {}
  begin(): void {}
  write(buf: usize, cap: u32): u32 { return 0; }
  done(): bool { return true; }
  read(ptr: usize, len: u32, from: u64): void {}
}

const sections = new Array<PushPullSection>();

/** Adds a section to every push-pull this node sends and reads that section type from others. */
export function pushPullRegister(s: PushPullSection): void {
  sections.push(s);
}

/** Sent ahead of each answer to a push-pull request; set by NAT traversal (assembly/nat/nat.ts). */
let beforeAnswer: (to: usize) => void = (to: usize): void => {};

/** Sets `fn` to send something to `to` ahead of our answer to its push-pull request. */
export function onPushPullAnswer(fn: (to: usize) => void): void { beforeAnswer = fn; }

// Member entry: u8 state, member info.
class MemberSection extends PushPullSection {
  private cursor: i32 = 0;
  private readonly info: MemberInfo = new MemberInfo();
  constructor() { super(SECTION_MEMBERS); }

  begin(): void { this.cursor = 0; }
  done(): bool { return this.cursor >= members.length; }

  write(buf: usize, cap: u32): u32 {
    let used: u32 = 0;
    while (this.cursor < members.length) {
      const m = unchecked(members[this.cursor]);
      // Like memberlist, only members not yet reaped there: the dead we keep for reconnecting stay local,
      // except the receiver's own entry, by address or, answering a request, by the id it came from (a
      // node restarted under its id at another address). A member dead here for longer than
      // gossip_to_the_dead_ms (apart in a partition, or restarted) hears it from nobody else, and only
      // its refutation (a higher incarnation) may undo the death (docs/membership.md "Coming back from dead").
      if (!m.live && self.now - m.stateSince >= config.gossipToTheDeadMs && m.id != sendingToId &&
          memory.compare(m.addr, sendingTo, ADDR_LEN) != 0) { this.cursor++; continue; }
      if (cap - used < 1) break;
      const n = writeInfo(buf + used + 1, cap - used - 1, m.incarnation, m.id, m.addr, m.protocol,
        m.capabilities, changetype<usize>(m.name), <u32>m.name.byteLength, m.claim);
      if (n == 0) break;
      store<u8>(buf + used, <u8>m.state);
      used += 1 + n;
      this.cursor++;
    }
    return used;
  }

  read(ptr: usize, len: u32, from: u64): void {
    let off: u32 = 0;
    while (off < len) {
      const state = load<u8>(ptr + off);
      const n = readInfo(ptr + off + 1, len - off - 1, this.info);
      if (n == 0 || state > <u8>MemberState.Left) { count(Stat.MemberMsgMalformed); return; }
      off += 1 + n;
      // memberlist mergeState, but a remote state is no accusation here: nobody signed it (accusations
      // travel as their accusers' signed SUSPECT and DEAD, docs/membership.md "Signed accusations").
      // Only our own entry, held suspect, dead or left there, is worth acting on: we refute it.
      if (state == <u8>MemberState.Alive) aliveNode(this.info);
      else if (this.info.id == self.id) refuteRemoteState(this.info.incarnation);
    }
  }
}

pushPullRegister(new MemberSection());

/** The address of the push-pull being written. */
let sendingTo: usize = 0;
/** The node id of the push-pull being written's receiver when known (answering its request), else 0. */
let sendingToId: u64 = 0;

/** Sends our whole state to `addr`, in as many datagrams as it takes. */
export function pushPullSend(addr: usize, flags: u8, toId: u64 = 0): void {
  sendingTo = addr;
  sendingToId = toId;
  for (let i = 0; i < sections.length; i++) unchecked(sections[i]).begin();
  const cap = pmtuBase(); // fits every path, discovered or not
  let s = 0;
  for (let part: u32 = 0; part <= 0xffff; part++) {
    store<u8>(scratch, WIRE_VERSION);
    const msg = scratch + DG_MESSAGE;
    store<u8>(msg, MSG_PUSH_PULL);
    putU64(msg + PUSH_PULL_SENDER, self.id);
    putU16(msg + PUSH_PULL_PART, <u16>part);
    let used: u32 = DG_MESSAGE + PUSH_PULL_SECTIONS;
    let wrote = false;
    while (s < sections.length) {
      const sec = unchecked(sections[s]);
      if (sec.done()) { s++; continue; }
      if (cap - used <= SECTION_HEADER) break;
      const n = sec.write(scratch + used + SECTION_HEADER, min(cap - used - SECTION_HEADER, 0xffff));
      if (n == 0) {
        if (sec.done()) { s++; continue; } // what was left was all skipped
        break;
      }
      store<u8>(scratch + used + SECTION_TYPE, sec.type);
      putU16(scratch + used + SECTION_LEN, <u16>n);
      used += SECTION_HEADER + n;
      wrote = true;
    }
    const last = s >= sections.length;
    if (!wrote && !last) { count(Stat.MemberPushPullTooBig); return; } // one entry larger than a datagram
    store<u8>(msg + PUSH_PULL_FLAGS, flags | (last ? PUSH_PULL_LAST : 0));
    if (!emitDatagram(addr, scratch, used)) return; // output full (counted): the rest would be lost too
    count(Stat.MemberPushPullSent);
    if (last) return;
  }
}

/** Merges one push-pull part from `src`; answers part 0 of a request with our own state. */
export function handlePushPull(src: usize, p: usize, len: u32): bool {
  if (len < PUSH_PULL_SECTIONS) return false;
  const flags = load<u8>(p + PUSH_PULL_FLAGS);
  const sender = getU64(p + PUSH_PULL_SENDER);
  const part = getU16(p + PUSH_PULL_PART);
  // Check every section header before merging anything.
  let off: u32 = PUSH_PULL_SECTIONS;
  while (off < len) {
    if (len - off < SECTION_HEADER) return false;
    const n = <u32>getU16(p + off + SECTION_LEN);
    if (n > len - off - SECTION_HEADER) return false;
    off += SECTION_HEADER + n;
  }
  count(Stat.MemberPushPullReceived);
  off = PUSH_PULL_SECTIONS;
  while (off < len) {
    const type = load<u8>(p + off + SECTION_TYPE);
    const n = <u32>getU16(p + off + SECTION_LEN);
    for (let i = 0; i < sections.length; i++) {
      const sec = unchecked(sections[i]);
      if (sec.type == type) sec.read(p + off + SECTION_HEADER, n, sender);
    }
    off += SECTION_HEADER + n;
  }
  if ((flags & PUSH_PULL_RESPONSE) == 0 && part == 0 && sender != self.id && mayAnswer(src)) {
    trafficAnswering(true); // answers wait for nothing (assembly/traffic.ts)
    beforeAnswer(src); // OBSERVED first, so a joining node hears it from its seed (assembly/nat/observed.ts)
    pushPullSend(src, PUSH_PULL_RESPONSE | (flags & PUSH_PULL_JOIN), sender);
    trafficAnswering(false);
  }
  return true;
}

// A small request buys a full-state answer; answer each address at most once per
// ANSWER_GAP_MS so a peer (or a replayed datagram) cannot turn us into an amplifier.
const ANSWER_GAP_MS: f64 = 500;
const ANSWERED_MAX: i32 = 4096;
const answeredAt = new Map<u64, f64>();

function addrKey(addr: usize): u64 {
  let h: u64 = 0xcbf29ce484222325; // FNV-1a
  for (let i: u32 = 0; i < ADDR_LEN; i++) h = (h ^ <u64>load<u8>(addr + i)) * 0x100000001b3;
  return h;
}

function mayAnswer(src: usize): bool {
  const key = addrKey(src);
  if (answeredAt.has(key) && self.now - answeredAt.get(key) < ANSWER_GAP_MS) {
    count(Stat.MemberPushPullThrottled);
    return false;
  }
  if (answeredAt.size >= ANSWERED_MAX) answeredAt.clear();
  answeredAt.set(key, self.now);
  return true;
}

/** memberlist pushPullScale: beyond 32 members, stretch the interval by ceil(log2(n) - log2(32)) + 1. */
export function pushPullInterval(n: i32): f64 {
  const base = config.pushPullIntervalMs;
  if (n <= 32) return base;
  const mult = Math.ceil(Math.log2(<f64>n) - Math.log2(32.0)) + 1.0;
  return base * mult;
}
