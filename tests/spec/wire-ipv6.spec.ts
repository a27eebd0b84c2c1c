import { WireCheck } from "../../assembly/wire/check";
import { onesFinish, onesSum } from "../../assembly/wire/checksum";
import { IP_PROTO_ICMPV6 } from "../../assembly/wire/ipv4";
import {
  IPV6_HEADER_LEN, IPV6_PAYLOAD_LEN, IPV6_VER_TC_FLOW,
  ipv6Check, ipv6Dst, ipv6DstHi, ipv6DstIsMulticast, ipv6DstLo, ipv6Emit, ipv6FlowLabel, ipv6HopLimit,
  ipv6NextHeader, ipv6PayloadLen, ipv6PseudoSum, ipv6Src, ipv6SrcHi, ipv6SrcLo, ipv6TrafficClass,
} from "../../assembly/wire/ipv6";
import { putU16 } from "../../assembly/wire/bytes";
import { IPV6_ECHO_0, IPV6_NS_0 } from "./fixtures";
import { atMemoryEnd, memoryEnd, ptr, sweepTruncations } from "./wire-helpers";

function touchIpv6(p: usize, len: u32): void {
  ipv6TrafficClass(p); ipv6FlowLabel(p); ipv6PayloadLen(p); ipv6NextHeader(p); ipv6HopLimit(p);
  ipv6SrcHi(p); ipv6SrcLo(p); ipv6DstHi(p); ipv6DstLo(p); ipv6DstIsMulticast(p);
  onesSum(p + IPV6_HEADER_LEN, ipv6PayloadLen(p), ipv6PseudoSum(p, ipv6NextHeader(p), ipv6PayloadLen(p)));
}

// ICMPv6's checksum covers the IPv6 pseudo-header (RFC 4443 2.3).
function icmpv6ChecksumValid(p: usize): bool {
  const n = ipv6PayloadLen(p);
  return onesFinish(onesSum(p + IPV6_HEADER_LEN, n, ipv6PseudoSum(p, IP_PROTO_ICMPV6, n))) == 0;
}

describe("wire: ipv6 golden frames", () => {
  it("reads the neighbour solicitation for 2001:db8:0:1::2", () => {
    const p = ptr(IPV6_NS_0) + 14;
    expect(ipv6Check(p, IPV6_NS_0.length - 14)).toBe(WireCheck.Ok);
    expect(ipv6PayloadLen(p)).toBe(32);
    expect(ipv6NextHeader(p)).toBe(IP_PROTO_ICMPV6);
    expect(ipv6HopLimit(p)).toBe(255);
    expect(ipv6SrcHi(p)).toBe(0x20010db800000001); // 2001:db8:0:1::1
    expect(ipv6SrcLo(p)).toBe(1);
    expect(ipv6DstHi(p)).toBe(0xff02000000000000); // ff02::1:ff00:2
    expect(ipv6DstLo(p)).toBe(0x00000001ff000002);
    expect(ipv6DstIsMulticast(p)).toBe(true);
    expect(load<u8>(p + IPV6_HEADER_LEN)).toBe(135); // ICMPv6 type: neighbour solicitation
    expect(icmpv6ChecksumValid(p)).toBe(true);
  });

  it("reads ping -6's echo request to 2001:db8:0:1::3 with its flow label", () => {
    const p = ptr(IPV6_ECHO_0) + 14;
    expect(ipv6Check(p, IPV6_ECHO_0.length - 14)).toBe(WireCheck.Ok);
    expect(ipv6PayloadLen(p)).toBe(64);
    expect(ipv6HopLimit(p)).toBe(64);
    expect(ipv6TrafficClass(p)).toBe(0);
    // Linux labels flows (auto_flowlabels); 20 bits from the low nibble of byte 1 on.
    const label = (<u32>(load<u8>(p + 1) & 0x0f) << 16) | (<u32>load<u8>(p + 2) << 8) | <u32>load<u8>(p + 3);
    expect(label).not.toBe(0);
    expect(ipv6FlowLabel(p)).toBe(label);
    expect(ipv6DstIsMulticast(p)).toBe(false);
    expect(ipv6DstLo(p)).toBe(3);
    expect(load<u8>(p + IPV6_HEADER_LEN)).toBe(128); // echo request
    expect(icmpv6ChecksumValid(p)).toBe(true);
    expect(memory.compare(ipv6Src(p), ptr(IPV6_NS_0) + 14 + 8, 16)).toBe(0);
  });

  it("notices a changed address in the pseudo-header", () => {
    const p = atMemoryEnd(ptr(IPV6_ECHO_0) + 14, 104);
    store<u8>(ipv6Dst(p) + 15, 4);
    expect(icmpv6ChecksumValid(p)).toBe(false);
  });
});

