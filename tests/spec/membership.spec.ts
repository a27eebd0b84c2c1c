import { ADDR_LEN } from "../../assembly/abi";
import { Key, config, configSet } from "../../assembly/config";
import { self } from "../../assembly/node";
import { peerAddrById } from "../../assembly/peers";
import { Stat, statValue } from "../../assembly/stats";
import { getU64, putU16, putU32, putU64 } from "../../assembly/wire/bytes";
import { CompoundWriter } from "../../assembly/wire/divs";
import { awarenessApply, awarenessScale, awarenessScore } from "../../assembly/membership/awareness";
import {
  BROADCAST_SPACE_MEMBER, BROADCAST_SPACE_NONE, broadcastEnqueue, broadcastFill, broadcastPending, retransmitLimit,
} from "../../assembly/membership/broadcast";
import {
  ACCUSE_LEN, INFO_NAME, MSG_ALIVE, MSG_DEAD, MSG_PUSH_PULL, MSG_SUSPECT, MemberInfo, NAME_MAX, PUSH_PULL_SECTIONS,
  SECTION_MEMBERS, readInfo, writeAccusation, writePingReq,
} from "../../assembly/membership/codec";
import { membershipBan, membershipMessage } from "../../assembly/membership/membership";
import { MemberState, memberById, memberCount, members } from "../../assembly/membership/state";
import { suspicionConfirmations, suspicionMin, suspicionTimeoutAfter } from "../../assembly/membership/suspicion";
import { suspectNode, suspicionTick } from "../../assembly/membership/updates";
import { CLAIM_LEN } from "../../assembly/claims";
import { accusationTrailer, signedAccusation, signedInfo, startMember } from "./member-helpers";

const buf = heap.alloc(2048);
const addr = heap.alloc(ADDR_LEN);
const name = heap.alloc(8);
memory.fill(addr, 7, ADDR_LEN);
memory.fill(name, 0x61, 8);
const info = new MemberInfo();
const w = new CompoundWriter();


function aliveMsg(p: usize, inc: u32, id: u64): u32 {
  store<u8>(p, MSG_ALIVE);
  return 1 + signedInfo(p + 1, 512, inc, id, addr, 1, 0, name, 5);
}

function drain(): void {
  for (let i = 0; i < 1000 && broadcastPending() > 0; i++) {
    w.begin(buf, 1400);
    broadcastFill(w);
  }
}

describe("membership codec", () => {
  it("round-trips member info and rejects every truncation", () => {
    const n = signedInfo(buf, 512, 7, 0x1122334455667788, addr, 1, 3, name, 5);
    expect(n).toBe(INFO_NAME + 5 + CLAIM_LEN);
    expect(readInfo(buf, n, info)).toBe(n);
    expect(info.id).toBe(0x1122334455667788);
    expect(info.incarnation).toBe(7);
    expect(info.capabilities).toBe(3);
    for (let len: u32 = 0; len < n; len++) expect(readInfo(buf, len, info)).toBe(0);
  });

  it("rejects a name longer than NAME_MAX and refuses to write past the room", () => {
    signedInfo(buf, 512, 1, 2, addr, 1, 0, name, 5);
    store<u8>(buf + INFO_NAME - 1, <u8>(NAME_MAX + 1));
    expect(readInfo(buf, 512, info)).toBe(0);
    expect(signedInfo(buf, INFO_NAME + 4, 1, 2, addr, 1, 0, name, 5)).toBe(0);
    expect(writeAccusation(buf, ACCUSE_LEN - 1, MSG_SUSPECT, 1, 2, 3, name)).toBe(0);
  });

  it("counts truncated membership messages of every type and length, without trapping", () => {
    startMember();
    const before = statValue(Stat.MemberMsgMalformed);
    let sent = 0;
    for (let type: u8 = 0x10; type <= 0x17; type++) {
      memory.fill(buf, 0xff, 64);
      store<u8>(buf, type);
      for (let len: u32 = 1; len < 5; len++) { membershipMessage(addr, buf, len); sent++; }
    }
    expect(statValue(Stat.MemberMsgMalformed)).toBe(before + <f64>sent);
  });
});

