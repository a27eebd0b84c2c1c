// ChaCha20-Poly1305 AEAD (RFC 8439) in plain TypeScript, for small datagrams: node:crypto builds an
// OpenSSL cipher object per packet, which costs ~150-300 us as the first call after an idle gap,
// while this routine touches only a few preallocated arrays (docs/security.md, "Two AEAD paths").
// No allocation per call: keystream and MAC state live in module-level typed arrays (JavaScript is
// single-threaded and nothing here re-enters), and output goes into the caller's buffer. Words are
// read and written byte by byte, so the result does not depend on the platform's endianness.
import { equalBytes } from "./bytes.ts";
import { AEAD_TAG_LEN as TAG_LEN } from "./provider.ts";

/** A 32-byte key as the 8 little-endian words ChaCha20 uses, converted once per session direction. */
export class ChaChaKey {
  readonly words = new Int32Array(8);

  constructor(raw: Uint8Array) {
    if (raw.length !== 32) throw new RangeError("ChaCha20-Poly1305 keys are 32 bytes");
    for (let i = 0; i < 8; i++) this.words[i] = readLE32(raw, 4 * i);
  }
}

/**
 * Seals `plaintext` under `key` and the 12-byte `nonce`, authenticating `aad` too: writes the
 * ciphertext then the 16-byte tag into `out` at `outOffset` (plaintext.length + 16 bytes).
 */
export function seal(key: ChaChaKey, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, outOffset: number): void {
  const n = plaintext.length;
  startMessage(key, nonce);
  chachaXor(key.words, 1, plaintext, 0, out, outOffset, n);
  macMessage(aad, out, outOffset, n);
  macTag(out, outOffset + n);
  block.fill(0); // the last keystream block
}

/**
 * Opens `packet[start, end)` (ciphertext then tag). Only when the tag matches does it write the
 * plaintext (end - start - 16 bytes) into `out` at `outOffset` and return true.
 */
export function open(
  key: ChaChaKey, nonce: Uint8Array, aad: Uint8Array, packet: Uint8Array, start: number, end: number, out: Uint8Array, outOffset: number,
): boolean {
  const n = end - start - TAG_LEN;
  if (n < 0) return false;
  startMessage(key, nonce);
  macMessage(aad, packet, start, n);
  macTag(expectedTag, 0);
  if (!equalBytes(expectedTag, 0, packet, end - TAG_LEN, TAG_LEN)) return false;
  chachaXor(key.words, 1, packet, start, out, outOffset, n);
  block.fill(0); // the last keystream block
  return true;
}

// --- ChaCha20 (RFC 8439 section 2.3) -------------------------------------------------------------

const SIGMA0 = 0x61707865; // "expand 32-byte k"
const SIGMA1 = 0x3320646e;
const SIGMA2 = 0x79622d32;
const SIGMA3 = 0x6b206574;

/** One 64-byte keystream block as 16 words. */
const block = new Int32Array(16);
/** The message's nonce as three words. */
let nonce0 = 0;
let nonce1 = 0;
let nonce2 = 0;

function readLE32(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
}

