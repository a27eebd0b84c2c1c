// The Internet checksum (RFC 1071): the ones' complement of the ones' complement
// sum of 16-bit big-endian words. Sums are kept "partial" (folded to 16 bits,
// not complemented) so pseudo-headers and bodies can be added up separately.

/** Adds a partial sum's carries back in until it fits 16 bits. */
// @ts-ignore: decorator
@inline export function onesFold(sum: u64): u32 {
  sum = (sum & 0xffff_ffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return <u32>((sum & 0xffff) + (sum >> 16));
}

/**
 * Partial sum of `len` bytes at `p` (an odd last byte is padded with zero),
 * added to the partial sum `initial`. Reads exactly [p, p + len).
 */
export function onesSum(p: usize, len: u32, initial: u32): u32 {
  // Summing little-endian words and swapping once at the end gives the
  // big-endian sum (RFC 1071 section 2, byte order independence).
  let acc: u64 = 0;
  let i: u32 = 0;
  for (; i + 4 <= len; i += 4) acc += <u64>load<u32>(p + i);
  if (i + 2 <= len) { acc += <u64>load<u16>(p + i); i += 2; }
  if (i < len) acc += <u64>load<u8>(p + i);
  const native = onesFold(acc);
  const network = <u32>bswap<u16>(<u16>native);
  return onesFold(<u64>network + <u64>initial);
}

/** The checksum field value for a partial sum: its ones' complement, 16 bits. */
// @ts-ignore: decorator
@inline export function onesFinish(sum: u32): u16 { return <u16>~onesFold(<u64>sum); }
