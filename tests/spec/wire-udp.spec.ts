import { WireCheck } from "../../assembly/wire/check";
import { IPV4_HEADER_LEN, IP_PROTO_UDP, ipv4Dst, ipv4Src } from "../../assembly/wire/ipv4";
import { IPV6_HEADER_LEN, ipv6Emit } from "../../assembly/wire/ipv6";
import {
  UDP_CHECKSUM, UDP_HEADER_LEN, UDP_LENGTH,
  udpCheck, udpChecksumField, udpChecksumValidIpv4, udpChecksumValidIpv6, udpDstPort, udpEmit,
  udpFillChecksumIpv4, udpFillChecksumIpv6, udpLength, udpPayloadLen, udpSrcPort,
} from "../../assembly/wire/udp";
import { putU16 } from "../../assembly/wire/bytes";
import { IPV6_ECHO_0, UDP_0, UDP_1 } from "./fixtures";
import { atMemoryEnd, ip4, memoryEnd, ptr, sweepTruncations } from "./wire-helpers";

const SRC: u32 = 0xc6120001; // 198.18.0.1
const DST: u32 = 0xc6120003; // 198.18.0.3

function touchUdp(p: usize, len: u32): void {
  udpSrcPort(p); udpDstPort(p); udpLength(p); udpPayloadLen(p); udpChecksumField(p);
  udpChecksumValidIpv4(p, SRC, DST);
}

describe("wire: udp golden frames", () => {
  it("reads the datagram to 198.18.0.3:7000 carrying 'divs-fixture'", () => {
    const ip = ptr(UDP_0) + 14;
    expect(ipv4Src(ip)).toBe(ip4(198, 18, 0, 1));
    const p = ip + IPV4_HEADER_LEN;
    expect(udpCheck(p, UDP_0.length - 34)).toBe(WireCheck.Ok);
    expect(udpDstPort(p)).toBe(7000);
    expect(udpSrcPort(p)).toBeGreaterThanOrEqual(1024); // an ephemeral port
    expect(udpLength(p)).toBe(20);
    expect(udpPayloadLen(p)).toBe(12);
    expect(String.UTF8.decodeUnsafe(p + UDP_HEADER_LEN, 12)).toBe("divs-fixture");
    expect(udpChecksumValidIpv4(p, ipv4Src(ip), ipv4Dst(ip))).toBe(true);
  });

  it("verifies the one-byte datagram to port 9 (odd length)", () => {
    const ip = ptr(UDP_1) + 14;
    const p = ip + IPV4_HEADER_LEN;
    expect(udpCheck(p, UDP_1.length - 34)).toBe(WireCheck.Ok);
    expect(udpDstPort(p)).toBe(9);
    expect(udpLength(p)).toBe(9);
    expect(udpChecksumValidIpv4(p, ipv4Src(ip), ipv4Dst(ip))).toBe(true);
  });

  it("recomputes the checksums the kernel sent and notices wrong addresses", () => {
    for (let i = 0; i < 2; i++) {
      const frame = i == 0 ? UDP_0 : UDP_1;
      const n = <u32>frame.length - 34;
      const p = atMemoryEnd(ptr(frame) + 34, n);
      const sent = udpChecksumField(p);
      putU16(p + UDP_CHECKSUM, 0x1234);
      expect(udpChecksumValidIpv4(p, SRC, DST)).toBe(false);
      udpFillChecksumIpv4(p, SRC, DST);
      expect(udpChecksumField(p)).toBe(sent);
      expect(udpChecksumValidIpv4(p, SRC, ip4(198, 18, 0, 4))).toBe(false);
      expect(udpChecksumValidIpv4(p, DST, SRC)).toBe(true); // the pseudo-header sum is symmetric
    }
  });

  it("treats a zero checksum as absent over IPv4", () => {
    const p = atMemoryEnd(ptr(UDP_0) + 34, 20);
    putU16(p + UDP_CHECKSUM, 0);
    expect(udpChecksumValidIpv4(p, SRC, DST)).toBe(true);
  });
});

describe("wire: udp checks", () => {
  it("rejects every cut of the datagram its length names", () => {
    sweepTruncations(UDP_0, 34, 20, udpCheck, touchUdp);
    sweepTruncations(UDP_1, 34, 9, udpCheck, touchUdp);
  });

  it("rejects a length below the header", () => {
    const p = atMemoryEnd(ptr(UDP_0) + 34, 20);
    for (let n: u16 = 0; n < 8; n++) {
      putU16(p + UDP_LENGTH, n);
      expect(udpCheck(p, 20)).toBe(WireCheck.Malformed);
    }
    putU16(p + UDP_LENGTH, 8);
    expect(udpCheck(p, 20)).toBe(WireCheck.Ok);
    putU16(p + UDP_LENGTH, 21);
    expect(udpCheck(p, 20)).toBe(WireCheck.Truncated);
  });
});

describe("wire: udp emit", () => {
  it("rebuilds the golden datagram byte for byte", () => {
    const golden = ptr(UDP_0) + 34;
    const buf = heap.alloc(20);
    expect(udpEmit(buf, 20, udpSrcPort(golden), 7000, 12)).toBe(UDP_HEADER_LEN);
    memory.copy(buf + UDP_HEADER_LEN, golden + UDP_HEADER_LEN, 12);
    udpFillChecksumIpv4(buf, SRC, DST);
    expect(memory.compare(buf, golden, 20)).toBe(0);
    heap.free(buf);
  });

  it("fills and verifies an IPv6 checksum, and rejects zero there", () => {
    const buf = heap.alloc(IPV6_HEADER_LEN + 12);
    const addrs = ptr(IPV6_ECHO_0) + 14 + 8;
    ipv6Emit(buf, IPV6_HEADER_LEN, addrs, addrs + 16, IP_PROTO_UDP, 64, 12);
    const p = buf + IPV6_HEADER_LEN;
    udpEmit(p, 12, 40000, 7000, 4);
    store<u32>(p + UDP_HEADER_LEN, 0x73766964); // "divs"
    udpFillChecksumIpv6(p, buf);
    expect(udpChecksumField(p)).not.toBe(0);
    expect(udpChecksumValidIpv6(p, buf)).toBe(true);
    store<u8>(buf + 8 + 15, 9); // another source address
    expect(udpChecksumValidIpv6(p, buf)).toBe(false);
    putU16(p + UDP_CHECKSUM, 0);
    expect(udpChecksumValidIpv6(p, buf)).toBe(false);
    heap.free(buf);
  });

  it("refuses a buffer too small or a payload too long", () => {
    for (let cap: u32 = 0; cap < UDP_HEADER_LEN; cap++) {
      expect(udpEmit(memoryEnd() - cap, cap, 1, 2, 0)).toBe(0);
    }
    const p = memoryEnd() - UDP_HEADER_LEN;
    expect(udpEmit(p, UDP_HEADER_LEN, 1, 2, 65528)).toBe(0);
    expect(udpEmit(p, UDP_HEADER_LEN, 1, 2, 65527)).toBe(UDP_HEADER_LEN);
    expect(udpLength(p)).toBe(65535);
  });
});