describe("wire: ipv6 checks", () => {
  it("rejects every cut of the header and the payload it names", () => {
    sweepTruncations(IPV6_NS_0, 14, 72, ipv6Check, touchIpv6);
    sweepTruncations(IPV6_ECHO_0, 14, 104, ipv6Check, touchIpv6);
  });

  it("rejects other versions", () => {
    const p = atMemoryEnd(ptr(IPV6_NS_0) + 14, 72);
    store<u8>(p + IPV6_VER_TC_FLOW, 0x40);
    expect(ipv6Check(p, 72)).toBe(WireCheck.BadVersion);
    store<u8>(p + IPV6_VER_TC_FLOW, 0x70);
    expect(ipv6Check(p, 72)).toBe(WireCheck.BadVersion);
  });

  it("rejects a payload length past the data and accepts trailing bytes", () => {
    const p = atMemoryEnd(ptr(IPV6_NS_0) + 14, 72);
    putU16(p + IPV6_PAYLOAD_LEN, 33);
    expect(ipv6Check(p, 72)).toBe(WireCheck.Truncated);
    putU16(p + IPV6_PAYLOAD_LEN, 0xffff);
    expect(ipv6Check(p, 72)).toBe(WireCheck.Truncated);
    putU16(p + IPV6_PAYLOAD_LEN, 31);
    expect(ipv6Check(p, 72)).toBe(WireCheck.Ok);
  });
});

describe("wire: ipv6 emit", () => {
  it("writes the kernel's echo request header apart from the flow label", () => {
    const golden = ptr(IPV6_ECHO_0) + 14;
    const buf = heap.alloc(IPV6_HEADER_LEN);
    const n = ipv6Emit(buf, IPV6_HEADER_LEN, ipv6Src(golden), ipv6Dst(golden), IP_PROTO_ICMPV6, 64, 64);
    expect(n).toBe(IPV6_HEADER_LEN);
    expect(ipv6FlowLabel(buf)).toBe(0);
    expect(load<u8>(buf) >> 4).toBe(6);
    expect(memory.compare(buf + 4, golden + 4, IPV6_HEADER_LEN - 4)).toBe(0);
    heap.free(buf);
  });

  it("refuses a buffer too small or a payload too long", () => {
    const src = ptr(IPV6_ECHO_0) + 14 + 8;
    for (let cap: u32 = 0; cap < IPV6_HEADER_LEN; cap++) {
      expect(ipv6Emit(memoryEnd() - cap, cap, src, src, IP_PROTO_ICMPV6, 1, 0)).toBe(0);
    }
    const p = memoryEnd() - IPV6_HEADER_LEN;
    expect(ipv6Emit(p, IPV6_HEADER_LEN, src, src, IP_PROTO_ICMPV6, 1, 0x10000)).toBe(0);
    expect(ipv6Emit(p, IPV6_HEADER_LEN, src, src, IP_PROTO_ICMPV6, 1, 0xffff)).toBe(IPV6_HEADER_LEN);
  });
});
