import { ADDR_SLOT, IN_DATAGRAM, REC_HEADER, REC_KIND, REC_LEN } from "../../assembly/abi";
import { config } from "../../assembly/config";
import { input_ptr, process } from "../../assembly/index";
import { MAC_LOCAL, MAC_REMOTE, age, learnLocal, lookup, macFind, macReset, slotKind, slotSeen, slotVersion } from "../../assembly/mactable";
import { self } from "../../assembly/node";
import { Stat, statValue } from "../../assembly/stats";
import { getMac, getU16, getU32, getU64 } from "../../assembly/wire/bytes";
import { WIRE_VERSION } from "../../assembly/wire/divs";
import {
  MACMSG_AGE, MACMSG_COPY_LEN, MACMSG_FLAGS, MACMSG_LEN, MACMSG_MAC, MACMSG_OWNER, MACMSG_VERSION, MACMSG_VLAN,
  MAC_FROM_OWNER, MSG_MAC_UPDATE, macCopyEncode, macMsgApply, macMsgDecode, macMsgEncode, macUpdate,
} from "../../assembly/wire/macmsg";

import { membershipMessage } from "../../assembly/membership/membership";
import { memberAddr, msgBuf, signedAlive, signedMacUpdate, startMember } from "./member-helpers";

const buf = heap.alloc(160);
const MAC: u64 = 0x0a1b_2c3d_4e5f;

