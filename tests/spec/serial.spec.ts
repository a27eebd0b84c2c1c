// Serial-number arithmetic (assembly/serial.ts) and what it buys (issue 16, finding 1): no incarnation
// or version is pushed to a value that sticks.
import { self } from "../../assembly/node";
import { Stat, statValue } from "../../assembly/stats";
import { nextVersion, serialNewer } from "../../assembly/serial";
import { applyRemote, macFind, slotOwner } from "../../assembly/mactable";
import { MSG_DEAD, MSG_SUSPECT } from "../../assembly/membership/codec";
import { membershipMessage } from "../../assembly/membership/membership";
import { MemberState, memberById } from "../../assembly/membership/state";
import { memberAddr, msgBuf, signedAccusation, signedAlive, startMember } from "./member-helpers";

const buf = msgBuf;
const addr = memberAddr;

function alive(inc: u32, id: u64): void {
  membershipMessage(addr, buf, signedAlive(inc, id));
}

function accuse(type: u8, inc: u32, id: u64, from: u64): void {
  membershipMessage(addr, buf, signedAccusation(buf, 256, type, inc, id, from));
}

describe("serial arithmetic", () => {
  it("orders across the wrap and has no greatest value", () => {
    expect(serialNewer(1, 0)).toBe(true);
    expect(serialNewer(0, 0xffffffff)).toBe(true);
    expect(serialNewer(0xffffffff, 0)).toBe(false);
    expect(serialNewer(5, 5)).toBe(false);
    expect(serialNewer(0x7fffffff, 0)).toBe(true);
    expect(serialNewer(0x80000000, 0)).toBe(false); // 2^31 apart: neither is newer
    for (let v: u32 = 0xfffffff0; v != 0x10; v++) expect(serialNewer(nextVersion(v), v)).toBe(true);
    expect(nextVersion(0xffffffff)).toBe(1); // 0 is "no version"
  });
});

describe("finding 1: forged accusations and claims do not stick", () => {
  it("a DEAD about us at 0xFFFFFFFF is stale, and a refutation past the wrap is newer", () => {
    startMember();
    const me = memberById(self.id)!;
    const before = me.incarnation;
    accuse(MSG_DEAD, 0xffffffff, self.id, 666); // older than ours in serial order
    expect(me.state).toBe(MemberState.Alive);
    expect(me.incarnation).toBe(before);
    // Forged ALIVEs about us, each ahead of ours (less than 2^31 on): each refuted one above it.
    alive(before + 0x7ffffff0, self.id);
    alive(before + 0xfffffff0 - 0x10, self.id);
    alive(0xfffffffe, self.id);
    expect(me.incarnation).toBe(0xffffffff);
    accuse(MSG_DEAD, 0xffffffff, self.id, 666);
    expect(me.state).toBe(MemberState.Alive);
    expect(me.incarnation).toBe(0); // accused + 1 wraps, and is newer
    expect(serialNewer(me.incarnation, 0xffffffff)).toBe(true);
  });

  it("an accusation ahead of the member's last ALIVE is refused; at its incarnation it counts, and the refutation wins", () => {
    startMember();
    alive(10, 77);
    const m = memberById(77)!;
    const ahead = statValue(Stat.MemberAccusationAhead);
    accuse(MSG_DEAD, 1010, 77, 666);
    expect(m.state).toBe(MemberState.Alive);
    expect(m.incarnation).toBe(10);
    expect(statValue(Stat.MemberAccusationAhead)).toBe(ahead + 1);
    accuse(MSG_SUSPECT, 11, 77, 666);
    expect(m.state).toBe(MemberState.Alive);
    accuse(MSG_DEAD, 10, 77, 77); // it leaves (on its own word)
    expect(m.state).toBe(MemberState.Left);
    alive(11, 77); // its refutation
    expect(m.state).toBe(MemberState.Alive);
    expect(m.incarnation).toBe(11);
  });

  it("an ALIVE past the wrap is newer; an older incarnation is not", () => {
    startMember();
    alive(0xfffffffe, 78);
    const m = memberById(78)!;
    alive(3, 78);
    expect(m.incarnation).toBe(3);
    alive(0xfffffffe, 78);
    expect(m.incarnation).toBe(3);
  });

  it("a MAC claim at the highest version and owner is beaten by the next claim", () => {
    const mac: u64 = 0x020000000042;
    expect(applyRemote(mac, 0, 0xffffffffffffffff, 0xffffffff, 1000)).toBe(true);
    expect(applyRemote(mac, 0, 5, 1, 1001)).toBe(true); // the next version after the maximum
    expect(slotOwner(macFind(mac, 0))).toBe(5);
    expect(applyRemote(mac, 0, 0xffffffffffffffff, 0xffffffff, 1002)).toBe(false); // now stale
    expect(slotOwner(macFind(mac, 0))).toBe(5);
  });
});
