import { WireCheck } from "../../assembly/wire/check";
import { onesFinish, onesSum } from "../../assembly/wire/checksum";
import {
  IPV4_CHECKSUM, IPV4_HEADER_LEN, IPV4_TOTAL_LEN, IPV4_VER_IHL, IP_PROTO_ICMP, IP_PROTO_UDP,
  ipv4Check, ipv4ChecksumField, ipv4ChecksumValid, ipv4Dst, ipv4Emit, ipv4FillChecksum, ipv4HeaderLen,
  ipv4Ident, ipv4IsFragment, ipv4PayloadLen, ipv4Protocol, ipv4Src, ipv4TotalLen, ipv4Ttl,
} from "../../assembly/wire/ipv4";
import { putU16 } from "../../assembly/wire/bytes";
import { ICMP_0, ICMP_1, QINQ_0, UDP_0, VLAN_0 } from "./fixtures";
import { atMemoryEnd, ip4, memoryEnd, ptr, sweepTruncations } from "./wire-helpers";

function touchIpv4(p: usize, len: u32): void {
  ipv4HeaderLen(p); ipv4TotalLen(p); ipv4PayloadLen(p); ipv4Ttl(p); ipv4Protocol(p);
  ipv4Src(p); ipv4Dst(p); ipv4Ident(p); ipv4IsFragment(p); ipv4ChecksumValid(p);
}

describe("wire: internet checksum", () => {
  it("sums the RFC 1071 example to 0xddf2", () => {
    const b: StaticArray<u8> = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
    expect(onesSum(ptr(b), 8, 0)).toBe(0xddf2);
    expect(onesFinish(onesSum(ptr(b), 8, 0))).toBe(0x220d);
  });

  it("pads an odd last byte with zero and adds the initial sum", () => {
    const b: StaticArray<u8> = [0x12, 0x34, 0x56];
    expect(onesSum(ptr(b), 3, 0)).toBe(0x1234 + 0x5600);
    expect(onesSum(ptr(b), 1, 0)).toBe(0x1200);
    expect(onesSum(ptr(b), 2, 0xffff)).toBe(0x1234); // 0x1234 + 0xffff folds back
  });

  it("reads no byte past the length", () => {
    const b: StaticArray<u8> = [1, 2, 3, 4, 5, 6, 7];
    for (let k: u32 = 0; k <= 7; k++) onesSum(atMemoryEnd(ptr(b), k), k, 0);
  });
});

describe("wire: ipv4 golden frames", () => {
  it("reads ping's echo request 198.18.0.1 > 198.18.0.3", () => {
    const p = ptr(ICMP_0) + 14;
    expect(ipv4Check(p, ICMP_0.length - 14)).toBe(WireCheck.Ok);
    expect(ipv4HeaderLen(p)).toBe(20);
    expect(ipv4TotalLen(p)).toBe(84);
    expect(ipv4PayloadLen(p)).toBe(64);
    expect(ipv4Ttl(p)).toBe(64);
    expect(ipv4Protocol(p)).toBe(IP_PROTO_ICMP);
    expect(ipv4Src(p)).toBe(ip4(198, 18, 0, 1));
    expect(ipv4Dst(p)).toBe(ip4(198, 18, 0, 3));
    expect(ipv4IsFragment(p)).toBe(false);
    expect(ipv4ChecksumValid(p)).toBe(true);
    // ICMP's own checksum covers the ICMP message with the same sum.
    expect(onesFinish(onesSum(p + 20, 64, 0))).toBe(0);
  });

  it("reads the packets inside VLAN 100 and QinQ and UDP", () => {
    const v = ptr(VLAN_0) + 18;
    expect(ipv4Check(v, VLAN_0.length - 18)).toBe(WireCheck.Ok);
    expect(ipv4Src(v)).toBe(ip4(198, 18, 1, 1));
    expect(ipv4Dst(v)).toBe(ip4(198, 18, 1, 3));
    expect(ipv4ChecksumValid(v)).toBe(true);
    const q = ptr(QINQ_0) + 22;
    expect(ipv4Check(q, QINQ_0.length - 22)).toBe(WireCheck.Ok);
    expect(ipv4Dst(q)).toBe(ip4(198, 18, 1, 3));
    expect(ipv4ChecksumValid(q)).toBe(true);
    const u = ptr(UDP_0) + 14;
    expect(ipv4Check(u, UDP_0.length - 14)).toBe(WireCheck.Ok);
    expect(ipv4Protocol(u)).toBe(IP_PROTO_UDP);
    expect(ipv4TotalLen(u)).toBe(40);
    expect(ipv4ChecksumValid(u)).toBe(true);
  });

  it("recomputes the checksum the kernel sent", () => {
    const p = atMemoryEnd(ptr(ICMP_1) + 14, 84);
    const sent = ipv4ChecksumField(p);
    expect(sent).not.toBe(0);
    putU16(p + IPV4_CHECKSUM, 0);
    expect(ipv4ChecksumValid(p)).toBe(false);
    ipv4FillChecksum(p);
    expect(ipv4ChecksumField(p)).toBe(sent);
  });

  it("notices any flipped header bit", () => {
    for (let bit: u32 = 0; bit < 160; bit++) {
      const p = atMemoryEnd(ptr(ICMP_0) + 14, 84);
      const mask = <u8>(<u32>1 << (bit & 7));
      store<u8>(p + (bit >> 3), load<u8>(p + (bit >> 3)) ^ mask);
      expect(ipv4ChecksumValid(p)).toBe(false);
    }
  });
});

