import {
  ARP_HTYPE, ARP_LEN, ARP_OP_REPLY, ARP_OP_REQUEST, ARP_PLEN, ARP_PTYPE,
  arpCheck, arpEmitReplyFrame, arpOp, arpSenderIp, arpSenderMac, arpTargetIp, arpTargetMac,
} from "../../assembly/wire/arp";
import { putU16 } from "../../assembly/wire/bytes";
import { WireCheck } from "../../assembly/wire/check";
import {
  ETHERTYPE_ARP, MAC_BROADCAST, ethDst, ethInnerType, ethPayloadOffset, ethSrc, ethVlan,
} from "../../assembly/wire/ethernet";
import { ARP_0, VLAN_1 } from "./fixtures";
import { atMemoryEnd, ip4, memoryEnd, ptr, sweepTruncations } from "./wire-helpers";

const HOST_MAC: u64 = 0x02005e100001;
const OWNER_MAC: u64 = 0x02005e100002;

function touchArp(p: usize, len: u32): void {
  arpOp(p); arpSenderMac(p); arpSenderIp(p); arpTargetMac(p); arpTargetIp(p);
}

describe("wire: arp golden frames", () => {
  it("reads arping's request: who-has 198.18.0.2 tell 198.18.0.1", () => {
    const p = ptr(ARP_0) + 14;
    expect(arpCheck(p, ARP_0.length - 14)).toBe(WireCheck.Ok);
    expect(arpOp(p)).toBe(ARP_OP_REQUEST);
    expect(arpSenderMac(p)).toBe(HOST_MAC);
    expect(arpSenderIp(p)).toBe(ip4(198, 18, 0, 1));
    expect(arpTargetMac(p)).toBe(0);
    expect(arpTargetIp(p)).toBe(ip4(198, 18, 0, 2));
  });

  it("reads the kernel's request in VLAN 100: who-has 198.18.1.2 tell 198.18.1.1", () => {
    const p = ptr(VLAN_1) + 18;
    expect(arpCheck(p, VLAN_1.length - 18)).toBe(WireCheck.Ok);
    expect(arpOp(p)).toBe(ARP_OP_REQUEST);
    expect(arpSenderMac(p)).toBe(0x02005e100101);
    expect(arpSenderIp(p)).toBe(ip4(198, 18, 1, 1));
    expect(arpTargetIp(p)).toBe(ip4(198, 18, 1, 2));
  });
});

describe("wire: arp checks", () => {
  it("rejects every cut below 28 bytes and accepts the padded rest", () => {
    sweepTruncations(ARP_0, 14, ARP_LEN, arpCheck, touchArp);
    sweepTruncations(VLAN_1, 18, ARP_LEN, arpCheck, touchArp);
  });

  it("rejects other hardware types, protocol types and address lengths", () => {
    const p = atMemoryEnd(ptr(ARP_0) + 14, ARP_LEN);
    putU16(p + ARP_HTYPE, 6); // IEEE 802
    expect(arpCheck(p, ARP_LEN)).toBe(WireCheck.Malformed);
    atMemoryEnd(ptr(ARP_0) + 14, ARP_LEN);
    putU16(p + ARP_PTYPE, 0x86dd);
    expect(arpCheck(p, ARP_LEN)).toBe(WireCheck.Malformed);
    atMemoryEnd(ptr(ARP_0) + 14, ARP_LEN);
    store<u8>(p + ARP_PLEN, 16);
    expect(arpCheck(p, ARP_LEN)).toBe(WireCheck.Malformed);
    atMemoryEnd(ptr(ARP_0) + 14, ARP_LEN);
    expect(arpCheck(p, ARP_LEN)).toBe(WireCheck.Ok);
  });
});

describe("wire: arp reply frame", () => {
  it("answers the golden request so that the reply parses back", () => {
    const req = ptr(ARP_0) + 14;
    const buf = heap.alloc(64);
    const n = arpEmitReplyFrame(buf, 64, OWNER_MAC, arpTargetIp(req), arpSenderMac(req), arpSenderIp(req), 0);
    expect(n).toBe(42);
    expect(ethDst(buf)).toBe(HOST_MAC);
    expect(ethSrc(buf)).toBe(OWNER_MAC);
    expect(ethInnerType(buf, n)).toBe(ETHERTYPE_ARP);
    const arp = buf + ethPayloadOffset(buf, n);
    expect(arpCheck(arp, ARP_LEN)).toBe(WireCheck.Ok);
    expect(arpOp(arp)).toBe(ARP_OP_REPLY);
    expect(arpSenderMac(arp)).toBe(OWNER_MAC);
    expect(arpSenderIp(arp)).toBe(ip4(198, 18, 0, 2));
    expect(arpTargetMac(arp)).toBe(HOST_MAC);
    expect(arpTargetIp(arp)).toBe(ip4(198, 18, 0, 1));
    // Same header bytes as the request apart from the op (offset 6..8).
    expect(memory.compare(arp, req, 6)).toBe(0);
    heap.free(buf);
  });

  it("answers in the request's VLAN", () => {
    const buf = heap.alloc(64);
    const n = arpEmitReplyFrame(buf, 64, OWNER_MAC, ip4(198, 18, 1, 2), 0x02005e100101, ip4(198, 18, 1, 1), 100);
    expect(n).toBe(46);
    expect(ethVlan(buf, n)).toBe(100);
    expect(ethInnerType(buf, n)).toBe(ETHERTYPE_ARP);
    expect(arpCheck(buf + 18, n - 18)).toBe(WireCheck.Ok);
    expect(arpTargetIp(buf + 18)).toBe(ip4(198, 18, 1, 1));
    heap.free(buf);
  });

  it("refuses a buffer too small without writing past it", () => {
    for (let cap: u32 = 0; cap < 46; cap++) {
      const p = memoryEnd() - cap;
      expect(arpEmitReplyFrame(p, cap, OWNER_MAC, 1, MAC_BROADCAST, 2, 100)).toBe(0);
      if (cap < 42) expect(arpEmitReplyFrame(p, cap, OWNER_MAC, 1, MAC_BROADCAST, 2, 0)).toBe(0);
    }
    expect(arpEmitReplyFrame(memoryEnd() - 42, 42, OWNER_MAC, 1, HOST_MAC, 2, 0)).toBe(42);
  });
});