describe("membership state changes", () => {
  it("learns an alive member, puts it in the peer set, and drops it when dead", () => {
    startMember();
    const n = memberCount();
    membershipMessage(addr, buf, aliveMsg(buf, 1, 42));
    expect(memberCount()).toBe(n + 1);
    expect(peerAddrById(42)).not.toBe(0);
    membershipMessage(addr, buf, signedAccusation(buf, 256, MSG_DEAD, 1, 42, 42)); // it leaves
    expect(memberById(42)!.state).toBe(MemberState.Left);
    expect(peerAddrById(42)).toBe(0);
    // An older incarnation does not bring it back; a newer one does.
    membershipMessage(addr, buf, aliveMsg(buf, 1, 42));
    expect(memberById(42)!.state).toBe(MemberState.Left);
    membershipMessage(addr, buf, aliveMsg(buf, 2, 42));
    expect(memberById(42)!.state).toBe(MemberState.Alive);
  });

  it("declares a banned member dead for good (IN_BAN): no newer ALIVE brings it back; a ban of itself is ignored", () => {
    startMember();
    membershipMessage(addr, buf, aliveMsg(buf, 3, 77));
    expect(memberById(77)!.state).toBe(MemberState.Alive);
    const banned = statValue(Stat.MemberBanned);
    membershipBan(77);
    expect(statValue(Stat.MemberBanned)).toBe(banned + 1);
    expect(memberById(77)!.state).toBe(MemberState.Dead);
    expect(peerAddrById(77)).toBe(0);
    membershipBan(77); // again: already banned
    expect(statValue(Stat.MemberBanned)).toBe(banned + 1);
    const refused = statValue(Stat.MemberAliveBanned);
    membershipMessage(addr, buf, aliveMsg(buf, 4, 77));
    membershipMessage(addr, buf, aliveMsg(buf, 100, 77));
    expect(memberById(77)!.state).toBe(MemberState.Dead);
    expect(statValue(Stat.MemberAliveBanned)).toBe(refused + 2);
    // Banned before it was ever heard of: never added.
    membershipBan(78);
    membershipMessage(addr, buf, aliveMsg(buf, 1, 78));
    expect(memberById(78) == null).toBe(true);
    membershipBan(self.id);
    expect(statValue(Stat.MemberBanned)).toBe(banned + 2);
    expect(memberById(self.id)!.state).toBe(MemberState.Alive);
  });

  it("answers a PING_REQ only for a member it knows, at the address it knows (no handshakes to any address)", () => {
    startMember();
    membershipMessage(addr, buf, aliveMsg(buf, 1, 43)); // member 43 at `addr`
    const elsewhere = heap.alloc(ADDR_LEN);
    memory.fill(elsewhere, 9, ADDR_LEN);
    const unknown = statValue(Stat.MemberPingReqUnknown);
    membershipMessage(addr, buf, writePingReq(buf, 64, 1, 555, elsewhere)); // no such member
    membershipMessage(addr, buf, writePingReq(buf, 64, 2, 43, elsewhere)); // a member, another address
    membershipMessage(addr, buf, writePingReq(buf, 64, 3, self.id, self.addr)); // ourselves
    expect(statValue(Stat.MemberPingReqUnknown)).toBe(unknown + 3);
    membershipMessage(addr, buf, writePingReq(buf, 64, 4, 43, addr));
    expect(statValue(Stat.MemberPingReqUnknown)).toBe(unknown + 3, "a known member at its address is pinged");
  });

  it("refutes a suspicion about itself with a higher incarnation and lower health", () => {
    startMember();
    const me = memberById(self.id)!;
    const score = awarenessScore();
    membershipMessage(addr, buf, signedAccusation(buf, 256, MSG_SUSPECT, me.incarnation, self.id, 42));
    expect(me.state).toBe(MemberState.Alive);
    expect(me.incarnation).toBeGreaterThan(1);
    expect(awarenessScore()).toBe(min(score + 1, config.awarenessMaxMultiplier - 1));
  });

  it("merges a push-pull part and skips sections it does not know", () => {
    startMember();
    store<u8>(buf, MSG_PUSH_PULL);
    store<u8>(buf + 1, 1); // a response: not answered
    putU64(buf + 2, 77);
    putU16(buf + 10, 0);
    let off = PUSH_PULL_SECTIONS;
    store<u8>(buf + off, 0xee); // unknown section of 4 bytes
    putU16(buf + off + 1, 4);
    off += 3 + 4;
    store<u8>(buf + off, SECTION_MEMBERS);
    store<u8>(buf + off + 3, <u8>MemberState.Alive);
    const n = signedInfo(buf + off + 4, 512, 3, 555, addr, 1, 0, name, 5);
    putU16(buf + off + 1, <u16>(n + 1));
    off += 3 + 1 + n;
    membershipMessage(addr, buf, off);
    expect(memberById(555) != null).toBe(true);
    expect(memberById(555)!.incarnation).toBe(3);
    // A section length past the end rejects the whole part.
    putU16(buf + PUSH_PULL_SECTIONS + 1, 4000);
    const bad = statValue(Stat.MemberMsgMalformed);
    membershipMessage(addr, buf, off);
    expect(statValue(Stat.MemberMsgMalformed)).toBe(bad + 1);
  });

  it("keeps at most max_members members and counts the ALIVEs it refuses", () => {
    startMember();
    const known = members.length;
    const saved = config.maxMembers;
    expect(configSet(Key.MaxMembers, <f64>(known + 2))).toBe(true);
    const full = statValue(Stat.MemberTableFull);
    for (let id: u64 = 9000; id < 9005; id++) membershipMessage(addr, buf, aliveMsg(buf, 1, id));
    expect(members.length).toBe(known + 2);
    expect(statValue(Stat.MemberTableFull)).toBe(full + 3);
    expect(memberById(9001) != null).toBe(true);
    expect(memberById(9002) == null).toBe(true);
    // A member already known is still updated when the table is full.
    membershipMessage(addr, buf, aliveMsg(buf, 2, 9001));
    expect(memberById(9001)!.incarnation).toBe(2);
    expect(configSet(Key.MaxMembers, 1)).toBe(false);
    config.maxMembers = saved;
  });
});

