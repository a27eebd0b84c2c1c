// UDP header view (RFC 768).
//   src_port(2) dst_port(2) length(2) checksum(2) payload
// The checksum covers a pseudo-header from the IP layer: ipv4PseudoSum /
// ipv6PseudoSum give its partial sum.
import { WireCheck } from "./check";
import { getU16, putU16 } from "./bytes";
import { onesFinish, onesSum } from "./checksum";
import { IP_PROTO_UDP, ipv4PseudoSum } from "./ipv4";
import { ipv6PseudoSum } from "./ipv6";

export const UDP_SRC_PORT: u32 = 0;
export const UDP_DST_PORT: u32 = 2;
export const UDP_LENGTH: u32 = 4;
export const UDP_CHECKSUM: u32 = 6;
export const UDP_HEADER_LEN: u32 = 8;
export const UDP_MAX_LEN: u32 = 0xffff;

/**
 * Checks the `len` bytes at `p` hold a UDP header and the whole datagram its
 * length field names (trailing bytes are allowed). Accessors require Ok.
 */
export function udpCheck(p: usize, len: u32): WireCheck {
  if (len < UDP_HEADER_LEN) return WireCheck.Truncated;
  const length = <u32>getU16(p + UDP_LENGTH);
  if (length < UDP_HEADER_LEN) return WireCheck.Malformed;
  if (length > len) return WireCheck.Truncated;
  return WireCheck.Ok;
}

// @ts-ignore: decorator
@inline export function udpSrcPort(p: usize): u16 { return getU16(p + UDP_SRC_PORT); }
// @ts-ignore: decorator
@inline export function udpDstPort(p: usize): u16 { return getU16(p + UDP_DST_PORT); }
/** The datagram length (header included) from the length field. */
// @ts-ignore: decorator
@inline export function udpLength(p: usize): u32 { return <u32>getU16(p + UDP_LENGTH); }
// @ts-ignore: decorator
@inline export function udpChecksumField(p: usize): u16 { return getU16(p + UDP_CHECKSUM); }
// @ts-ignore: decorator
@inline export function udpPayloadLen(p: usize): u32 { return udpLength(p) - UDP_HEADER_LEN; }

/** True when the checksum is right for IPv4 addresses `src`/`dst`, or absent (0). */
export function udpChecksumValidIpv4(p: usize, src: u32, dst: u32): bool {
  if (udpChecksumField(p) == 0) return true;
  const len = udpLength(p);
  return onesFinish(onesSum(p, len, ipv4PseudoSum(src, dst, IP_PROTO_UDP, len))) == 0;
}

/** Computes the checksum for IPv4 addresses `src`/`dst` and stores it. */
export function udpFillChecksumIpv4(p: usize, src: u32, dst: u32): void {
  const len = udpLength(p);
  putU16(p + UDP_CHECKSUM, 0);
  storeChecksum(p, onesFinish(onesSum(p, len, ipv4PseudoSum(src, dst, IP_PROTO_UDP, len))));
}

/** True when the checksum is right under the IPv6 header at `ip6` (a zero checksum is invalid over IPv6). */
export function udpChecksumValidIpv6(p: usize, ip6: usize): bool {
  if (udpChecksumField(p) == 0) return false;
  const len = udpLength(p);
  return onesFinish(onesSum(p, len, ipv6PseudoSum(ip6, IP_PROTO_UDP, len))) == 0;
}

/** Computes the checksum under the IPv6 header at `ip6` and stores it. */
export function udpFillChecksumIpv6(p: usize, ip6: usize): void {
  const len = udpLength(p);
  putU16(p + UDP_CHECKSUM, 0);
  storeChecksum(p, onesFinish(onesSum(p, len, ipv6PseudoSum(ip6, IP_PROTO_UDP, len))));
}

// A computed 0 is sent as 0xffff: 0 on the wire means "no checksum".
function storeChecksum(p: usize, sum: u16): void {
  putU16(p + UDP_CHECKSUM, sum == 0 ? 0xffff : sum);
}

/**
 * Writes an 8-byte header (checksum 0: fill it once the payload is in place)
 * at `p` (room for `cap` bytes) for `payloadLen` bytes. Returns the header
 * length, or 0 when it does not fit or the datagram would be too long.
 */
export function udpEmit(p: usize, cap: u32, srcPort: u16, dstPort: u16, payloadLen: u32): u32 {
  if (cap < UDP_HEADER_LEN || payloadLen > UDP_MAX_LEN - UDP_HEADER_LEN) return 0;
  putU16(p + UDP_SRC_PORT, srcPort);
  putU16(p + UDP_DST_PORT, dstPort);
  putU16(p + UDP_LENGTH, <u16>(UDP_HEADER_LEN + payloadLen));
  putU16(p + UDP_CHECKSUM, 0);
  return UDP_HEADER_LEN;
}
