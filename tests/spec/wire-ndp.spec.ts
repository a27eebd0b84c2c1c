import { getU16, putU16, putU64 } from "../../assembly/wire/bytes";
import { WireCheck } from "../../assembly/wire/check";
import { IPV6_HEADER_LEN } from "../../assembly/wire/ipv6";
import {
  ICMPV6_NA, ICMPV6_NS, NA_F_ROUTER, NA_F_SOLICITED, NA_LEN, NDP_NO_MAC, NDP_OPT_SOURCE_LL, NDP_OPT_TARGET_LL, NDP_OPTIONS,
  ndpCheck, ndpEmitAdvert, ndpFlags, ndpLinkLayer, ndpTarget, ndpType,
} from "../../assembly/wire/ndp";
import { IPV6_NS_0 } from "./fixtures";
import { atMemoryEnd, ptr } from "./wire-helpers";

const NS_IP6: u32 = 14; // the fixture is untagged
const NS_LEN: u32 = 86 - 14;

/**
 * The ICMPv6 checksum computed the slow, obvious way, independently of wire/checksum.ts: a
 * pseudo-header (src, dst, u32 length, 3 zero bytes, next header 58) laid out in bytes, then
 * 16-bit big-endian words summed with end-around carry. The checksum field itself is skipped.
 */
function naiveIcmpv6Checksum(ip6: usize): u16 {
  const len = <u32>getU16(ip6 + 4);
  const buf = heap.alloc(40 + len + 1);
  memory.copy(buf, ip6 + 8, 32);
  store<u8>(buf + 32, <u8>(len >> 24)); store<u8>(buf + 33, <u8>(len >> 16));
  store<u8>(buf + 34, <u8>(len >> 8)); store<u8>(buf + 35, <u8>len);
  store<u8>(buf + 36, 0); store<u8>(buf + 37, 0); store<u8>(buf + 38, 0); store<u8>(buf + 39, 58);
  memory.copy(buf + 40, ip6 + 40, len);
  store<u8>(buf + 40 + 2, 0); store<u8>(buf + 40 + 3, 0);
  store<u8>(buf + 40 + len, 0);
  let sum: u32 = 0;
  for (let i: u32 = 0; i < 40 + len; i += 2) {
    sum += (<u32>load<u8>(buf + i) << 8) | <u32>load<u8>(buf + i + 1);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  }
  heap.free(buf);
  return <u16>(~sum & 0xffff);
}

function touchNdp(p: usize, len: u32): void {
  ndpType(p); ndpFlags(p); ndpTarget(p); ndpLinkLayer(p, NDP_OPT_SOURCE_LL); ndpLinkLayer(p, NDP_OPT_TARGET_LL);
}

function nsCopy(): usize { return atMemoryEnd(ptr(IPV6_NS_0) + NS_IP6, NS_LEN); }

/** Re-checksum the ICMPv6 message after a spec changed it, the naive way. */
function fixChecksum(p: usize): void {
  putU16(p + 40 + 2, naiveIcmpv6Checksum(p));
}

describe("wire: ndp golden frames", () => {
  it("reads ndisc6's NS: who has 2001:db8:0:1::2, from 2001:db8:0:1::1 at 02:00:5e:10:00:01", () => {
    const p = ptr(IPV6_NS_0) + NS_IP6;
    expect(ndpCheck(p, NS_LEN)).toBe(WireCheck.Ok);
    expect(ndpType(p)).toBe(ICMPV6_NS);
    expect(load<u8>(ndpTarget(p) + 15)).toBe(2);
    expect(load<u8>(ndpTarget(p))).toBe(0x20);
    expect(ndpLinkLayer(p, NDP_OPT_SOURCE_LL)).toBe(0x02005e100001);
    expect(ndpLinkLayer(p, NDP_OPT_TARGET_LL)).toBe(NDP_NO_MAC);
  });

  it("agrees with an independent ICMPv6 checksum on the captured NS", () => {
    const p = ptr(IPV6_NS_0) + NS_IP6;
    expect(naiveIcmpv6Checksum(p)).toBe(getU16(p + 40 + 2));
  });
});

