// The transport layer's CryptoProvider on node:crypto (Deno's node:crypto runs it too).
import {
  createCipheriv, createDecipheriv, createHash, createHmac, createSecretKey, hkdfSync, randomFillSync, type KeyObject,
} from "node:crypto";
import type { AeadKey, CryptoProvider } from "../common/secure/provider.ts";

const AEAD = "chacha20-poly1305";
const TAG_LEN = 16;
const AEAD_OPTIONS = { authTagLength: TAG_LEN } as const;

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

  aeadKey(raw: Uint8Array): AeadKey {
    return createSecretKey(raw); // copies the bytes
  },

  seal(key: AeadKey, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, outOffset: number): void {
    const cipher = createCipheriv(AEAD, key as KeyObject, nonce, AEAD_OPTIONS);
    cipher.setAAD(aad, { plaintextLength: plaintext.length });
    const body = cipher.update(plaintext);
    out.set(body, outOffset);
    cipher.final();
    out.set(cipher.getAuthTag(), outOffset + body.length);
  },

  open(key: AeadKey, nonce: Uint8Array, aad: Uint8Array, packet: Uint8Array, start: number, end: number): Uint8Array | null {
    if (end - start < TAG_LEN) return null;
    const decipher = createDecipheriv(AEAD, key as KeyObject, nonce, AEAD_OPTIONS);
    decipher.setAAD(aad, { plaintextLength: end - start - TAG_LEN });
    decipher.setAuthTag(packet.subarray(end - TAG_LEN, end));
    const plaintext = decipher.update(packet.subarray(start, end - TAG_LEN));
    try {
      decipher.final();
    } catch {
      return null; // authentication failed
    }
    return plaintext;
  },
};
