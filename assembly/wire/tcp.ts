// TCP header view (RFC 9293).
//   src_port(2) dst_port(2) seq(4) ack(4) data_offset/reserved(1) flags(1)
//   window(2) checksum(2) urgent(2) options(data_offset*4 - 20)
// The checksum covers a pseudo-header from the IP layer (ipv4PseudoSum / ipv6PseudoSum).
import { WireCheck } from "./check";
import { getU16, getU32, putU16, putU32 } from "./bytes";
import { onesFinish, onesFold, onesSum } from "./checksum";

export const TCP_SRC_PORT: u32 = 0;
export const TCP_DST_PORT: u32 = 2;
export const TCP_SEQ: u32 = 4;
export const TCP_ACK_NUM: u32 = 8;
export const TCP_DATA_OFFSET: u32 = 12;
export const TCP_FLAGS: u32 = 13;
export const TCP_WINDOW: u32 = 14;
export const TCP_CHECKSUM: u32 = 16;
export const TCP_URGENT: u32 = 18;
export const TCP_HEADER_LEN: u32 = 20;

export const TCP_FIN: u8 = 0x01;
export const TCP_SYN: u8 = 0x02;
export const TCP_PSH: u8 = 0x08;
export const TCP_ACK: u8 = 0x10;
export const TCP_CWR: u8 = 0x80;

export const TCP_OPT_END: u8 = 0;
export const TCP_OPT_NOP: u8 = 1;
export const TCP_OPT_MSS: u8 = 2;
export const TCP_OPT_MSS_LEN: u8 = 4;

/** Checks the `len` bytes at `p` (the segment, to the end of its IP packet) hold the header its data offset names. */
export function tcpCheck(p: usize, len: u32): WireCheck {
  if (len < TCP_HEADER_LEN) return WireCheck.Truncated;
  const headerLen = tcpHeaderLen(p);
  if (headerLen < TCP_HEADER_LEN) return WireCheck.Malformed;
  if (headerLen > len) return WireCheck.Truncated;
  return WireCheck.Ok;
}

// @ts-ignore: decorator
@inline export function tcpHeaderLen(p: usize): u32 { return <u32>(load<u8>(p + TCP_DATA_OFFSET) >> 4) << 2; }
// @ts-ignore: decorator
@inline export function tcpSeq(p: usize): u32 { return getU32(p + TCP_SEQ); }
// @ts-ignore: decorator
@inline export function tcpSetSeq(p: usize, seq: u32): void { putU32(p + TCP_SEQ, seq); }
// @ts-ignore: decorator
@inline export function tcpFlags(p: usize): u8 { return load<u8>(p + TCP_FLAGS); }
// @ts-ignore: decorator
@inline export function tcpSetFlags(p: usize, flags: u8): void { store<u8>(p + TCP_FLAGS, flags); }

/** True when the checksum over the `len`-byte segment is right, `pseudo` being the pseudo-header's partial sum. */
export function tcpChecksumValid(p: usize, len: u32, pseudo: u32): bool {
  return onesFinish(onesSum(p, len, pseudo)) == 0;
}

/** Computes the checksum over the `len`-byte segment (pseudo-header partial sum `pseudo`) and stores it. */
export function tcpFillChecksum(p: usize, len: u32, pseudo: u32): void {
  putU16(p + TCP_CHECKSUM, 0);
  putU16(p + TCP_CHECKSUM, onesFinish(onesSum(p, len, pseudo)));
}

/**
 * Offset within the header of the MSS option's value (a SYN's), or 0 when there is none or the
 * options are malformed. Requires tcpCheck Ok.
 */
export function tcpMssOffset(p: usize): u32 {
  const end = tcpHeaderLen(p);
  let off = TCP_HEADER_LEN;
  while (off < end) {
    const kind = load<u8>(p + off);
    if (kind == TCP_OPT_END) return 0;
    if (kind == TCP_OPT_NOP) { off++; continue; }
    if (off + 2 > end) return 0;
    const optLen = <u32>load<u8>(p + off + 1);
    if (optLen < 2 || off + optLen > end) return 0;
    if (kind == TCP_OPT_MSS) return optLen == <u32>TCP_OPT_MSS_LEN ? off + 2 : 0;
    off += optLen;
  }
  return 0;
}

/**
 * Replaces the 16-bit field at `p + at` with `value`, updating the checksum without a pass over the
 * segment (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')). A field at an odd offset straddles two
 * checksum words: it adds to the sum byte-swapped.
 */
export function tcpReplaceU16(p: usize, at: u32, value: u16): void {
  const old = getU16(p + at);
  putU16(p + at, value);
  const m: u16 = (at & 1) != 0 ? bswap<u16>(old) : old;
  const m2: u16 = (at & 1) != 0 ? bswap<u16>(value) : value;
  const hc = <u32>(~getU16(p + TCP_CHECKSUM) & 0xffff);
  putU16(p + TCP_CHECKSUM, <u16>~onesFold(<u64>hc + <u64>(~m & 0xffff) + <u64>m2));
}