/** Computes keystream block `counter` for the current nonce into `block`. */
function chachaBlock(k: Int32Array, counter: number): void {
  const k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6], k7 = k[7];
  let x0 = SIGMA0, x1 = SIGMA1, x2 = SIGMA2, x3 = SIGMA3;
  let x4 = k0, x5 = k1, x6 = k2, x7 = k3, x8 = k4, x9 = k5, x10 = k6, x11 = k7;
  let x12 = counter, x13 = nonce0, x14 = nonce1, x15 = nonce2;
  for (let i = 0; i < 10; i++) {
    // Column round.
    x0 = (x0 + x4) | 0; x12 ^= x0; x12 = (x12 << 16) | (x12 >>> 16);
    x8 = (x8 + x12) | 0; x4 ^= x8; x4 = (x4 << 12) | (x4 >>> 20);
    x0 = (x0 + x4) | 0; x12 ^= x0; x12 = (x12 << 8) | (x12 >>> 24);
    x8 = (x8 + x12) | 0; x4 ^= x8; x4 = (x4 << 7) | (x4 >>> 25);

    x1 = (x1 + x5) | 0; x13 ^= x1; x13 = (x13 << 16) | (x13 >>> 16);
    x9 = (x9 + x13) | 0; x5 ^= x9; x5 = (x5 << 12) | (x5 >>> 20);
    x1 = (x1 + x5) | 0; x13 ^= x1; x13 = (x13 << 8) | (x13 >>> 24);
    x9 = (x9 + x13) | 0; x5 ^= x9; x5 = (x5 << 7) | (x5 >>> 25);

    x2 = (x2 + x6) | 0; x14 ^= x2; x14 = (x14 << 16) | (x14 >>> 16);
    x10 = (x10 + x14) | 0; x6 ^= x10; x6 = (x6 << 12) | (x6 >>> 20);
    x2 = (x2 + x6) | 0; x14 ^= x2; x14 = (x14 << 8) | (x14 >>> 24);
    x10 = (x10 + x14) | 0; x6 ^= x10; x6 = (x6 << 7) | (x6 >>> 25);

    x3 = (x3 + x7) | 0; x15 ^= x3; x15 = (x15 << 16) | (x15 >>> 16);
    x11 = (x11 + x15) | 0; x7 ^= x11; x7 = (x7 << 12) | (x7 >>> 20);
    x3 = (x3 + x7) | 0; x15 ^= x3; x15 = (x15 << 8) | (x15 >>> 24);
    x11 = (x11 + x15) | 0; x7 ^= x11; x7 = (x7 << 7) | (x7 >>> 25);

    // Diagonal round.
    x0 = (x0 + x5) | 0; x15 ^= x0; x15 = (x15 << 16) | (x15 >>> 16);
    x10 = (x10 + x15) | 0; x5 ^= x10; x5 = (x5 << 12) | (x5 >>> 20);
    x0 = (x0 + x5) | 0; x15 ^= x0; x15 = (x15 << 8) | (x15 >>> 24);
    x10 = (x10 + x15) | 0; x5 ^= x10; x5 = (x5 << 7) | (x5 >>> 25);

    x1 = (x1 + x6) | 0; x12 ^= x1; x12 = (x12 << 16) | (x12 >>> 16);
    x11 = (x11 + x12) | 0; x6 ^= x11; x6 = (x6 << 12) | (x6 >>> 20);
    x1 = (x1 + x6) | 0; x12 ^= x1; x12 = (x12 << 8) | (x12 >>> 24);
    x11 = (x11 + x12) | 0; x6 ^= x11; x6 = (x6 << 7) | (x6 >>> 25);

    x2 = (x2 + x7) | 0; x13 ^= x2; x13 = (x13 << 16) | (x13 >>> 16);
    x8 = (x8 + x13) | 0; x7 ^= x8; x7 = (x7 << 12) | (x7 >>> 20);
    x2 = (x2 + x7) | 0; x13 ^= x2; x13 = (x13 << 8) | (x13 >>> 24);
    x8 = (x8 + x13) | 0; x7 ^= x8; x7 = (x7 << 7) | (x7 >>> 25);

    x3 = (x3 + x4) | 0; x14 ^= x3; x14 = (x14 << 16) | (x14 >>> 16);
    x9 = (x9 + x14) | 0; x4 ^= x9; x4 = (x4 << 12) | (x4 >>> 20);
    x3 = (x3 + x4) | 0; x14 ^= x3; x14 = (x14 << 8) | (x14 >>> 24);
    x9 = (x9 + x14) | 0; x4 ^= x9; x4 = (x4 << 7) | (x4 >>> 25);
  }
  block[0] = x0 + SIGMA0; block[1] = x1 + SIGMA1; block[2] = x2 + SIGMA2; block[3] = x3 + SIGMA3;
  block[4] = x4 + k0; block[5] = x5 + k1; block[6] = x6 + k2; block[7] = x7 + k3;
  block[8] = x8 + k4; block[9] = x9 + k5; block[10] = x10 + k6; block[11] = x11 + k7;
  block[12] = x12 + counter; block[13] = x13 + nonce0; block[14] = x14 + nonce1; block[15] = x15 + nonce2;
}

