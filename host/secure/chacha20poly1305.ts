// ChaCha20-Poly1305 AEAD (RFC 8439) for small datagrams, on the WASM module assembly/aead: node:crypto
// builds an OpenSSL cipher object per packet (~150-300 us as the first call after an idle gap) and a
// libsodium call through the FFI costs ~40 us cold, while this is compiled code from the first packet,
// with no JavaScript tier-up to wait for (docs/security.md "Two AEAD paths", docs/performance.md
// "Small-packet AEAD"). The bundles carry the module's bytes (DIVS_AEAD_WASM, base64, defined at build
// time). One instance, one buffer in its memory: JavaScript is single-threaded and nothing here re-enters.
import { AEAD_TAG_LEN as TAG_LEN } from "./provider.ts";

declare const DIVS_AEAD_WASM: string;

interface AeadExports {
  memory: WebAssembly.Memory;
  buffer(): number;
  seal(aadLen: number, len: number): number;
  open(aadLen: number, len: number): number;
  poly1305(len: number): number;
  wiped(): number;
  KEY: WebAssembly.Global;
  NONCE: WebAssembly.Global;
  AAD: WebAssembly.Global;
  AAD_MAX: WebAssembly.Global;
  MESSAGE: WebAssembly.Global;
  MESSAGE_MAX: WebAssembly.Global;
}

/** The module's buffer, laid out as assembly/aead/chacha20poly1305.ts says. */
class AeadModule {
  readonly exports: AeadExports;
  readonly bytes: Uint8Array;
  readonly key: number;
  readonly nonce: number;
  readonly aad: number;
  readonly message: number;
  readonly aadMax: number;
  readonly messageMax: number;

  constructor(wasm: Uint8Array<ArrayBuffer>) {
    const imports = { env: { abort: () => { throw new Error("AEAD module aborted"); } } };
    this.exports = new WebAssembly.Instance(new WebAssembly.Module(wasm), imports).exports as unknown as AeadExports;
    const base = this.exports.buffer();
    this.bytes = new Uint8Array(this.exports.memory.buffer); // the module never grows its memory
    this.key = base + this.exports.KEY.value;
    this.nonce = base + this.exports.NONCE.value;
    this.aad = base + this.exports.AAD.value;
    this.message = base + this.exports.MESSAGE.value;
    this.aadMax = this.exports.AAD_MAX.value;
    this.messageMax = this.exports.MESSAGE_MAX.value;
  }

  /** Key, nonce and AAD into the buffer, after checking the lengths the module takes. */
  load(key: ChaChaKey, nonce: Uint8Array, aad: Uint8Array, messageLen: number): void {
    if (nonce.length !== 12) throw new RangeError("ChaCha20-Poly1305 nonces are 12 bytes");
    if (aad.length > this.aadMax || messageLen > this.messageMax) throw new RangeError(`AEAD: ${aad.length}-byte AAD or ${messageLen}-byte message too long`);
    this.bytes.set(key.raw, this.key);
    this.bytes.set(nonce, this.nonce);
    this.bytes.set(aad, this.aad);
  }
}

let instance: AeadModule | null = null;
/** Compiled at first use (3 KB: microseconds), not by every `divs` command that loads this file. */
function aead(): AeadModule {
  return (instance ??= new AeadModule(Uint8Array.from(atob(DIVS_AEAD_WASM), (c) => c.charCodeAt(0))));
}

/** A 32-byte key, copied once per session direction. */
export class ChaChaKey {
  readonly raw: Uint8Array;

  constructor(raw: Uint8Array) {
    if (raw.length !== 32) throw new RangeError("ChaCha20-Poly1305 keys are 32 bytes");
    this.raw = Uint8Array.from(raw);
  }
}

/**
 * Seals `plaintext` under `key` and the 12-byte `nonce`, authenticating `aad` too: writes the
 * ciphertext then the 16-byte tag into `out` at `outOffset` (plaintext.length + 16 bytes).
 */
export function seal(key: ChaChaKey, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, outOffset: number): void {
  const m = aead();
  const n = plaintext.length;
  m.load(key, nonce, aad, n);
  m.bytes.set(plaintext, m.message);
  m.exports.seal(aad.length, n);
  out.set(m.bytes.subarray(m.message, m.message + n + TAG_LEN), outOffset);
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
  const m = aead();
  m.load(key, nonce, aad, n);
  m.bytes.set(packet.subarray(start, end), m.message);
  if (m.exports.open(aad.length, n) !== 1) return false;
  out.set(m.bytes.subarray(m.message, m.message + n), outOffset);
  m.bytes.fill(0, m.message, m.message + n); // the plaintext lives on in `out` only
  return true;
}

/**
 * Poly1305 alone (RFC 8439 2.5) of `message` under a 32-byte one-time key, the tag into out at o.
 * The AEAD uses the same steps; this entry lets them be checked against the RFC's own vector.
 */
export function poly1305(oneTimeKey: Uint8Array, message: Uint8Array, out: Uint8Array, o: number): void {
  const m = aead();
  if (oneTimeKey.length !== 32 || message.length > m.messageMax) throw new RangeError("poly1305: a 32-byte key and a message the module takes");
  m.bytes.set(oneTimeKey, m.key);
  m.bytes.set(message, m.message);
  m.exports.poly1305(message.length);
  out.set(m.bytes.subarray(m.message + message.length, m.message + message.length + TAG_LEN), o);
}

/** True when no key, keystream or MAC state of the last message is left in the module (tests/secure/wipe.test.ts). */
export function scratchIsClear(): boolean {
  return aead().exports.wiped() === 1;
}