describe("wire: ipv4 checks", () => {
  it("rejects every cut of the packet its total length names", () => {
    sweepTruncations(ICMP_0, 14, 84, ipv4Check, touchIpv4);
    sweepTruncations(UDP_0, 14, 40, ipv4Check, touchIpv4);
  });

  it("rejects other versions", () => {
    const p = atMemoryEnd(ptr(ICMP_0) + 14, 84);
    store<u8>(p + IPV4_VER_IHL, 0x65);
    expect(ipv4Check(p, 84)).toBe(WireCheck.BadVersion);
    store<u8>(p + IPV4_VER_IHL, 0x05);
    expect(ipv4Check(p, 84)).toBe(WireCheck.BadVersion);
  });

  it("rejects a header length below 20, past the data or past the total length", () => {
    const p = atMemoryEnd(ptr(ICMP_0) + 14, 84);
    for (let ihl: u8 = 0; ihl < 5; ihl++) {
      store<u8>(p + IPV4_VER_IHL, 0x40 | ihl);
      expect(ipv4Check(p, 84)).toBe(WireCheck.Malformed);
    }
    store<u8>(p + IPV4_VER_IHL, 0x46); // 24-byte header (options) but the total length is 20
    putU16(p + IPV4_TOTAL_LEN, 20);
    expect(ipv4Check(p, 84)).toBe(WireCheck.Malformed);
    const q = atMemoryEnd(ptr(ICMP_0) + 14, 22);
    store<u8>(q + IPV4_VER_IHL, 0x46); // options run past the 22 bytes there are
    expect(ipv4Check(q, 22)).toBe(WireCheck.Truncated);
    const r = atMemoryEnd(ptr(ICMP_0) + 14, 84);
    store<u8>(r + IPV4_VER_IHL, 0x4f); // 60-byte header inside an 84-byte packet: fine
    expect(ipv4Check(r, 84)).toBe(WireCheck.Ok);
    expect(ipv4PayloadLen(r)).toBe(24);
  });

  it("accepts trailing bytes beyond the total length (Ethernet padding)", () => {
    expect(ipv4Check(ptr(ICMP_0) + 14, 90)).toBe(WireCheck.Ok);
  });
});

describe("wire: ipv4 emit", () => {
  it("writes the same header the kernel sent for the echo request", () => {
    const golden = ptr(ICMP_0) + 14;
    const buf = heap.alloc(IPV4_HEADER_LEN);
    const n = ipv4Emit(
      buf, IPV4_HEADER_LEN, ip4(198, 18, 0, 1), ip4(198, 18, 0, 3), IP_PROTO_ICMP, 64, ipv4Ident(golden), 64,
    );
    expect(n).toBe(IPV4_HEADER_LEN);
    expect(memory.compare(buf, golden, IPV4_HEADER_LEN)).toBe(0);
    heap.free(buf);
  });

  it("refuses a buffer too small or a payload too long", () => {
    for (let cap: u32 = 0; cap < IPV4_HEADER_LEN; cap++) {
      expect(ipv4Emit(memoryEnd() - cap, cap, 1, 2, IP_PROTO_UDP, 64, 0, 0)).toBe(0);
    }
    const p = memoryEnd() - IPV4_HEADER_LEN;
    expect(ipv4Emit(p, IPV4_HEADER_LEN, 1, 2, IP_PROTO_UDP, 64, 0, 65516)).toBe(0);
    expect(ipv4Emit(p, IPV4_HEADER_LEN, 1, 2, IP_PROTO_UDP, 64, 0, 65515)).toBe(IPV4_HEADER_LEN);
    expect(ipv4TotalLen(p)).toBe(65535);
    expect(ipv4ChecksumValid(p)).toBe(true);
  });
});