/** out[o, o+n) = src[s, s+n) XOR the keystream from block `counter` on. */
function chachaXor(k: Int32Array, counter: number, src: Uint8Array, s: number, out: Uint8Array, o: number, n: number): void {
  while (n >= 64) {
    chachaBlock(k, counter++);
    for (let i = 0; i < 16; i++, s += 4, o += 4) {
      const w = block[i];
      out[o] = src[s] ^ w;
      out[o + 1] = src[s + 1] ^ (w >>> 8);
      out[o + 2] = src[s + 2] ^ (w >>> 16);
      out[o + 3] = src[s + 3] ^ (w >>> 24);
    }
    n -= 64;
  }
  if (n > 0) {
    chachaBlock(k, counter);
    for (let i = 0; i < n; i++) out[o + i] = src[s + i] ^ (block[i >> 2] >>> ((i & 3) << 3));
  }
}

// --- Poly1305 (RFC 8439 section 2.5) -------------------------------------------------------------
// The accumulator h and r are six 22-bit limbs held in doubles (limb i at 2^(22 i)). Each limb of a
// product is a sum of six limb products below 2^52, exact in a double, so the multiply needs no
// 64-bit integers; this measured ~15 % faster in V8 than ten 13-bit limbs on 32-bit integers, and
// five 26-bit limbs would overflow a double's 53 bits. A carry is a floor of a multiplication by
// 2^-22 (exact). 2^132 = 4 * 2^130 = 20 mod 2^130 - 5: products past limb 5 wrap around times 20.

const LIMB = 4194304; // 2^22
const PER_LIMB = 1 / LIMB;
const LIMB_MASK = 0x3fffff;
const TWO_32 = 4294967296;
/** The 2^128 bit every full block carries, as limb 5 holds it. */
const FULL_BLOCK = 1 << 18;

const r = new Float64Array(6);
const h = new Float64Array(6);
/** s, the second half of the one-time key, as four words. */
const pad = new Int32Array(4);
/** A zero-padded last block (AAD or ciphertext tail) or the lengths block. */
const tail = new Uint8Array(16);
const expectedTag = new Uint8Array(TAG_LEN);

/** Sets the nonce and derives the message's one-time Poly1305 key from keystream block 0. */
function startMessage(key: ChaChaKey, nonce: Uint8Array): void {
  if (nonce.length !== 12) throw new RangeError("ChaCha20-Poly1305 nonces are 12 bytes");
  nonce0 = readLE32(nonce, 0);
  nonce1 = readLE32(nonce, 4);
  nonce2 = readLE32(nonce, 8);
  chachaBlock(key.words, 0);
  macKey(block[0], block[1], block[2], block[3], block[4], block[5], block[6], block[7]);
  block.fill(0); // the one-time key now lives in r and pad only
}

/**
 * Poly1305 alone (RFC 8439 2.5) of `message` under a 32-byte one-time key, the tag into out at o.
 * The AEAD uses the same steps; this entry lets them be checked against the RFC's own vector.
 */
export function poly1305(oneTimeKey: Uint8Array, message: Uint8Array, out: Uint8Array, o: number): void {
  const k = oneTimeKey;
  macKey(readLE32(k, 0), readLE32(k, 4), readLE32(k, 8), readLE32(k, 12), readLE32(k, 16), readLE32(k, 20), readLE32(k, 24), readLE32(k, 28));
  const full = message.length >>> 4;
  macBlocks(message, 0, full, FULL_BLOCK);
  const rest = message.length & 15;
  if (rest > 0) {
    tail.fill(0);
    for (let i = 0; i < rest; i++) tail[i] = message[16 * full + i];
    tail[rest] = 1; // a short last block carries its 2^(8 rest) bit in the bytes
    macBlocks(tail, 0, 1, 0);
  }
  macTag(out, o);
}

