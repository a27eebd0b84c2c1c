// ChaCha20-Poly1305 (RFC 8439) for the hosts' small datagrams: a WASM module of its own, which the hosts
// supply as their crypto (the core never imports it). Compiled code from the first call: no tier-up for
// a lone packet to wait for, unlike the same routine in JavaScript (docs/performance.md "Small-packet
// AEAD"). One buffer at buffer(): the host writes key, nonce, AAD and message there and calls seal() or
// open(), which work in place. Nothing of a key stays behind: the key and nonce are wiped before return,
// the keystream and MAC state live in locals and globals that are cleared too.

/** Offsets in the buffer. */
export const KEY: usize = 0;
export const NONCE: usize = 32;
export const AAD: usize = 48;
export const AAD_MAX: u32 = 64;
export const MESSAGE: usize = 112;
/** The longest message; its 16-byte tag follows it. */
export const MESSAGE_MAX: u32 = 32768;
const TAG_LEN: u32 = 16;
const BUFFER = memory.data(<i32>(MESSAGE + MESSAGE_MAX + TAG_LEN));
/** A short last keystream block, or a zero-padded last MAC block. */
const SCRATCH = memory.data(64);

export function buffer(): usize {
  return BUFFER;
}

/**
 * Seals the `len`-byte message at MESSAGE under the key and nonce, authenticating `aadLen` bytes at AAD:
 * the ciphertext replaces it and the tag follows. 0 (nothing done) when a length is out of range.
 */
export function seal(aadLen: u32, len: u32): u32 {
  if (aadLen > AAD_MAX || len > MESSAGE_MAX) return wipe(0);
  const m = BUFFER + MESSAGE;
  macKeyFromBlockZero();
  chachaXor(m, len);
  macMessage(aadLen, m, len);
  macTag(m + len);
  return wipe(1);
}

/**
 * Opens the `len`-byte ciphertext at MESSAGE whose tag follows it: 1 and the plaintext in its place when
 * the tag matches, else 0 and the ciphertext left as it was.
 */
export function open(aadLen: u32, len: u32): u32 {
  if (aadLen > AAD_MAX || len > MESSAGE_MAX) return wipe(0);
  const m = BUFFER + MESSAGE;
  macKeyFromBlockZero();
  macMessage(aadLen, m, len);
  macTag(SCRATCH);
  // Constant time: every byte of the tag is compared.
  let diff: u32 = 0;
  for (let i: u32 = 0; i < TAG_LEN; i++) diff |= load<u8>(SCRATCH + i) ^ load<u8>(m + len + i);
  if (diff != 0) return wipe(0);
  chachaXor(m, len);
  return wipe(1);
}

/** 1 when key, nonce, scratch and MAC state are all zero, as every call leaves them (the hosts' tests). */
export function wiped(): u32 {
  let any: u64 = 0;
  for (let p = BUFFER + KEY; p < BUFFER + AAD; p += 8) any |= load<u64>(p);
  for (let p = SCRATCH; p < SCRATCH + 64; p += 8) any |= load<u64>(p);
  any |= r0 | r1 | r2 | r3 | r4 | h0 | h1 | h2 | h3 | h4 | pad0 | pad1 | pad2 | pad3;
  return u32(any == 0);
}

/** Clears key, nonce, scratch and MAC state; returns `result`. */
function wipe(result: u32): u32 {
  memory.fill(BUFFER + KEY, 0, AAD);
  memory.fill(SCRATCH, 0, 64);
  r0 = 0; r1 = 0; r2 = 0; r3 = 0; r4 = 0;
  h0 = 0; h1 = 0; h2 = 0; h3 = 0; h4 = 0;
  pad0 = 0; pad1 = 0; pad2 = 0; pad3 = 0;
  return result;
}

// --- ChaCha20 (RFC 8439 section 2.3) -------------------------------------------------------------

