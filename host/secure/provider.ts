// What the transport layer needs from the runtime. host/secure/node-crypto.ts implements it on node:crypto
// (Deno reuses it); everything else in host/secure is plain TypeScript.

/** A ChaCha20-Poly1305 key prepared by the provider (e.g. a KeyObject), opaque to common code. */
export type AeadKey = unknown;

/** An Ed25519 private key prepared by the provider, with its 32-byte public key. */
export interface Signer {
  readonly publicKey: Uint8Array;
  /** Ed25519 signature (64 bytes) of the concatenated parts. */
  sign(...parts: Uint8Array[]): Uint8Array;
}

export interface CryptoProvider {
  /** Fills `out` with cryptographically secure random bytes. */
  randomFill(out: Uint8Array): void;
  /** SHA-256 of the concatenated parts (32 bytes). */
  sha256(...parts: Uint8Array[]): Uint8Array;
  /** HMAC-SHA256 under `key` of the concatenated parts (32 bytes). */
  hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array;
  /** HKDF-SHA256 (RFC 5869) output of `length` bytes. */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  /** X25519 (RFC 7748): the 32-byte public key of a 32-byte secret. */
  x25519Public(secret: Uint8Array): Uint8Array;
  /** X25519: the 32-byte shared secret of our secret and the peer's public key (all zero for a degenerate key). */
  x25519(secret: Uint8Array, peerPublic: Uint8Array): Uint8Array;
  /** The Ed25519 key pair of a 32-byte seed (RFC 8032). */
  signer(seed: Uint8Array): Signer;
  /** True when `signature` (64 bytes) is `publicKey`'s Ed25519 signature of the concatenated parts. */
  verifySignature(publicKey: Uint8Array, signature: Uint8Array, ...parts: Uint8Array[]): boolean;
  /** Prepares a 32-byte ChaCha20-Poly1305 key once per session direction. */
  aeadKey(raw: Uint8Array): AeadKey;
  /** Overwrites what it can of a key no longer used (best effort: a node:crypto KeyObject cannot be). */
  disposeAeadKey(key: AeadKey): void;
  /** Seals `plaintext` and writes ciphertext then the 16-byte tag into `out` at `outOffset`. */
  seal(key: AeadKey, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, outOffset: number): void;
  /**
   * Opens `packet[start, end)` (ciphertext then 16-byte tag). Returns the plaintext, or null when
   * authentication fails. Never throws for bad input. With `out` (end - start - 16 bytes) the plaintext
   * is written there and `out` returned; else it is a fresh buffer.
   */
  open(key: AeadKey, nonce: Uint8Array, aad: Uint8Array, packet: Uint8Array, start: number, end: number, out?: Uint8Array): Uint8Array | null;
}

export const AEAD_TAG_LEN = 16;