function accuse(type: u8, inc: u32, id: u64, from: u64): void {
  membershipMessage(addr, buf, signedAccusation(buf, 256, type, inc, id, from));
}

describe("signed accusations (Lifeguard's independent accusers)", () => {
  it("drops an accusation not signed by the accuser it names, ours included, and counts it", () => {
    startMember();
    membershipMessage(addr, buf, aliveMsg(buf, 1, 700));
    const bad = statValue(Stat.MemberAccusationBadSignature);
    const me = memberById(self.id)!;
    const inc = me.incarnation;
    signedAccusation(buf, 256, MSG_DEAD, 1, 700, 701); // signed by 701, then claimed to be 702's
    putU64(buf + 13, 702);
    membershipMessage(addr, buf, ACCUSE_LEN);
    signedAccusation(buf, 256, MSG_SUSPECT, 1, 700, self.id); // in our name, not by us
    store<u8>(buf + ACCUSE_LEN - 1, load<u8>(buf + ACCUSE_LEN - 1) ^ 1);
    membershipMessage(addr, buf, ACCUSE_LEN);
    signedAccusation(buf, 256, MSG_DEAD, inc, self.id, 701); // about us, tampered: no refutation
    store<u8>(buf + ACCUSE_LEN - 1, load<u8>(buf + ACCUSE_LEN - 1) ^ 1);
    membershipMessage(addr, buf, ACCUSE_LEN);
    expect(statValue(Stat.MemberAccusationBadSignature) - bad).toBe(3);
    expect(memberById(700)!.state).toBe(MemberState.Alive);
    expect(me.incarnation).toBe(inc);
  });

  it("one accuser, however often it accuses, leaves a member suspect past every timeout; k others make it dead", () => {
    startMember();
    for (let id: u64 = 710; id < 714; id++) membershipMessage(addr, buf, aliveMsg(buf, 1, id));
    const k = suspicionConfirmations(memberCount());
    expect(k).toBeGreaterThan(0);
    self.now = 1_000_000;
    accuse(MSG_SUSPECT, 1, 710, 711);
    accuse(MSG_DEAD, 1, 710, 711);
    accuse(MSG_DEAD, 1, 710, 711);
    const m = memberById(710)!;
    expect(m.state).toBe(MemberState.Suspect);
    const unconfirmed = statValue(Stat.MemberSuspicionUnconfirmed);
    suspicionTick(self.now + 3_600_000);
    expect(m.state).toBe(MemberState.Suspect);
    expect(statValue(Stat.MemberSuspicionUnconfirmed) - unconfirmed).toBe(1);
    // Confirmations by distinct accusers: the k-th DEAD kills at once (those accusers' timers ran out).
    for (let i = 0; i < k; i++) {
      expect(m.state).toBe(MemberState.Suspect);
      accuse(MSG_DEAD, 1, 710, 712 + <u64>i);
    }
    expect(m.state).toBe(MemberState.Dead);
  });

  it("our own failed probes, unrefuted one maximum timeout past an unconfirmed suspicion, are our verdict here", () => {
    startMember();
    for (let id: u64 = 715; id < 719; id++) membershipMessage(addr, buf, aliveMsg(buf, 1, id));
    self.now = 1_500_000;
    accuse(MSG_SUSPECT, 1, 715, 716); // another member's word: we then probe it ourselves, and fail
    suspectNode(1, 715, self.id, 0);
    const m = memberById(715)!;
    const late = self.now + 3_600_000;
    suspicionTick(late);
    expect(m.state).toBe(MemberState.Suspect); // short of k: nudged one maximum timeout more
    suspicionTick(late + suspicionMin(memberCount()) * <f64>config.suspicionMaxTimeoutMult - 1);
    expect(m.state).toBe(MemberState.Suspect);
    suspicionTick(late + suspicionMin(memberCount()) * <f64>config.suspicionMaxTimeoutMult);
    expect(m.state).toBe(MemberState.Dead);
  });

  it("k confirming SUSPECTs let the timeout declare the member dead, and the DEAD we send is ours, signed", () => {
    startMember();
    for (let id: u64 = 720; id < 724; id++) membershipMessage(addr, buf, aliveMsg(buf, 1, id));
    const k = suspicionConfirmations(memberCount());
    self.now = 2_000_000;
    drain();
    for (let i = 0; i <= k; i++) accuse(MSG_SUSPECT, 1, 720, 721 + <u64>i);
    const m = memberById(720)!;
    expect(m.state).toBe(MemberState.Suspect);
    suspicionTick(self.now + 3_600_000);
    expect(m.state).toBe(MemberState.Dead);
    // The DEAD we broadcast names us and carries our signature: another core takes it as ours.
    w.begin(buf, 1400);
    expect(broadcastFill(w)).toBeGreaterThan(0);
    const len = w.finish();
    let found = false;
    for (let off: u32 = 0; off + ACCUSE_LEN <= len; off++) {
      if (load<u8>(buf + off) == MSG_DEAD && getU64(buf + off + 5) == 720 && getU64(buf + off + 13) == self.id) {
        expect(memory.compare(buf + off + 21, accusationTrailer(MSG_DEAD, 1, 720, self.id), CLAIM_LEN)).toBe(0);
        found = true;
      }
    }
    expect(found).toBe(true);
  });

  it("takes no accusation from a push-pull's member states, but refutes its own", () => {
    startMember();
    membershipMessage(addr, buf, aliveMsg(buf, 1, 730));
    const me = memberById(self.id)!;
    const inc = me.incarnation;
    store<u8>(buf, MSG_PUSH_PULL);
    store<u8>(buf + 1, 1);
    putU64(buf + 2, 731);
    putU16(buf + 10, 0);
    const off = PUSH_PULL_SECTIONS;
    store<u8>(buf + off, SECTION_MEMBERS);
    store<u8>(buf + off + 3, <u8>MemberState.Dead);
    let n = signedInfo(buf + off + 4, 512, 1, 730, addr, 1, 0, name, 5);
    store<u8>(buf + off + 4 + n, <u8>MemberState.Suspect);
    n += 1 + signedInfo(buf + off + 5 + n, 512, inc, self.id, self.addr, 1, 0, name, 5);
    putU16(buf + off + 1, <u16>(n + 1));
    membershipMessage(addr, buf, off + 3 + 1 + n);
    expect(memberById(730)!.state).toBe(MemberState.Alive);
    expect(me.incarnation).toBeGreaterThan(inc);
  });
});