/** Keystream block `counter` XORed into the `n` (at most 64) bytes at `p`. */
function chachaBlockXor(counter: u32, p: usize, n: u32): void {
  const k = BUFFER + KEY;
  const nc = BUFFER + NONCE;
  const k0 = load<u32>(k), k1 = load<u32>(k, 4), k2 = load<u32>(k, 8), k3 = load<u32>(k, 12);
  const k4 = load<u32>(k, 16), k5 = load<u32>(k, 20), k6 = load<u32>(k, 24), k7 = load<u32>(k, 28);
  const n0 = load<u32>(nc), n1 = load<u32>(nc, 4), n2 = load<u32>(nc, 8);
  let x0: u32 = 0x61707865, x1: u32 = 0x3320646e, x2: u32 = 0x79622d32, x3: u32 = 0x6b206574; // "expand 32-byte k"
  let x4 = k0, x5 = k1, x6 = k2, x7 = k3, x8 = k4, x9 = k5, x10 = k6, x11 = k7;
  let x12 = counter, x13 = n0, x14 = n1, x15 = n2;
  for (let i = 0; i < 10; i++) {
    x0 += x4; x12 = rotl<u32>(x12 ^ x0, 16); x8 += x12; x4 = rotl<u32>(x4 ^ x8, 12);
    x0 += x4; x12 = rotl<u32>(x12 ^ x0, 8); x8 += x12; x4 = rotl<u32>(x4 ^ x8, 7);
    x1 += x5; x13 = rotl<u32>(x13 ^ x1, 16); x9 += x13; x5 = rotl<u32>(x5 ^ x9, 12);
    x1 += x5; x13 = rotl<u32>(x13 ^ x1, 8); x9 += x13; x5 = rotl<u32>(x5 ^ x9, 7);
    x2 += x6; x14 = rotl<u32>(x14 ^ x2, 16); x10 += x14; x6 = rotl<u32>(x6 ^ x10, 12);
    x2 += x6; x14 = rotl<u32>(x14 ^ x2, 8); x10 += x14; x6 = rotl<u32>(x6 ^ x10, 7);
    x3 += x7; x15 = rotl<u32>(x15 ^ x3, 16); x11 += x15; x7 = rotl<u32>(x7 ^ x11, 12);
    x3 += x7; x15 = rotl<u32>(x15 ^ x3, 8); x11 += x15; x7 = rotl<u32>(x7 ^ x11, 7);

    x0 += x5; x15 = rotl<u32>(x15 ^ x0, 16); x10 += x15; x5 = rotl<u32>(x5 ^ x10, 12);
    x0 += x5; x15 = rotl<u32>(x15 ^ x0, 8); x10 += x15; x5 = rotl<u32>(x5 ^ x10, 7);
    x1 += x6; x12 = rotl<u32>(x12 ^ x1, 16); x11 += x12; x6 = rotl<u32>(x6 ^ x11, 12);
    x1 += x6; x12 = rotl<u32>(x12 ^ x1, 8); x11 += x12; x6 = rotl<u32>(x6 ^ x11, 7);
    x2 += x7; x13 = rotl<u32>(x13 ^ x2, 16); x8 += x13; x7 = rotl<u32>(x7 ^ x8, 12);
    x2 += x7; x13 = rotl<u32>(x13 ^ x2, 8); x8 += x13; x7 = rotl<u32>(x7 ^ x8, 7);
    x3 += x4; x14 = rotl<u32>(x14 ^ x3, 16); x9 += x14; x4 = rotl<u32>(x4 ^ x9, 12);
    x3 += x4; x14 = rotl<u32>(x14 ^ x3, 8); x9 += x14; x4 = rotl<u32>(x4 ^ x9, 7);
  }
  // A full block is XORed word by word in place; a short one goes through SCRATCH byte by byte.
  const out = n == 64 ? p : SCRATCH;
  if (n < 64) memory.copy(SCRATCH, p, n);
  store<u32>(out, load<u32>(out) ^ (x0 + 0x61707865));
  store<u32>(out, load<u32>(out, 4) ^ (x1 + 0x3320646e), 4);
  store<u32>(out, load<u32>(out, 8) ^ (x2 + 0x79622d32), 8);
  store<u32>(out, load<u32>(out, 12) ^ (x3 + 0x6b206574), 12);
  store<u32>(out, load<u32>(out, 16) ^ (x4 + k0), 16);
  store<u32>(out, load<u32>(out, 20) ^ (x5 + k1), 20);
  store<u32>(out, load<u32>(out, 24) ^ (x6 + k2), 24);
  store<u32>(out, load<u32>(out, 28) ^ (x7 + k3), 28);
  store<u32>(out, load<u32>(out, 32) ^ (x8 + k4), 32);
  store<u32>(out, load<u32>(out, 36) ^ (x9 + k5), 36);
  store<u32>(out, load<u32>(out, 40) ^ (x10 + k6), 40);
  store<u32>(out, load<u32>(out, 44) ^ (x11 + k7), 44);
  store<u32>(out, load<u32>(out, 48) ^ (x12 + counter), 48);
  store<u32>(out, load<u32>(out, 52) ^ (x13 + n0), 52);
  store<u32>(out, load<u32>(out, 56) ^ (x14 + n1), 56);
  store<u32>(out, load<u32>(out, 60) ^ (x15 + n2), 60);
  if (n < 64) memory.copy(p, SCRATCH, n);
}

