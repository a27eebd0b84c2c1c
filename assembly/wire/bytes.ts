// Big-endian (network order) loads and stores over linear memory.
// Callers check lengths before calling; these do no bounds checks.

// @ts-ignore: decorator
@inline export function getU16(p: usize): u16 { return bswap<u16>(load<u16>(p)); }
// @ts-ignore: decorator
@inline export function getU32(p: usize): u32 { return bswap<u32>(load<u32>(p)); }
// @ts-ignore: decorator
@inline export function getU64(p: usize): u64 { return bswap<u64>(load<u64>(p)); }
// @ts-ignore: decorator
@inline export function putU16(p: usize, v: u16): void { store<u16>(p, bswap<u16>(v)); }
// @ts-ignore: decorator
@inline export function putU32(p: usize, v: u32): void { store<u32>(p, bswap<u32>(v)); }
// @ts-ignore: decorator
@inline export function putU64(p: usize, v: u64): void { store<u64>(p, bswap<u64>(v)); }

/** A 48-bit MAC address at p, as the low 48 bits of a u64 (first byte most significant). */
// @ts-ignore: decorator
@inline export function getMac(p: usize): u64 {
  return (<u64>getU16(p) << 32) | <u64>getU32(p + 2);
}
// @ts-ignore: decorator
@inline export function putMac(p: usize, mac: u64): void {
  putU16(p, <u16>(mac >> 32));
  putU32(p + 2, <u32>mac);
}
