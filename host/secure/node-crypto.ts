// The transport layer's CryptoProvider on node:crypto (Deno's node:crypto runs it too), with the
// AEAD split in two paths by size: the small-datagram module (chacha20poly1305.ts) for small
// datagrams, node:crypto for bulk.
import { Buffer } from "node:buffer";
import {
  createCipheriv, createDecipheriv, createHash, createHmac, createSecretKey, hkdfSync, randomFillSync, type KeyObject,
} from "node:crypto";
import nacl from "tweetnacl";
import * as smallAead from "./chacha20poly1305.ts";
import { ed25519Signer, ed25519Verify } from "./ed25519.ts";
import { AEAD_TAG_LEN as TAG_LEN, type AeadKey, type CryptoProvider } from "./provider.ts";

const AEAD = "chacha20-poly1305";
const AEAD_OPTIONS = { authTagLength: TAG_LEN } as const;

/**
 * Plaintexts up to this many bytes are sealed and opened by the small-datagram module, larger ones by
 * node:crypto. node:crypto pays ~5 us per call warm (a cipher object each time) and ~150-300 us as
 * the first call after 20 ms idle; the JavaScript routine the module replaced ~7 ns per byte warm,
 * ~25-40 us cold. Measured warm with that routine (`npm run bench:secure`, medians, three runs): its
 * open stopped being the faster at ~600 bytes, its seal at ~700; 512 was the largest size where both
 * won in every run. Above it node:crypto's native speed wins for back-to-back bulk datagrams.
 */
export const SMALL_AEAD_MAX = 512;

/** Both forms of one key: the raw bytes for the small-datagram module, the KeyObject for bulk. */
export class SplitAeadKey {
  constructor(readonly bulk: KeyObject, readonly small: smallAead.ChaChaKey) {}
}

export const nodeCrypto: CryptoProvider = {
  randomFill(out: Uint8Array): void {
    randomFillSync(out);
  },

  sha256(...parts: Uint8Array[]): Uint8Array {
    const h = createHash("sha256");
    for (const p of parts) h.update(p);
    return h.digest();
  },

  hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
    const h = createHmac("sha256", key);
    for (const p of parts) h.update(p);
    return h.digest();
  },

  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    return new Uint8Array(hkdfSync("sha256", ikm, salt, info, length));
  },

  // tweetnacl: node:crypto takes X25519 keys only as KeyObjects built from DER, for no gain on 32 bytes.
  x25519Public: (secret) => nacl.scalarMult.base(secret),
  x25519: (secret, peerPublic) => nacl.scalarMult(secret, peerPublic),

  signer: ed25519Signer,
  verifySignature: ed25519Verify,

  aeadKey(raw: Uint8Array): AeadKey {
    return new SplitAeadKey(createSecretKey(raw), new smallAead.ChaChaKey(raw)); // both copy the bytes
  },

  disposeAeadKey(key: AeadKey): void {
    (key as SplitAeadKey).small.raw.fill(0);
  },

  seal(key: AeadKey, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, outOffset: number): void {
    const k = key as SplitAeadKey;
    if (plaintext.length <= SMALL_AEAD_MAX) smallAead.seal(k.small, nonce, aad, plaintext, out, outOffset);
    else bulkSeal(k.bulk, nonce, aad, plaintext, out, outOffset);
  },

  open(key: AeadKey, nonce: Uint8Array, aad: Uint8Array, packet: Uint8Array, start: number, end: number, out?: Uint8Array): Uint8Array | null {
    const length = end - start - TAG_LEN;
    if (length < 0) return null;
    const k = key as SplitAeadKey;
    if (length <= SMALL_AEAD_MAX) return smallOpen(k.small, nonce, aad, packet, start, end, out);
    const plaintext = bulkOpen(k.bulk, nonce, aad, packet, start, end);
    if (plaintext === null || out === undefined) return plaintext;
    out.set(plaintext);
    return out;
  },
};

/** The node:crypto path of `seal` (a cipher object per call). */
export function bulkSeal(key: KeyObject, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, outOffset: number): void {
  const cipher = createCipheriv(AEAD, key, nonce, AEAD_OPTIONS);
  cipher.setAAD(aad, { plaintextLength: plaintext.length });
  const body = cipher.update(plaintext);
  out.set(body, outOffset);
  cipher.final();
  out.set(cipher.getAuthTag(), outOffset + body.length);
}

/** The JavaScript path of `open` (into `out` when given); `packet[start, end)` holds at least the tag. */
export function smallOpen(
  key: smallAead.ChaChaKey, nonce: Uint8Array, aad: Uint8Array, packet: Uint8Array, start: number, end: number, out?: Uint8Array,
): Uint8Array | null {
  // Without `out`, a fresh buffer per datagram, as node:crypto returns: callers may keep it.
  // allocUnsafe slices Node's pool (~0.1 us against ~0.6 us for a new Uint8Array over 64 bytes);
  // its old bytes never leave: open overwrites all of them or fails.
  const plaintext = out ?? Buffer.allocUnsafe(end - start - TAG_LEN);
  return smallAead.open(key, nonce, aad, packet, start, end, plaintext, 0) ? plaintext : null;
}

/** The node:crypto path of `open`; `packet[start, end)` holds at least the tag. */
export function bulkOpen(key: KeyObject, nonce: Uint8Array, aad: Uint8Array, packet: Uint8Array, start: number, end: number): Uint8Array | null {
  const decipher = createDecipheriv(AEAD, key, nonce, AEAD_OPTIONS);
  decipher.setAAD(aad, { plaintextLength: end - start - TAG_LEN });
  decipher.setAuthTag(packet.subarray(end - TAG_LEN, end));
  const plaintext = decipher.update(packet.subarray(start, end - TAG_LEN));
  try {
    decipher.final();
  } catch {
    return null; // authentication failed
  }
  return plaintext;
}