/** The `n` bytes at `p` XORed with the keystream from block 1 on. */
function chachaXor(p: usize, n: u32): void {
  let counter: u32 = 1;
  for (; n >= 64; n -= 64, p += 64) chachaBlockXor(counter++, p, 64);
  if (n > 0) chachaBlockXor(counter, p, n);
}

// --- Poly1305 (RFC 8439 section 2.5): five 26-bit limbs, 64-bit products -------------------------

const MASK26: u32 = 0x3ffffff;
let r0: u32 = 0, r1: u32 = 0, r2: u32 = 0, r3: u32 = 0, r4: u32 = 0;
let h0: u32 = 0, h1: u32 = 0, h2: u32 = 0, h3: u32 = 0, h4: u32 = 0;
let pad0: u32 = 0, pad1: u32 = 0, pad2: u32 = 0, pad3: u32 = 0;

/** The one-time key is keystream block 0: r (clamped) from its first 16 bytes, s from the next 16. */
function macKeyFromBlockZero(): void {
  memory.fill(SCRATCH, 0, 64);
  chachaBlockXor(0, SCRATCH, 64);
  macKey(SCRATCH);
  memory.fill(SCRATCH, 0, 64);
}

/** Loads the 32-byte one-time key at `k`. */
function macKey(k: usize): void {
  const t0 = load<u32>(k), t1 = load<u32>(k, 4), t2 = load<u32>(k, 8), t3 = load<u32>(k, 12);
  r0 = t0 & 0x3ffffff;
  r1 = ((t0 >>> 26) | (t1 << 6)) & 0x3ffff03;
  r2 = ((t1 >>> 20) | (t2 << 12)) & 0x3ffc0ff;
  r3 = ((t2 >>> 14) | (t3 << 18)) & 0x3f03fff;
  r4 = (t3 >>> 8) & 0x00fffff;
  pad0 = load<u32>(k, 16); pad1 = load<u32>(k, 20); pad2 = load<u32>(k, 24); pad3 = load<u32>(k, 28);
  h0 = 0; h1 = 0; h2 = 0; h3 = 0; h4 = 0;
}

/** h = (h + block + hibit * 2^128) * r mod 2^130 - 5 for `count` 16-byte blocks at `p`. */
function macBlocks(p: usize, count: u32, hibit: u32): void {
  const s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5;
  for (; count > 0; count--, p += 16) {
    const t0 = load<u32>(p), t1 = load<u32>(p, 4), t2 = load<u32>(p, 8), t3 = load<u32>(p, 12);
    h0 += t0 & MASK26;
    h1 += ((t0 >>> 26) | (t1 << 6)) & MASK26;
    h2 += ((t1 >>> 20) | (t2 << 12)) & MASK26;
    h3 += ((t2 >>> 14) | (t3 << 18)) & MASK26;
    h4 += (t3 >>> 8) | (hibit << 24);
    const d0 = <u64>h0 * r0 + <u64>h1 * s4 + <u64>h2 * s3 + <u64>h3 * s2 + <u64>h4 * s1;
    let d1 = <u64>h0 * r1 + <u64>h1 * r0 + <u64>h2 * s4 + <u64>h3 * s3 + <u64>h4 * s2;
    let d2 = <u64>h0 * r2 + <u64>h1 * r1 + <u64>h2 * r0 + <u64>h3 * s4 + <u64>h4 * s3;
    let d3 = <u64>h0 * r3 + <u64>h1 * r2 + <u64>h2 * r1 + <u64>h3 * r0 + <u64>h4 * s4;
    let d4 = <u64>h0 * r4 + <u64>h1 * r3 + <u64>h2 * r2 + <u64>h3 * r1 + <u64>h4 * r0;
    h0 = <u32>d0 & MASK26; d1 += d0 >> 26;
    h1 = <u32>d1 & MASK26; d2 += d1 >> 26;
    h2 = <u32>d2 & MASK26; d3 += d2 >> 26;
    h3 = <u32>d3 & MASK26; d4 += d3 >> 26;
    h4 = <u32>d4 & MASK26;
    h0 += <u32>(d4 >> 26) * 5;
    h1 += h0 >>> 26; h0 &= MASK26;
  }
}

