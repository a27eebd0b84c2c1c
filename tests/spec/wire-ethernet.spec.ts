import {
  ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN, ETH_HEADER_LEN, ETH_TRUNCATED, MAC_BROADCAST,
  ethCheck, ethDst, ethEmit, ethInnerType, ethPayloadOffset, ethSrc, ethVlan, macIsGroup,
} from "../../assembly/wire/ethernet";
import { getU16 } from "../../assembly/wire/bytes";
import { ARP_0, ICMP_0, IPV6_NS_0, QINQ_0, VLAN_0, VLAN_1 } from "./fixtures";
import { atMemoryEnd, memoryEnd, ptr } from "./wire-helpers";

const HOST_MAC: u64 = 0x02005e100001; // 02:00:5e:10:00:01, tap0 in capture.sh
const NEIGHBOUR_MAC: u64 = 0x02005e100003; // the static neighbour
const VLAN_HOST_MAC: u64 = 0x02005e100101; // the VLAN 100 side

// Payload offset after each length k of `frame`: ETH_TRUNCATED below `needed`.
function sweepPayloadOffset(frame: StaticArray<u8>, needed: u32, offset: u32): void {
  for (let k: u32 = 0; k <= <u32>frame.length; k++) {
    const p = atMemoryEnd(ptr(frame), k);
    if (!ethCheck(k)) {
      expect(k).toBeLessThan(ETH_HEADER_LEN);
      continue;
    }
    expect(ethPayloadOffset(p, k)).toBe(k >= needed ? offset : ETH_TRUNCATED);
    ethVlan(p, k);
    ethInnerType(p, k);
  }
}

describe("wire: guard", () => {
  it("traps on a read past the end of memory", () => {
    expect(() => { load<u8>(memoryEnd()); }).toThrow();
    expect(() => { load<u8>(memoryEnd() - 1); }).not.toThrow();
  });
});

describe("wire: ethernet golden frames", () => {
  it("reads an untagged broadcast ARP request", () => {
    const p = ptr(ARP_0);
    expect(ethCheck(ARP_0.length)).toBe(true);
    expect(ethDst(p)).toBe(MAC_BROADCAST);
    expect(macIsGroup(ethDst(p))).toBe(true);
    expect(ethSrc(p)).toBe(HOST_MAC);
    expect(macIsGroup(ethSrc(p))).toBe(false);
    expect(ethVlan(p, ARP_0.length)).toBe(0);
    expect(ethInnerType(p, ARP_0.length)).toBe(ETHERTYPE_ARP);
    expect(ethPayloadOffset(p, ARP_0.length)).toBe(14);
  });

  it("reads unicast IPv4 and multicast IPv6", () => {
    expect(ethDst(ptr(ICMP_0))).toBe(NEIGHBOUR_MAC);
    expect(ethInnerType(ptr(ICMP_0), ICMP_0.length)).toBe(ETHERTYPE_IPV4);
    expect(ethDst(ptr(IPV6_NS_0))).toBe(0x3333ff000002); // 33:33:ff:00:00:02
    expect(macIsGroup(ethDst(ptr(IPV6_NS_0)))).toBe(true);
    expect(ethInnerType(ptr(IPV6_NS_0), IPV6_NS_0.length)).toBe(ETHERTYPE_IPV6);
  });

  it("reads VLAN 100 (802.1Q) frames", () => {
    expect(ethSrc(ptr(VLAN_1))).toBe(VLAN_HOST_MAC);
    expect(ethVlan(ptr(VLAN_1), VLAN_1.length)).toBe(100);
    expect(ethInnerType(ptr(VLAN_1), VLAN_1.length)).toBe(ETHERTYPE_ARP);
    expect(ethPayloadOffset(ptr(VLAN_1), VLAN_1.length)).toBe(18);
    expect(ethVlan(ptr(VLAN_0), VLAN_0.length)).toBe(100);
    expect(ethInnerType(ptr(VLAN_0), VLAN_0.length)).toBe(ETHERTYPE_IPV4);
  });

  it("reads the outer VLAN 200 of a QinQ frame and the payload after both tags", () => {
    expect(ethVlan(ptr(QINQ_0), QINQ_0.length)).toBe(200);
    expect(ethInnerType(ptr(QINQ_0), QINQ_0.length)).toBe(ETHERTYPE_IPV4);
    expect(ethPayloadOffset(ptr(QINQ_0), QINQ_0.length)).toBe(22);
  });
});

describe("wire: ethernet truncation", () => {
  it("rejects every cut of untagged, tagged and double-tagged headers", () => {
    sweepPayloadOffset(ICMP_0, 14, 14);
    sweepPayloadOffset(VLAN_0, 18, 18);
    sweepPayloadOffset(QINQ_0, 22, 22);
  });
});

describe("wire: ethernet emit", () => {
  it("writes untagged and tagged headers that read back", () => {
    const buf = heap.alloc(32);
    expect(ethEmit(buf, 32, MAC_BROADCAST, HOST_MAC, 0, ETHERTYPE_ARP)).toBe(14);
    expect(ethDst(buf)).toBe(MAC_BROADCAST);
    expect(ethSrc(buf)).toBe(HOST_MAC);
    expect(ethInnerType(buf, 14)).toBe(ETHERTYPE_ARP);
    expect(ethEmit(buf, 32, NEIGHBOUR_MAC, HOST_MAC, 100, ETHERTYPE_IPV4)).toBe(18);
    expect(getU16(buf + 12)).toBe(ETHERTYPE_VLAN);
    expect(ethVlan(buf, 18)).toBe(100);
    expect(ethInnerType(buf, 18)).toBe(ETHERTYPE_IPV4);
    heap.free(buf);
  });

  it("refuses a buffer too small, without writing past it, and a VLAN id over 12 bits", () => {
    for (let cap: u32 = 0; cap < 18; cap++) {
      const p = memoryEnd() - cap;
      expect(ethEmit(p, cap, MAC_BROADCAST, HOST_MAC, 100, ETHERTYPE_ARP)).toBe(0);
      if (cap < 14) expect(ethEmit(p, cap, MAC_BROADCAST, HOST_MAC, 0, ETHERTYPE_ARP)).toBe(0);
    }
    expect(ethEmit(memoryEnd() - 18, 18, MAC_BROADCAST, HOST_MAC, 0x1000, ETHERTYPE_ARP)).toBe(0);
  });
});