describe("broadcast queue", () => {
  it("sends each update retransmitLimit times, newest first, and replaces by key", () => {
    startMember();
    drain();
    store<u8>(buf + 100, 0x20);
    putU32(buf + 101, 1);
    broadcastEnqueue(buf + 100, 5, BROADCAST_SPACE_MEMBER, 9);
    putU32(buf + 101, 2);
    broadcastEnqueue(buf + 100, 5, BROADCAST_SPACE_MEMBER, 9); // replaces the first
    putU32(buf + 101, 3);
    broadcastEnqueue(buf + 100, 5, BROADCAST_SPACE_NONE, 9);
    expect(broadcastPending()).toBe(2);
    w.begin(buf, 1400);
    expect(broadcastFill(w)).toBe(2);
    // Compound layout: version, type, count, reserved, then (u16 len, message)*: newest first.
    expect(load<u8>(buf + 2)).toBe(2);
    expect(bswap<u32>(load<u32>(buf + 4 + 2 + 1))).toBe(3);
    expect(bswap<u32>(load<u32>(buf + 4 + 7 + 2 + 1))).toBe(2);
    let sends = 1;
    while (broadcastPending() > 0) {
      w.begin(buf, 1400);
      expect(broadcastFill(w)).toBe(2);
      sends++;
    }
    expect(sends).toBe(retransmitLimit(memberCount()));
  });

  it("never puts more in a datagram than fits", () => {
    startMember();
    drain();
    for (let i = 0; i < 100; i++) broadcastEnqueue(buf, 100, BROADCAST_SPACE_NONE, 0);
    w.begin(buf + 1024, 600);
    const n = broadcastFill(w);
    expect(n).toBe(5); // 4 header bytes + 5 * (2 + 100) <= 600 < 4 + 6 * 102
    drain();
  });
});

