// Deterministic PRNG (xoshiro128**), seeded only from bytes the host feeds in
// (IN_RANDOM). The core never reads a random source of its own, so a given
// input trace always yields the same outputs.

let s0: u32 = 0x9e3779b9;
let s1: u32 = 0x243f6a88;
let s2: u32 = 0xb7e15162;
let s3: u32 = 0x6a09e667;

/** Mix host-provided entropy into the state. */
export function mixEntropy(ptr: usize, len: u32): void {
  for (let i: u32 = 0; i < len; i++) {
    const b = <u32>load<u8>(ptr + i);
    s0 ^= b << ((i & 3) << 3);
    nextU32();
  }
  if ((s0 | s1 | s2 | s3) == 0) s0 = 1; // the all-zero state is a fixed point
}

export function nextU32(): u32 {
  const result = rotl(s1 * 5, 7) * 9;
  const t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = rotl(s3, 11);
  return result;
}

/** Uniform integer in [0, n); n > 0. */
export function nextBelow(n: u32): u32 {
  return <u32>((<u64>nextU32() * <u64>n) >> 32);
}

/** Uniform float in [0, 1). */
export function nextUnit(): f64 {
  return <f64>(nextU32() >>> 5) / 134217728.0; // 2^27
}
