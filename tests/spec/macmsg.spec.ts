import { ADDR_SLOT, IN_DATAGRAM, REC_HEADER, REC_KIND, REC_LEN } from "../../assembly/abi";
import { config } from "../../assembly/config";
import { input_ptr, process } from "../../assembly/index";
import { applyRemote, learnLocal, lookup, macFind, macReset, pendingAnnouncements, slotVersion } from "../../assembly/mactable";
import { self } from "../../assembly/node";
import { Stat, statValue } from "../../assembly/stats";
import { getMac, getU16, getU32, getU64 } from "../../assembly/wire/bytes";
import { CompoundReader, CompoundWriter, DG_MESSAGE, WIRE_VERSION } from "../../assembly/wire/divs";
import {
  MACMSG_LEN, MACMSG_MAC, macAnnounceInto, macRefreshInto, MACMSG_OWNER, MACMSG_VERSION, MACMSG_VLAN, MSG_MAC_UPDATE, macMsgApply, macMsgDecode,
  macMsgEncode, macUpdate,
} from "../../assembly/wire/macmsg";

const buf = heap.alloc(64);
const MAC: u64 = 0x0a1b_2c3d_4e5f;

describe("MAC_UPDATE codec", () => {
  it("round-trips every field, big-endian, at the documented offsets", () => {
    expect(macMsgEncode(buf, 64, MAC, 0x0abc, 0x0102_0304_0506_0708, 0x1122_3344)).toBe(MACMSG_LEN);
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
    expect(macMsgEncode(buf, MACMSG_LEN - 1, MAC, 1, 2, 3)).toBe(0);
    expect(load<u8>(buf)).toBe(0);
  });

  it("rejects every truncation, another type, and impossible claims", () => {
    macMsgEncode(buf, 64, MAC, 1, 2, 3);
    for (let n: u32 = 0; n < MACMSG_LEN; n++) expect(macMsgDecode(buf, n)).toBe(false);
    expect(macMsgDecode(buf, 64)).toBe(true); // trailing bytes are for later versions
    store<u8>(buf, MSG_MAC_UPDATE + 1);
    expect(macMsgDecode(buf, MACMSG_LEN)).toBe(false);
    macMsgEncode(buf, 64, MAC, 4096, 2, 3);
    expect(macMsgDecode(buf, MACMSG_LEN)).toBe(false);
    macMsgEncode(buf, 64, 0x0100_0000_0001, 1, 2, 3); // group MAC
    expect(macMsgDecode(buf, MACMSG_LEN)).toBe(false);
    macMsgEncode(buf, 64, 0, 1, 2, 3);
    expect(macMsgDecode(buf, MACMSG_LEN)).toBe(false);
    macMsgEncode(buf, 64, MAC, 1, 0, 3);
    expect(macMsgDecode(buf, MACMSG_LEN)).toBe(false);
    macMsgEncode(buf, 64, MAC, 1, 2, 0);
    expect(macMsgDecode(buf, MACMSG_LEN)).toBe(false);
  });

  it("survives random bytes and only accepts valid claims", () => {
    let x: u32 = 0x9e37_79b9;
    let accepted = 0;
    for (let round = 0; round < 5000; round++) {
      for (let i = 0; i < 24; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        store<u8>(buf + i, <u8>x);
      }
      store<u8>(buf, MSG_MAC_UPDATE);
      if (round & 1) store<u8>(buf + MACMSG_VLAN, 0); // half with a plausible VLAN
      if (macMsgDecode(buf, <u32>(x % 30))) {
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
    macMsgEncode(buf, 64, MAC, 3, 7, 2);
    expect(macMsgApply(buf, MACMSG_LEN, 0)).toBe(true);
    expect(lookup(MAC, 3)).toBe(7);
    macMsgEncode(buf, 64, MAC, 3, 9, 1);
    expect(macMsgApply(buf, MACMSG_LEN, 0)).toBe(false);
    expect(lookup(MAC, 3)).toBe(7);
    const malformed = statValue(Stat.MacUpdateMalformed);
    expect(macMsgApply(buf, MACMSG_LEN - 1, 0)).toBe(false);
    expect(statValue(Stat.MacUpdateMalformed) - malformed).toBe(1);
  });

  it("arrives through process() as an IN_DATAGRAM", () => {
    const rec = input_ptr();
    const dg = rec + REC_HEADER + ADDR_SLOT;
    store<u8>(dg, WIRE_VERSION);
    macMsgEncode(dg + 1, 64, MAC, 0, 42, 5);
    store<u16>(rec + REC_KIND, IN_DATAGRAM);
    store<u32>(rec + REC_LEN, ADDR_SLOT + 1 + MACMSG_LEN);
    process(REC_HEADER + ADDR_SLOT + 1 + MACMSG_LEN, 1000);
    expect(lookup(MAC, 0)).toBe(42);
    expect(slotVersion(macFind(MAC, 0))).toBe(5);
  });
});

const dgBuf = heap.alloc(2048);
const writer = new CompoundWriter();
const reader = new CompoundReader();

/** Decode every MAC_UPDATE in the datagram in dgBuf, checking each is ours; returns how many. */
function readBack(len: u32): i32 {
  let n = 0;
  if (load<u8>(dgBuf + DG_MESSAGE) == MSG_MAC_UPDATE) {
    expect(macMsgDecode(dgBuf + DG_MESSAGE, len - DG_MESSAGE)).toBe(true);
    return 1;
  }
  reader.reset(dgBuf + DG_MESSAGE, len - DG_MESSAGE);
  while (reader.next()) {
    if (!macMsgDecode(reader.ptr, reader.len) || macUpdate.owner != 1 || lookup(macUpdate.mac, macUpdate.vlan) != 1) {
      expect(false).toBe(true);
    }
    n++;
  }
  expect(reader.malformed).toBe(false);
  return n;
}

describe("filling compound datagrams", () => {
  beforeEach(() => {
    self.id = 1;
    config.macCapacity = 1024;
    macReset();
  });

  it("drains announcements only as far as they fit", () => {
    for (let i: u64 = 1; i <= 100; i++) learnLocal(0x0200_0000_0000 + i, 0, 0);
    writer.begin(dgBuf, 500);
    const first = macAnnounceInto(writer);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(100);
    expect(pendingAnnouncements()).toBe(100 - first);
    expect(readBack(writer.finish())).toBe(first);
    let total = first;
    while (pendingAnnouncements() > 0) {
      writer.begin(dgBuf, 500);
      const n = macAnnounceInto(writer);
      expect(n).toBeGreaterThan(0);
      expect(readBack(writer.finish())).toBe(n);
      total += n;
    }
    expect(total).toBe(100);
  });

  it("cycles through every local entry for refresh, skipping remote ones", () => {
    for (let i: u64 = 1; i <= 60; i++) learnLocal(0x0200_0000_0000 + i, 0, 0);
    for (let i: u64 = 1; i <= 40; i++) applyRemote(0x0400_0000_0000 + i, 0, 7, 1, 0);
    let from = 0;
    let total = 0;
    let datagrams = 0;
    do {
      writer.begin(dgBuf, 300);
      from = macRefreshInto(writer, from);
      total += readBack(writer.finish());
      datagrams++;
    } while (from != 0);
    expect(total).toBe(60);
    expect(datagrams).toBeGreaterThan(1);
  });
});
