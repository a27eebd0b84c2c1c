// IPv6 fixed header view (RFC 8200). Extension headers are payload here.
//   ver/tc/flow(4) payload_len(2) next_header(1) hop_limit(1) src(16) dst(16)
// Addresses are read as two u64 halves (network order value) or used in place
// through a pointer (ipv6Src / ipv6Dst).
import { WireCheck } from "./check";
import { getU16, getU32, getU64, putU16, putU32 } from "./bytes";
import { onesSum } from "./checksum";

export const IPV6_VER_TC_FLOW: u32 = 0;
export const IPV6_PAYLOAD_LEN: u32 = 4;
export const IPV6_NEXT_HEADER: u32 = 6;
export const IPV6_HOP_LIMIT: u32 = 7;
export const IPV6_SRC: u32 = 8;
export const IPV6_DST: u32 = 24;
export const IPV6_ADDR_LEN: u32 = 16;
export const IPV6_HEADER_LEN: u32 = 40;

/**
 * Checks the `len` bytes at `p` hold the fixed header and the payload its
 * payload length names (trailing bytes are allowed). Accessors require Ok.
 */
export function ipv6Check(p: usize, len: u32): WireCheck {
  if (len < IPV6_HEADER_LEN) return WireCheck.Truncated;
  if (load<u8>(p + IPV6_VER_TC_FLOW) >> 4 != 6) return WireCheck.BadVersion;
  if (<u32>getU16(p + IPV6_PAYLOAD_LEN) > len - IPV6_HEADER_LEN) return WireCheck.Truncated;
  return WireCheck.Ok;
}

// @ts-ignore: decorator
@inline export function ipv6TrafficClass(p: usize): u8 { return <u8>(getU32(p + IPV6_VER_TC_FLOW) >> 20); }
// @ts-ignore: decorator
@inline export function ipv6FlowLabel(p: usize): u32 { return getU32(p + IPV6_VER_TC_FLOW) & 0x000f_ffff; }
// @ts-ignore: decorator
@inline export function ipv6PayloadLen(p: usize): u32 { return <u32>getU16(p + IPV6_PAYLOAD_LEN); }
// @ts-ignore: decorator
@inline export function ipv6NextHeader(p: usize): u8 { return load<u8>(p + IPV6_NEXT_HEADER); }
// @ts-ignore: decorator
@inline export function ipv6HopLimit(p: usize): u8 { return load<u8>(p + IPV6_HOP_LIMIT); }
/** Pointer to the 16-byte source address. */
// @ts-ignore: decorator
@inline export function ipv6Src(p: usize): usize { return p + IPV6_SRC; }
/** Pointer to the 16-byte destination address. */
// @ts-ignore: decorator
@inline export function ipv6Dst(p: usize): usize { return p + IPV6_DST; }
// @ts-ignore: decorator
@inline export function ipv6SrcHi(p: usize): u64 { return getU64(p + IPV6_SRC); }
// @ts-ignore: decorator
@inline export function ipv6SrcLo(p: usize): u64 { return getU64(p + IPV6_SRC + 8); }
// @ts-ignore: decorator
@inline export function ipv6DstHi(p: usize): u64 { return getU64(p + IPV6_DST); }
// @ts-ignore: decorator
@inline export function ipv6DstLo(p: usize): u64 { return getU64(p + IPV6_DST + 8); }

/** True for multicast destinations (ff00::/8). */
// @ts-ignore: decorator
@inline export function ipv6DstIsMulticast(p: usize): bool { return load<u8>(p + IPV6_DST) == 0xff; }

/**
 * Partial sum of the pseudo-header upper-layer checksums cover (RFC 8200
 * 8.1), taking the addresses from the header at `p`.
 */
export function ipv6PseudoSum(p: usize, nextHeader: u8, upperLen: u32): u32 {
  // src and dst are adjacent: one 32-byte run.
  return onesSum(p + IPV6_SRC, 2 * IPV6_ADDR_LEN, (upperLen >> 16) + (upperLen & 0xffff) + <u32>nextHeader);
}

/**
 * Writes a 40-byte header at `p` (room for `cap` bytes) with traffic class and
 * flow label 0, copying the 16-byte addresses at `src` and `dst`. Returns the
 * header length, or 0 when it does not fit or the payload is too long.
 */
export function ipv6Emit(
  p: usize, cap: u32, src: usize, dst: usize, nextHeader: u8, hopLimit: u8, payloadLen: u32,
): u32 {
  if (cap < IPV6_HEADER_LEN || payloadLen > 0xffff) return 0;
  putU32(p + IPV6_VER_TC_FLOW, 0x6000_0000);
  putU16(p + IPV6_PAYLOAD_LEN, <u16>payloadLen);
  store<u8>(p + IPV6_NEXT_HEADER, nextHeader);
  store<u8>(p + IPV6_HOP_LIMIT, hopLimit);
  memory.copy(p + IPV6_SRC, src, IPV6_ADDR_LEN);
  memory.copy(p + IPV6_DST, dst, IPV6_ADDR_LEN);
  return IPV6_HEADER_LEN;
}