/** Loads the one-time key: r from its first four words (clamped, RFC 8439 2.5.1), s from the rest. */
function macKey(k0: number, k1: number, k2: number, k3: number, k4: number, k5: number, k6: number, k7: number): void {
  const w0 = k0 & 0x0fffffff, w1 = k1 & 0x0ffffffc, w2 = k2 & 0x0ffffffc, w3 = k3 & 0x0ffffffc;
  r[0] = w0 & LIMB_MASK;
  r[1] = ((w0 >>> 22) | (w1 << 10)) & LIMB_MASK;
  r[2] = ((w1 >>> 12) | (w2 << 20)) & LIMB_MASK;
  r[3] = (w2 >>> 2) & LIMB_MASK;
  r[4] = ((w2 >>> 24) | (w3 << 8)) & LIMB_MASK;
  r[5] = w3 >>> 14;
  pad[0] = k4;
  pad[1] = k5;
  pad[2] = k6;
  pad[3] = k7;
  h.fill(0);
}

/** MACs aad || pad16 || ciphertext || pad16 || le64(aad.length) || le64(n), the ciphertext at c[o, o+n). */
function macMessage(aad: Uint8Array, c: Uint8Array, o: number, n: number): void {
  macPadded(aad, 0, aad.length);
  macPadded(c, o, n);
  writeLE64(tail, 0, aad.length);
  writeLE64(tail, 8, n);
  macBlocks(tail, 0, 1, FULL_BLOCK);
}

function macPadded(m: Uint8Array, o: number, n: number): void {
  const full = n >>> 4;
  if (full > 0) macBlocks(m, o, full, FULL_BLOCK);
  const rest = n & 15;
  if (rest === 0) return;
  tail.fill(0);
  for (let i = 0; i < rest; i++) tail[i] = m[o + 16 * full + i];
  macBlocks(tail, 0, 1, FULL_BLOCK); // the AEAD pads with zeros to a full block
}

function writeLE64(b: Uint8Array, o: number, v: number): void {
  writeLE32(b, o, v);
  writeLE32(b, o + 4, Math.floor(v / TWO_32));
}

/** h = (h + block + top) * r mod 2^130 - 5 for `count` 16-byte blocks of m from o; top is FULL_BLOCK or 0. */
function macBlocks(m: Uint8Array, o: number, count: number, top: number): void {
  const r0 = r[0], r1 = r[1], r2 = r[2], r3 = r[3], r4 = r[4], r5 = r[5];
  const s1 = 20 * r1, s2 = 20 * r2, s3 = 20 * r3, s4 = 20 * r4, s5 = 20 * r5;
  let h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4], h5 = h[5];
  for (; count > 0; count--, o += 16) {
    const w0 = readLE32(m, o), w1 = readLE32(m, o + 4), w2 = readLE32(m, o + 8), w3 = readLE32(m, o + 12);
    h0 += w0 & LIMB_MASK;
    h1 += ((w0 >>> 22) | (w1 << 10)) & LIMB_MASK;
    h2 += ((w1 >>> 12) | (w2 << 20)) & LIMB_MASK;
    h3 += (w2 >>> 2) & LIMB_MASK;
    h4 += ((w2 >>> 24) | (w3 << 8)) & LIMB_MASK;
    h5 += (w3 >>> 14) + top;

    let d0 = h0 * r0 + h1 * s5 + h2 * s4 + h3 * s3 + h4 * s2 + h5 * s1;
    let d1 = h0 * r1 + h1 * r0 + h2 * s5 + h3 * s4 + h4 * s3 + h5 * s2;
    let d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s5 + h4 * s4 + h5 * s3;
    let d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s5 + h5 * s4;
    let d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0 + h5 * s5;
    let d5 = h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1 + h5 * r0;
    let c = Math.floor(d0 * PER_LIMB); d0 -= c * LIMB;
    d1 += c; c = Math.floor(d1 * PER_LIMB); d1 -= c * LIMB;
    d2 += c; c = Math.floor(d2 * PER_LIMB); d2 -= c * LIMB;
    d3 += c; c = Math.floor(d3 * PER_LIMB); d3 -= c * LIMB;
    d4 += c; c = Math.floor(d4 * PER_LIMB); d4 -= c * LIMB;
    d5 += c; c = Math.floor(d5 * PER_LIMB); d5 -= c * LIMB;
    d0 += 20 * c; c = Math.floor(d0 * PER_LIMB); d0 -= c * LIMB;
    h0 = d0; h1 = d1 + c; h2 = d2; h3 = d3; h4 = d4; h5 = d5;
  }
  h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3; h[4] = h4; h[5] = h5;
}

