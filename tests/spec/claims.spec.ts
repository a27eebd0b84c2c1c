// Signed member claims (assembly/claims.ts): an ALIVE is news only when its member signed it. The
// specs run with the stand-in signatures of tests/fixtures/claims-stub.mjs, which check the same
// things the host's Ed25519 does here: the claim is intact and signed as the node id it names.
import { CLAIM_LEN } from "../../assembly/claims";
import { self } from "../../assembly/node";
import { Stat, statValue } from "../../assembly/stats";
import { INFO_ID, INFO_NAME } from "../../assembly/membership/codec";
import { membershipMessage } from "../../assembly/membership/membership";
import { memberById } from "../../assembly/membership/state";
import { putU64 } from "../../assembly/wire/bytes";
import { memberAddr, msgBuf, signedAlive, startMember } from "./member-helpers";

const buf = msgBuf;
const addr = memberAddr;

describe("signed member claims", () => {
  it("learns a member from its signed ALIVE and keeps the signature to pass on", () => {
    startMember();
    membershipMessage(addr, buf, signedAlive(1, 41));
    expect(memberById(41) != null).toBe(true);
    const m = memberById(41)!;
    expect(memory.compare(m.claim, buf + 1 + INFO_NAME + 4, CLAIM_LEN)).toBe(0);
  });

  it("refuses an ALIVE changed after signing, or signed as another node id", () => {
    startMember();
    const bad = statValue(Stat.MemberBadSignature);
    let n = signedAlive(1, 42);
    store<u8>(buf + 1 + INFO_NAME, 0x64); // the name, after signing
    membershipMessage(addr, buf, n);
    expect(memberById(42) == null).toBe(true);
    n = signedAlive(1, 43);
    putU64(buf + 1 + INFO_ID, 44); // a claim of 43's, relabelled as 44's
    membershipMessage(addr, buf, n);
    expect(memberById(44) == null).toBe(true);
    expect(statValue(Stat.MemberBadSignature)).toBe(bad + 2);
  });

  it("a forged ALIVE cannot move a member's incarnation; its own newer one does", () => {
    startMember();
    membershipMessage(addr, buf, signedAlive(5, 45));
    const n = signedAlive(9, 45);
    store<u8>(buf + n - 1, load<u8>(buf + n - 1) ^ 1); // signature broken
    membershipMessage(addr, buf, n);
    expect(memberById(45)!.incarnation).toBe(5);
    membershipMessage(addr, buf, signedAlive(9, 45));
    expect(memberById(45)!.incarnation).toBe(9);
  });

  it("refutes its own ALIVE from before a restart, not a forged one about it", () => {
    startMember();
    const me = memberById(self.id)!;
    const before = me.incarnation;
    const n = signedAlive(before + 5, self.id);
    store<u8>(buf + n - 1, load<u8>(buf + n - 1) ^ 1);
    membershipMessage(addr, buf, n);
    expect(me.incarnation).toBe(before);
    membershipMessage(addr, buf, signedAlive(before + 5, self.id)); // ours, signed (by our previous run)
    expect(me.incarnation).toBe(before + 6);
  });
});