/** MACs the `n` bytes at `p`, zero-padded to a whole block as the AEAD does. */
function macPadded(p: usize, n: u32): void {
  macBlocks(p, n >>> 4, 1);
  const rest = n & 15;
  if (rest == 0) return;
  memory.fill(SCRATCH, 0, 16);
  memory.copy(SCRATCH, p + (n & ~15), rest);
  macBlocks(SCRATCH, 1, 1);
}

/** MACs aad || pad16 || ciphertext || pad16 || le64(aad length) || le64(n). */
function macMessage(aadLen: u32, c: usize, n: u32): void {
  macPadded(BUFFER + AAD, aadLen);
  macPadded(c, n);
  store<u64>(SCRATCH, aadLen);
  store<u64>(SCRATCH, n, 8);
  macBlocks(SCRATCH, 1, 1);
}

/** Writes tag = (h mod 2^130 - 5) + s mod 2^128 at `out`. */
function macTag(out: usize): void {
  let c = h1 >>> 26; h1 &= MASK26;
  h2 += c; c = h2 >>> 26; h2 &= MASK26;
  h3 += c; c = h3 >>> 26; h3 &= MASK26;
  h4 += c; c = h4 >>> 26; h4 &= MASK26;
  h0 += c * 5; c = h0 >>> 26; h0 &= MASK26;
  h1 += c;
  // g = h + 5 - 2^130: when it does not go negative, h >= p and g is the reduced value (chosen by mask).
  let g0 = h0 + 5; c = g0 >>> 26; g0 &= MASK26;
  let g1 = h1 + c; c = g1 >>> 26; g1 &= MASK26;
  let g2 = h2 + c; c = g2 >>> 26; g2 &= MASK26;
  let g3 = h3 + c; c = g3 >>> 26; g3 &= MASK26;
  const g4 = h4 + c - (1 << 26);
  const useG = (g4 >>> 31) - 1; // all ones when g4 did not borrow
  h0 = (h0 & ~useG) | (g0 & useG);
  h1 = (h1 & ~useG) | (g1 & useG);
  h2 = (h2 & ~useG) | (g2 & useG);
  h3 = (h3 & ~useG) | (g3 & useG);
  h4 = (h4 & ~useG) | (g4 & useG);
  const w0 = h0 | (h1 << 26), w1 = (h1 >>> 6) | (h2 << 20), w2 = (h2 >>> 12) | (h3 << 14), w3 = (h3 >>> 18) | (h4 << 8);
  let f = <u64>w0 + pad0; store<u32>(out, <u32>f);
  f = <u64>w1 + pad1 + (f >> 32); store<u32>(out, <u32>f, 4);
  f = <u64>w2 + pad2 + (f >> 32); store<u32>(out, <u32>f, 8);
  f = <u64>w3 + pad3 + (f >> 32); store<u32>(out, <u32>f, 12);
}

/** Poly1305 alone (RFC 8439 2.5.2's vector): the one-time key at KEY, `len` bytes at MESSAGE, the tag after them. */
export function poly1305(len: u32): u32 {
  if (len > MESSAGE_MAX) return wipe(0);
  const m = BUFFER + MESSAGE;
  macKey(BUFFER + KEY);
  macBlocks(m, len >>> 4, 1);
  const rest = len & 15;
  if (rest > 0) {
    memory.fill(SCRATCH, 0, 16);
    memory.copy(SCRATCH, m + (len & ~15), rest);
    store<u8>(SCRATCH + rest, 1); // a short last block carries its 2^(8 rest) bit in the bytes
    macBlocks(SCRATCH, 1, 0);
  }
  macTag(m + len);
  return wipe(1);
}
