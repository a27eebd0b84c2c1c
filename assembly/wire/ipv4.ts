// IPv4 header view (RFC 791).
//   ver/ihl(1) tos(1) total_len(2) ident(2) flags/frag(2) ttl(1) protocol(1)
//   checksum(2) src(4) dst(4) options(ihl*4 - 20)
// Addresses are u32 in network order value (198.18.0.1 is 0xc6120001).
import { WireCheck } from "./check";
import { getU16, getU32, putU16, putU32 } from "./bytes";
import { onesFinish, onesFold, onesSum } from "./checksum";

export const IPV4_VER_IHL: u32 = 0;
export const IPV4_TOS: u32 = 1;
export const IPV4_TOTAL_LEN: u32 = 2;
export const IPV4_IDENT: u32 = 4;
export const IPV4_FLAGS_FRAG: u32 = 6;
export const IPV4_TTL: u32 = 8;
export const IPV4_PROTOCOL: u32 = 9;
export const IPV4_CHECKSUM: u32 = 10;
export const IPV4_SRC: u32 = 12;
export const IPV4_DST: u32 = 16;
export const IPV4_HEADER_LEN: u32 = 20;
export const IPV4_MAX_LEN: u32 = 0xffff;

export const IPV4_FLAG_DF: u16 = 0x4000;
export const IPV4_FLAG_MF: u16 = 0x2000;
export const IPV4_FRAG_OFFSET_MASK: u16 = 0x1fff;

export const IP_PROTO_ICMP: u8 = 1;
export const IP_PROTO_TCP: u8 = 6;
export const IP_PROTO_UDP: u8 = 17;
export const IP_PROTO_ICMPV6: u8 = 58;

/**
 * Checks the `len` bytes at `p` hold an IPv4 header and the whole packet its
 * total length names (trailing bytes, e.g. Ethernet padding, are allowed).
 * Every accessor below requires Ok.
 */
export function ipv4Check(p: usize, len: u32): WireCheck {
  if (len < IPV4_HEADER_LEN) return WireCheck.Truncated;
  const verIhl = load<u8>(p + IPV4_VER_IHL);
  if (verIhl >> 4 != 4) return WireCheck.BadVersion;
  const headerLen = <u32>(verIhl & 0x0f) << 2;
  if (headerLen < IPV4_HEADER_LEN) return WireCheck.Malformed;
  const totalLen = <u32>getU16(p + IPV4_TOTAL_LEN);
  if (totalLen < headerLen) return WireCheck.Malformed;
  if (totalLen > len) return WireCheck.Truncated;
  return WireCheck.Ok;
}

// @ts-ignore: decorator
@inline export function ipv4HeaderLen(p: usize): u32 { return <u32>(load<u8>(p + IPV4_VER_IHL) & 0x0f) << 2; }
// @ts-ignore: decorator
@inline export function ipv4TotalLen(p: usize): u32 { return <u32>getU16(p + IPV4_TOTAL_LEN); }
// @ts-ignore: decorator
@inline export function ipv4PayloadLen(p: usize): u32 { return ipv4TotalLen(p) - ipv4HeaderLen(p); }
// @ts-ignore: decorator
@inline export function ipv4Ident(p: usize): u16 { return getU16(p + IPV4_IDENT); }
// @ts-ignore: decorator
@inline export function ipv4Ttl(p: usize): u8 { return load<u8>(p + IPV4_TTL); }
// @ts-ignore: decorator
@inline export function ipv4Protocol(p: usize): u8 { return load<u8>(p + IPV4_PROTOCOL); }
// @ts-ignore: decorator
@inline export function ipv4ChecksumField(p: usize): u16 { return getU16(p + IPV4_CHECKSUM); }
// @ts-ignore: decorator
@inline export function ipv4Src(p: usize): u32 { return getU32(p + IPV4_SRC); }
// @ts-ignore: decorator
@inline export function ipv4Dst(p: usize): u32 { return getU32(p + IPV4_DST); }

/** True for any fragment but a whole datagram (MF set or a non-zero offset). */
// @ts-ignore: decorator
@inline export function ipv4IsFragment(p: usize): bool {
  return (getU16(p + IPV4_FLAGS_FRAG) & (IPV4_FLAG_MF | IPV4_FRAG_OFFSET_MASK)) != 0;
}

/** True when the header checksum (over ipv4HeaderLen bytes) is right. */
export function ipv4ChecksumValid(p: usize): bool {
  return onesFinish(onesSum(p, ipv4HeaderLen(p), 0)) == 0;
}

/** Computes the header checksum and stores it in the checksum field. */
export function ipv4FillChecksum(p: usize): void {
  putU16(p + IPV4_CHECKSUM, 0);
  putU16(p + IPV4_CHECKSUM, onesFinish(onesSum(p, ipv4HeaderLen(p), 0)));
}

/** Partial sum of the pseudo-header UDP and TCP checksums cover (RFC 768). */
export function ipv4PseudoSum(src: u32, dst: u32, protocol: u8, upperLen: u32): u32 {
  return onesFold(
    <u64>(src >> 16) + <u64>(src & 0xffff) + <u64>(dst >> 16) + <u64>(dst & 0xffff) +
    <u64>protocol + <u64>upperLen,
  );
}

/**
 * Writes a 20-byte header (no options, DF set, checksum filled) for a payload
 * of `payloadLen` bytes at `p`, which has room for `cap` bytes. Returns the
 * header length, or 0 when it does not fit or the packet would be too long.
 */
export function ipv4Emit(
  p: usize, cap: u32, src: u32, dst: u32, protocol: u8, ttl: u8, ident: u16, payloadLen: u32,
): u32 {
  if (cap < IPV4_HEADER_LEN || payloadLen > IPV4_MAX_LEN - IPV4_HEADER_LEN) return 0;
  store<u8>(p + IPV4_VER_IHL, 0x45);
  store<u8>(p + IPV4_TOS, 0);
  putU16(p + IPV4_TOTAL_LEN, <u16>(IPV4_HEADER_LEN + payloadLen));
  putU16(p + IPV4_IDENT, ident);
  putU16(p + IPV4_FLAGS_FRAG, IPV4_FLAG_DF);
  store<u8>(p + IPV4_TTL, ttl);
  store<u8>(p + IPV4_PROTOCOL, protocol);
  putU32(p + IPV4_SRC, src);
  putU32(p + IPV4_DST, dst);
  ipv4FillChecksum(p);
  return IPV4_HEADER_LEN;
}