describe("lifeguard", () => {
  it("keeps awareness within [0, max - 1] and scales timeouts by score + 1", () => {
    awarenessApply(-100);
    expect(awarenessScore()).toBe(0);
    expect(awarenessScale(500)).toBe(500);
    awarenessApply(100);
    expect(awarenessScore()).toBe(config.awarenessMaxMultiplier - 1);
    expect(awarenessScale(500)).toBe(500 * <f64>config.awarenessMaxMultiplier);
    awarenessApply(-100);
  });

  it("shrinks the suspicion timeout from max to min with confirmations", () => {
    expect(suspicionTimeoutAfter(0, 2, 8000, 48000)).toBe(48000);
    expect(suspicionTimeoutAfter(2, 2, 8000, 48000)).toBe(8000);
    const one = suspicionTimeoutAfter(1, 2, 8000, 48000);
    expect(one).toBeGreaterThan(8000);
    expect(one).toBeLessThan(48000);
  });
});

describe("membership config", () => {
  it("loads the WAN and LAN profiles and refuses out-of-range values", () => {
    expect(configSet(Key.MembershipProfile, 1)).toBe(true);
    expect(config.probeIntervalMs).toBe(5000);
    expect(config.suspicionMult).toBe(6);
    expect(configSet(Key.MembershipProfile, 3)).toBe(false);
    expect(configSet(Key.ProbeIntervalMs, 0)).toBe(false);
    expect(configSet(Key.GossipNodes, 2.5)).toBe(false);
    expect(configSet(Key.MembershipProfile, 0)).toBe(true);
    expect(config.probeIntervalMs).toBe(1000);
    expect(config.gossipIntervalMs).toBe(200);
  });
});