describe("wire: ndp checks", () => {
  it("cannot tell below 41 bytes, calls every cut below the payload length Truncated, reads the rest", () => {
    for (let k: u32 = 0; k <= NS_LEN; k++) {
      const p = atMemoryEnd(ptr(IPV6_NS_0) + NS_IP6, k);
      const verdict = ndpCheck(p, k);
      expect(verdict).toBe(k < 41 ? WireCheck.BadVersion : k < NS_LEN ? WireCheck.Truncated : WireCheck.Ok);
      if (verdict == WireCheck.Ok) touchNdp(p, k);
    }
  });

  it("rejects a hop limit below 255, a nonzero code and a bad checksum", () => {
    let p = nsCopy();
    store<u8>(p + 7, 64);
    expect(ndpCheck(p, NS_LEN)).toBe(WireCheck.Malformed);
    p = nsCopy();
    store<u8>(p + 41, 1);
    fixChecksum(p);
    expect(ndpCheck(p, NS_LEN)).toBe(WireCheck.Malformed);
    p = nsCopy();
    store<u8>(p + 40 + 2, load<u8>(p + 40 + 2) ^ 1);
    expect(ndpCheck(p, NS_LEN)).toBe(WireCheck.Malformed);
  });

  it("rejects an option of length 0 or one running past the message", () => {
    let p = nsCopy();
    store<u8>(p + 40 + NDP_OPTIONS + 1, 0);
    fixChecksum(p);
    expect(ndpCheck(p, NS_LEN)).toBe(WireCheck.Malformed);
    p = nsCopy();
    store<u8>(p + 40 + NDP_OPTIONS + 1, 2);
    fixChecksum(p);
    expect(ndpCheck(p, NS_LEN)).toBe(WireCheck.Malformed);
  });

  it("says BadVersion (not ours) for other ICMPv6 types and next headers", () => {
    let p = nsCopy();
    store<u8>(p + 40, 128); // echo request
    expect(ndpCheck(p, NS_LEN)).toBe(WireCheck.BadVersion);
    p = nsCopy();
    store<u8>(p + 6, 17);
    expect(ndpCheck(p, NS_LEN)).toBe(WireCheck.BadVersion);
  });

  it("skips unknown options to find the link-layer one", () => {
    // A nonce option (type 14, 8 bytes) in front of the source link-layer option.
    const buf = heap.alloc(NS_LEN + 8);
    memory.copy(buf, ptr(IPV6_NS_0) + NS_IP6, 40 + NDP_OPTIONS);
    putU16(buf + 4, <u16>(NS_LEN - 40 + 8));
    store<u8>(buf + 40 + NDP_OPTIONS, 14);
    store<u8>(buf + 40 + NDP_OPTIONS + 1, 1);
    putU64(buf + 40 + NDP_OPTIONS, 0x0e01_0102_0304_0506);
    memory.copy(buf + 40 + NDP_OPTIONS + 8, ptr(IPV6_NS_0) + NS_IP6 + 40 + NDP_OPTIONS, 8);
    fixChecksum(buf);
    const p = atMemoryEnd(buf, NS_LEN + 8);
    expect(ndpCheck(p, NS_LEN + 8)).toBe(WireCheck.Ok);
    expect(ndpLinkLayer(p, NDP_OPT_SOURCE_LL)).toBe(0x02005e100001);
  });
});

describe("wire: ndp advertisement", () => {
  it("builds an NA that checks, with the independent checksum, flags, target and option", () => {
    const ns = ptr(IPV6_NS_0) + NS_IP6;
    const out = heap.alloc(IPV6_HEADER_LEN + NA_LEN);
    const n = ndpEmitAdvert(out, IPV6_HEADER_LEN + NA_LEN, ndpTarget(ns), ns + 8, NA_F_SOLICITED | NA_F_ROUTER, 0x02005e100002);
    expect(n).toBe(IPV6_HEADER_LEN + NA_LEN);
    const p = atMemoryEnd(out, n);
    expect(ndpCheck(p, n)).toBe(WireCheck.Ok);
    expect(naiveIcmpv6Checksum(p)).toBe(getU16(p + 40 + 2));
    expect(ndpType(p)).toBe(ICMPV6_NA);
    expect(ndpFlags(p)).toBe(NA_F_SOLICITED | NA_F_ROUTER);
    expect(memory.compare(ndpTarget(p), ndpTarget(ns), 16)).toBe(0);
    expect(memory.compare(p + 8, ndpTarget(ns), 16)).toBe(0); // from the target address
    expect(memory.compare(p + 24, ns + 8, 16)).toBe(0); // to the asker
    expect(ndpLinkLayer(p, NDP_OPT_TARGET_LL)).toBe(0x02005e100002);
    expect(ndpEmitAdvert(out, IPV6_HEADER_LEN + NA_LEN - 1, ndpTarget(ns), ns + 8, 0, 1)).toBe(0);
  });
});
