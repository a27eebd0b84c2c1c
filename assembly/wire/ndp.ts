// IPv6 Neighbor Discovery (RFC 4861): Neighbor Solicitation and Advertisement in ICMPv6, and their
// link-layer address options. `ndpCheck` takes the IPv6 packet (fixed header first).
//   NS: type 135, code, checksum(2), reserved(4), target(16), options
//   NA: type 136, code, checksum(2), flags R|S|O (1) + reserved(3), target(16), options
//   option: type(1) len(1, units of 8 bytes, never 0) data; link-layer options carry a MAC (6)
import { WireCheck } from "./check";
import { IP_PROTO_ICMPV6 } from "./ipv4";
import { getMac, putMac, putU16, putU32 } from "./bytes";
import { onesFinish, onesSum } from "./checksum";
import { ICMP_CHECKSUM, ICMP_CODE, ICMP_TYPE } from "./icmp";
import {
  IPV6_ADDR_LEN, IPV6_HEADER_LEN, ipv6Check, ipv6Emit, ipv6HopLimit, ipv6NextHeader, ipv6PayloadLen, ipv6PseudoSum,
} from "./ipv6";

export const ICMPV6_NS: u8 = 135;
export const ICMPV6_NA: u8 = 136;

export const NDP_FLAGS: u32 = 4;
export const NDP_TARGET: u32 = 8;
export const NDP_OPTIONS: u32 = 24;
export const NDP_OPT_TYPE: u32 = 0;
export const NDP_OPT_LEN: u32 = 1;
export const NDP_OPT_DATA: u32 = 2;
export const NDP_OPT_UNIT: u32 = 8;

export const NA_F_ROUTER: u8 = 0x80;
export const NA_F_SOLICITED: u8 = 0x40;
export const NA_F_OVERRIDE: u8 = 0x20;

export const NDP_OPT_SOURCE_LL: u8 = 1;
export const NDP_OPT_TARGET_LL: u8 = 2;
/** `ndpLinkLayer` when the option is absent. */
export const NDP_NO_MAC: u64 = u64.MAX_VALUE;

/** Bytes of the IPv6 packet that tell an NS or NA from anything else: the fixed header and the ICMPv6 type. */
const NDP_TYPE_KNOWN: u32 = IPV6_HEADER_LEN + 1;
/** An NS or NA this long carries one link-layer option (RFC 4861 4.6.1). */
export const NA_LEN: u32 = NDP_OPTIONS + NDP_OPT_UNIT;
export const NDP_HOP_LIMIT: u8 = 255;

/** Partial sum of the ICMPv6 message of `len` bytes at `icmp` in the IPv6 packet at `ip6`, pseudo-header included. */
export function icmpv6Sum(ip6: usize, icmp: usize, len: u32): u32 {
  return onesSum(icmp, len, ipv6PseudoSum(ip6, IP_PROTO_ICMPV6, len));
}

/**
 * Checks the `len` bytes at `p` hold an IPv6 packet carrying an NS or NA as RFC 4861 7.1.1/7.1.2
 * validate it: ICMPv6 directly after the fixed header, hop limit 255, code 0, a valid checksum,
 * long enough, options each non-empty and inside the message. Returns Ok, Truncated or Malformed;
 * `ndpType` then names which. BadVersion: not an NS or NA (another IP version, next header or ICMPv6
 * type), or too short to tell (under 41 bytes).
 */
export function ndpCheck(p: usize, len: u32): WireCheck {
  if (len < NDP_TYPE_KNOWN || load<u8>(p) >> 4 != 6 || ipv6NextHeader(p) != IP_PROTO_ICMPV6) return WireCheck.BadVersion;
  const type = load<u8>(p + IPV6_HEADER_LEN + ICMP_TYPE);
  if (type != ICMPV6_NS && type != ICMPV6_NA) return WireCheck.BadVersion;
  if (ipv6Check(p, len) != WireCheck.Ok) return WireCheck.Truncated;
  const icmpLen = ipv6PayloadLen(p);
  const icmp = p + IPV6_HEADER_LEN;
  if (icmpLen < NDP_OPTIONS) return WireCheck.Truncated;
  if (ipv6HopLimit(p) != NDP_HOP_LIMIT || load<u8>(icmp + ICMP_CODE) != 0) return WireCheck.Malformed;
  if (onesFinish(icmpv6Sum(p, icmp, icmpLen)) != 0) return WireCheck.Malformed;
  for (let off = NDP_OPTIONS; off < icmpLen;) {
    if (icmpLen - off < NDP_OPT_DATA) return WireCheck.Malformed;
    const units = <u32>load<u8>(icmp + off + NDP_OPT_LEN);
    if (units == 0 || units * NDP_OPT_UNIT > icmpLen - off) return WireCheck.Malformed;
    off += units * NDP_OPT_UNIT;
  }
  return WireCheck.Ok;
}