describe("MAC_UPDATE codec", () => {
  it("round-trips every field, big-endian, at the documented offsets", () => {
    expect(macMsgEncode(buf, 160, MAC, 0x0abc, 0x0102_0304_0506_0708, 0x1122_3344, MAC_FROM_OWNER)).toBe(MACMSG_LEN);
    expect(load<u8>(buf)).toBe(MSG_MAC_UPDATE);
    expect(getU16(buf + MACMSG_VLAN)).toBe(0x0abc);
    expect(load<u8>(buf + MACMSG_VLAN)).toBe(0x0a); // most significant byte first
    expect(getMac(buf + MACMSG_MAC)).toBe(MAC);
    expect(load<u8>(buf + MACMSG_MAC)).toBe(0x0a);
    expect(getU64(buf + MACMSG_OWNER)).toBe(0x0102_0304_0506_0708);
    expect(getU32(buf + MACMSG_VERSION)).toBe(0x1122_3344);
    expect(macMsgDecode(buf, MACMSG_LEN)).toBe(true);
    expect(macUpdate.mac).toBe(MAC);
    expect(macUpdate.vlan).toBe(0x0abc);
    expect(macUpdate.owner).toBe(0x0102_0304_0506_0708);
    expect(macUpdate.version).toBe(0x1122_3344);
  });

  it("refuses to encode into a buffer that is too small", () => {
    store<u8>(buf, 0);
    expect(macMsgEncode(buf, MACMSG_LEN - 1, MAC, 1, 2, 3, MAC_FROM_OWNER)).toBe(0);
    expect(load<u8>(buf)).toBe(0);
  });

  it("rejects every truncation, another type, and impossible claims", () => {
    macMsgEncode(buf, 160, MAC, 1, 2, 3, MAC_FROM_OWNER);
    for (let n: u32 = 0; n < MACMSG_LEN; n++) expect(macMsgDecode(buf, n)).toBe(false);
    expect(macMsgDecode(buf, 160)).toBe(true); // trailing bytes are for later versions
    store<u8>(buf, MSG_MAC_UPDATE + 1);
    expect(macMsgDecode(buf, MACMSG_LEN)).toBe(false);
    macMsgEncode(buf, 160, MAC, 4096, 2, 3, MAC_FROM_OWNER);
    expect(macMsgDecode(buf, MACMSG_LEN)).toBe(false);
    macMsgEncode(buf, 160, 0x0100_0000_0001, 1, 2, 3, MAC_FROM_OWNER); // group MAC
    expect(macMsgDecode(buf, MACMSG_LEN)).toBe(false);
    macMsgEncode(buf, 160, 0, 1, 2, 3, MAC_FROM_OWNER);
    expect(macMsgDecode(buf, MACMSG_LEN)).toBe(false);
    macMsgEncode(buf, 160, MAC, 1, 0, 3, MAC_FROM_OWNER);
    expect(macMsgDecode(buf, MACMSG_LEN)).toBe(false);
    macMsgEncode(buf, 160, MAC, 1, 2, 0, MAC_FROM_OWNER);
    expect(macMsgDecode(buf, MACMSG_LEN)).toBe(false);
  });

  it("carries the FROM_OWNER flag, ignores unknown flag bits, and reads the optional age", () => {
    macMsgEncode(buf, 160, MAC, 1, 2, 3, 0xff);
    expect(macMsgDecode(buf, MACMSG_LEN)).toBe(true);
    expect(macUpdate.flags).toBe(MAC_FROM_OWNER);
    expect(macUpdate.hasAge).toBe(false);
    expect(macUpdate.age).toBe(0);
    expect(macCopyEncode(buf, MACMSG_COPY_LEN - 1, MAC, 1, 2, 3, 0, 5)).toBe(0);
    expect(macCopyEncode(buf, 160, MAC, 1, 2, 3, 0, 0x0102_0304)).toBe(MACMSG_COPY_LEN);
    expect(load<u8>(buf + MACMSG_FLAGS)).toBe(0);
    expect(getU32(buf + MACMSG_AGE)).toBe(0x0102_0304);
    expect(macMsgDecode(buf, MACMSG_COPY_LEN)).toBe(true);
    expect(macUpdate.flags).toBe(0);
    expect(macUpdate.hasAge).toBe(true);
    expect(macUpdate.age).toBe(0x0102_0304);
    expect(macMsgDecode(buf, MACMSG_COPY_LEN - 1)).toBe(true); // a cut age is read as no age
    expect(macUpdate.hasAge).toBe(false);
  });

  it("survives random bytes and only accepts valid claims", () => {
    let x: u32 = 0x9e37_79b9;
    let accepted = 0;
    for (let round = 0; round < 5000; round++) {
      for (let i = 0; i < 128; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        store<u8>(buf + i, <u8>x);
      }
      store<u8>(buf, MSG_MAC_UPDATE);
      if (round & 1) store<u8>(buf + MACMSG_VLAN, 0); // half with a plausible VLAN
      if (macMsgDecode(buf, MACMSG_LEN - 4 + <u32>(x % 12))) {
        accepted++;
        expect(macUpdate.vlan).toBeLessThanOrEqual(4095);
        expect(macUpdate.owner).not.toBe(0);
        expect(macUpdate.mac & 0x0100_0000_0000).toBe(0);
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });
});

describe("applying MAC_UPDATE", () => {
  beforeEach(() => {
    self.id = 1;
    config.macCapacity = 64;
    macReset();
  });

  it("feeds the table through the version rule and counts garbage", () => {
    macMsgEncode(buf, 160, MAC, 3, 7, 2, MAC_FROM_OWNER);
    expect(macMsgApply(buf, MACMSG_LEN, 0)).toBe(true);
    expect(lookup(MAC, 3)).toBe(7);
    macMsgEncode(buf, 160, MAC, 3, 9, 1, MAC_FROM_OWNER);
    expect(macMsgApply(buf, MACMSG_LEN, 0)).toBe(false);
    expect(lookup(MAC, 3)).toBe(7);
    const malformed = statValue(Stat.MacUpdateMalformed);
    expect(macMsgApply(buf, MACMSG_LEN - 1, 0)).toBe(false);
    expect(statValue(Stat.MacUpdateMalformed) - malformed).toBe(1);
  });

  it("refreshes an entry only on the owner's word; a copy installs as old as its age and refreshes nothing", () => {
    config.macAgeingMs = 300_000;
    macMsgEncode(buf, 160, MAC, 3, 7, 2, MAC_FROM_OWNER);
    macMsgApply(buf, MACMSG_LEN, 1000);
    // A copy of the same (owner, version), however fresh, leaves the time alone.
    macCopyEncode(buf, 160, MAC, 3, 7, 2, 0, 0);
    expect(macMsgApply(buf, MACMSG_COPY_LEN, 50_000)).toBe(false);
    expect(slotSeen(macFind(MAC, 3))).toBe(1000);
    // The owner's refresh moves it.
    macMsgEncode(buf, 160, MAC, 3, 7, 2, MAC_FROM_OWNER);
    macMsgApply(buf, MACMSG_LEN, 60_000);
    expect(slotSeen(macFind(MAC, 3))).toBe(60_000);
    // An unknown entry from a copy dates from when its owner last refreshed it ...
    macCopyEncode(buf, 160, MAC + 1, 3, 7, 2, 0, 250_000);
    expect(macMsgApply(buf, MACMSG_COPY_LEN, 260_000)).toBe(true);
    expect(slotSeen(macFind(MAC + 1, 3))).toBe(10_000);
    expect(slotKind(macFind(MAC + 1, 3))).toBe(MAC_REMOTE);
    // ... so it ages out when it would have where it came from,
    age(310_001, 1 << 20);
    expect(macFind(MAC + 1, 3)).toBe(-1);
    // and a copy already past the ageing time is not taken at all.
    macCopyEncode(buf, 160, MAC + 2, 3, 7, 2, 0, 300_000);
    expect(macMsgApply(buf, MACMSG_COPY_LEN, 400_000)).toBe(false);
    expect(macFind(MAC + 2, 3)).toBe(-1);
    // A newer version from a copy moves the entry, dated by its age.
    macCopyEncode(buf, 160, MAC, 3, 9, 3, 0, 1000);
    expect(macMsgApply(buf, MACMSG_COPY_LEN, 100_000)).toBe(true);
    expect(lookup(MAC, 3)).toBe(9);
    expect(slotSeen(macFind(MAC, 3))).toBe(99_000);
    // A claim naming us is not taken for a MAC we do not see (it must age away elsewhere) ...
    macCopyEncode(buf, 160, MAC + 3, 0, self.id, 4, 0, 0);
    expect(macMsgApply(buf, MACMSG_COPY_LEN, 100_000)).toBe(false);
    expect(macFind(MAC + 3, 0)).toBe(-1);
    // ... and only raises the version of one we do, keeping when our TAP last saw it.
    learnLocal(MAC + 3, 0, 90_000);
    expect(macMsgApply(buf, MACMSG_COPY_LEN, 100_000)).toBe(true);
    const s = macFind(MAC + 3, 0);
    expect(slotKind(s)).toBe(MAC_LOCAL);
    expect(slotVersion(s)).toBe(4);
    expect(slotSeen(s)).toBe(90_000);
    expect(macMsgApply(buf, MACMSG_COPY_LEN, 100_000)).toBe(false);
  });

  it("arrives through process() as an IN_DATAGRAM, signed by its owner", () => {
    self.id = 0; // this file's specs set an id without starting membership
    startMember();
    membershipMessage(memberAddr, msgBuf, signedAlive(1, 42));
    const rec = input_ptr();
    const dg = rec + REC_HEADER + ADDR_SLOT;
    store<u8>(dg, WIRE_VERSION);
    signedMacUpdate(dg + 1, 160, MAC, 0, 42, 5, MAC_FROM_OWNER);
    store<u16>(rec + REC_KIND, IN_DATAGRAM);
    store<u32>(rec + REC_LEN, ADDR_SLOT + 1 + MACMSG_LEN);
    process(REC_HEADER + ADDR_SLOT + 1 + MACMSG_LEN, 1000);
    expect(lookup(MAC, 0)).toBe(42);
    expect(slotVersion(macFind(MAC, 0))).toBe(5);
  });
});