/** Writes tag = (h mod 2^130 - 5) + s mod 2^128 into out at o. */
function macTag(out: Uint8Array, o: number): void {
  // Limbs are below 2^23 here: 32-bit integer arithmetic from now on. Two carry passes, folding
  // bits from 2^130 up back in times 5, leave 22-bit limbs (20 bits in limb 5) and h below 2^130.
  let h0 = h[0] | 0, h1 = h[1] | 0, h2 = h[2] | 0, h3 = h[3] | 0, h4 = h[4] | 0, h5 = h[5] | 0;
  for (let pass = 0; pass < 2; pass++) {
    h1 += h0 >>> 22; h0 &= LIMB_MASK;
    h2 += h1 >>> 22; h1 &= LIMB_MASK;
    h3 += h2 >>> 22; h2 &= LIMB_MASK;
    h4 += h3 >>> 22; h3 &= LIMB_MASK;
    h5 += h4 >>> 22; h4 &= LIMB_MASK;
    h0 += 5 * (h5 >>> 20); h5 &= 0xfffff;
  }
  // g = h + 5 - 2^130. If h + 5 reaches 2^130, h >= p and g is the reduced value: chosen by mask.
  let c = h0 + 5;
  const g0 = c & LIMB_MASK; c = h1 + (c >>> 22);
  const g1 = c & LIMB_MASK; c = h2 + (c >>> 22);
  const g2 = c & LIMB_MASK; c = h3 + (c >>> 22);
  const g3 = c & LIMB_MASK; c = h4 + (c >>> 22);
  const g4 = c & LIMB_MASK; c = h5 + (c >>> 22);
  const g5 = c & 0xfffff;
  const useG = -(c >>> 20);
  h0 = (h0 & ~useG) | (g0 & useG);
  h1 = (h1 & ~useG) | (g1 & useG);
  h2 = (h2 & ~useG) | (g2 & useG);
  h3 = (h3 & ~useG) | (g3 & useG);
  h4 = (h4 & ~useG) | (g4 & useG);
  h5 = (h5 & ~useG) | (g5 & useG);

  // The low 128 bits as four words, plus s; sums stay below 2^34 (exact), carries by division.
  let f = ((h0 | (h1 << 22)) >>> 0) + (pad[0] >>> 0);
  writeLE32(out, o, f);
  f = (((h1 >>> 10) | (h2 << 12)) >>> 0) + (pad[1] >>> 0) + ((f / TWO_32) | 0);
  writeLE32(out, o + 4, f);
  f = (((h2 >>> 20) | (h3 << 2) | (h4 << 24)) >>> 0) + (pad[2] >>> 0) + ((f / TWO_32) | 0);
  writeLE32(out, o + 8, f);
  f = (((h4 >>> 8) | (h5 << 14)) >>> 0) + (pad[3] >>> 0) + ((f / TWO_32) | 0);
  writeLE32(out, o + 12, f);
  // The one-time key (r, s) and the accumulator are not left behind for the next reader of memory.
  r.fill(0);
  pad.fill(0);
  h.fill(0);
}

/** True when no keystream or MAC state of the last message is left (tests/secure/aead.test.ts). */
export function scratchIsClear(): boolean {
  return block.every((v) => v === 0) && r.every((v) => v === 0) && pad.every((v) => v === 0) && h.every((v) => v === 0);
}

function writeLE32(b: Uint8Array, o: number, v: number): void {
  b[o] = v; b[o + 1] = v >>> 8; b[o + 2] = v >>> 16; b[o + 3] = v >>> 24;
}