// Accessors take the IPv6 packet `p` and require ndpCheck Ok.
// @ts-ignore: decorator
@inline export function ndpType(p: usize): u8 { return load<u8>(p + IPV6_HEADER_LEN + ICMP_TYPE); }
// @ts-ignore: decorator
@inline export function ndpFlags(p: usize): u8 { return load<u8>(p + IPV6_HEADER_LEN + NDP_FLAGS); }
/** Pointer to the 16-byte target address. */
// @ts-ignore: decorator
@inline export function ndpTarget(p: usize): usize { return p + IPV6_HEADER_LEN + NDP_TARGET; }

/** The MAC in the first link-layer option of `type` (source or target) that holds one, or NDP_NO_MAC. */
export function ndpLinkLayer(p: usize, type: u8): u64 {
  const icmp = p + IPV6_HEADER_LEN;
  const icmpLen = ipv6PayloadLen(p);
  for (let off = NDP_OPTIONS; off < icmpLen;) {
    const units = <u32>load<u8>(icmp + off + NDP_OPT_LEN);
    if (load<u8>(icmp + off + NDP_OPT_TYPE) == type && units * NDP_OPT_UNIT >= NDP_OPT_DATA + 6) {
      return getMac(icmp + off + NDP_OPT_DATA);
    }
    off += units * NDP_OPT_UNIT;
  }
  return NDP_NO_MAC;
}

/** An NS without options (the only form sent from the unspecified address, RFC 4861 4.3). */
export const NS_PROBE_LEN: u32 = NDP_OPTIONS;
const UNSPECIFIED: usize = memory.data(16);
const solicitedNode: usize = memory.data<u8>([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0]);

/**
 * Writes at `p` (room for `cap` bytes) an IPv6 packet carrying a duplicate-address probe for the
 * 16-byte `target` (RFC 4862 5.4.2): an NS from the unspecified address to the target's solicited-node
 * group, which a host holding the address answers with an NA to all nodes. Returns its length, or 0
 * when it does not fit.
 */
export function ndpEmitProbe(p: usize, cap: u32, target: usize): u32 {
  if (cap < IPV6_HEADER_LEN + NS_PROBE_LEN) return 0;
  memory.copy(solicitedNode + 13, target + 13, 3);
  ipv6Emit(p, cap, UNSPECIFIED, solicitedNode, IP_PROTO_ICMPV6, NDP_HOP_LIMIT, NS_PROBE_LEN);
  const icmp = p + IPV6_HEADER_LEN;
  store<u8>(icmp + ICMP_TYPE, ICMPV6_NS);
  store<u8>(icmp + ICMP_CODE, 0);
  putU16(icmp + ICMP_CHECKSUM, 0);
  putU32(icmp + NDP_FLAGS, 0);
  memory.copy(icmp + NDP_TARGET, target, IPV6_ADDR_LEN);
  putU16(icmp + ICMP_CHECKSUM, onesFinish(icmpv6Sum(p, icmp, NS_PROBE_LEN)));
  return IPV6_HEADER_LEN + NS_PROBE_LEN;
}

/**
 * Writes at `p` (room for `cap` bytes) an IPv6 packet carrying an NA for the 16-byte `target`
 * with `flags` and a target link-layer option holding `mac`, from `target` to `dst`. Returns its
 * length, or 0 when it does not fit.
 */
export function ndpEmitAdvert(p: usize, cap: u32, target: usize, dst: usize, flags: u8, mac: u64): u32 {
  if (cap < IPV6_HEADER_LEN + NA_LEN) return 0;
  ipv6Emit(p, cap, target, dst, IP_PROTO_ICMPV6, NDP_HOP_LIMIT, NA_LEN);
  const icmp = p + IPV6_HEADER_LEN;
  store<u8>(icmp + ICMP_TYPE, ICMPV6_NA);
  store<u8>(icmp + ICMP_CODE, 0);
  putU16(icmp + ICMP_CHECKSUM, 0);
  putU32(icmp + NDP_FLAGS, <u32>flags << 24);
  memory.copy(icmp + NDP_TARGET, target, IPV6_ADDR_LEN);
  const opt = icmp + NDP_OPTIONS;
  store<u8>(opt + NDP_OPT_TYPE, NDP_OPT_TARGET_LL);
  store<u8>(opt + NDP_OPT_LEN, 1);
  putMac(opt + NDP_OPT_DATA, mac);
  putU16(icmp + ICMP_CHECKSUM, onesFinish(icmpv6Sum(p, icmp, NA_LEN)));
  return IPV6_HEADER_LEN + NA_LEN;
}
