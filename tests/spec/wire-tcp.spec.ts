import { WireCheck } from "../../assembly/wire/check";
import { getU16 } from "../../assembly/wire/bytes";
import { onesFinish, onesSum } from "../../assembly/wire/checksum";
import {
  TCP_CHECKSUM, tcpCheck, tcpFillChecksum, tcpFlags, tcpHeaderLen, tcpMssOffset, tcpReplaceU16, tcpSeq,
} from "../../assembly/wire/tcp";
import { atMemoryEnd, ptr, sweepTruncations } from "./wire-helpers";

// A SYN: ports 40000 -> 5201, seq 0x01020304, data offset 7 (28 bytes), options NOP, MSS 1460, NOP NOP NOP, then 4 payload bytes.
const SYN: StaticArray<u8> = [
  0x9c, 0x40, 0x14, 0x51, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0x70, 0x02, 0xfa, 0xf0,
  0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x01, 0xde, 0xad, 0xbe, 0xef,
];

describe("TCP view", () => {
  it("checks every truncation: the header its data offset names must fit", () => {
    sweepTruncations(SYN, 0, 28, tcpCheck, (p: usize, len: u32) => {
      expect(tcpHeaderLen(p)).toBe(28);
      expect(tcpSeq(p)).toBe(0x01020304);
      expect(tcpFlags(p)).toBe(0x02);
      expect(tcpMssOffset(p)).toBe(23); // after a NOP: an odd offset
    });
  });

  it("refuses a data offset below 5 words", () => {
    const p = atMemoryEnd(ptr(SYN), 32);
    store<u8>(p + 12, 0x40);
    expect(tcpCheck(p, 32)).toBe(WireCheck.Malformed);
  });

  it("finds no MSS in options that run past the header", () => {
    const p = atMemoryEnd(ptr(SYN), 32);
    store<u8>(p + 21, 2);
    store<u8>(p + 22, 9); // a length past the header
    expect(tcpMssOffset(p)).toBe(0);
  });

  it("updates the checksum incrementally at even and odd offsets as a full recomputation would", () => {
    const pseudo: u32 = 0x1234;
    for (let at: u32 = 22; at < 24; at++) {
      const p = atMemoryEnd(ptr(SYN), 32);
      tcpFillChecksum(p, 32, pseudo);
      tcpReplaceU16(p, at, 0x0539);
      const incremental = getU16(p + TCP_CHECKSUM);
      tcpFillChecksum(p, 32, pseudo);
      expect(incremental).toBe(getU16(p + TCP_CHECKSUM));
      expect(onesFinish(onesSum(p, 32, pseudo))).toBe(0);
    }
  });
});
