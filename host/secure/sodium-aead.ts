// The AEAD on libsodium (crypto_aead_chacha20poly1305_ietf, the same construction as RFC 8439 and
// node:crypto's "chacha20-poly1305": identical bytes on the wire). One native call per datagram and no
// object built per call: ~2x node:crypto's seals per second on 1400-byte datagrams (docs/performance.md
// "AEAD providers"). Each runtime binds the two calls (host/node/sodium.ts through koffi,
// host/deno/sodium.ts through Deno.dlopen); hashes and HKDF stay with the base provider.
import { Buffer } from "node:buffer";
import * as smallAead from "./chacha20poly1305.ts";
import { AEAD_TAG_LEN as TAG_LEN, type AeadKey, type CryptoProvider } from "./provider.ts";

/**
 * Plaintexts up to this many bytes go through the small-datagram module (chacha20poly1305.ts):
 * measured with `npm run bench:secure` against the JavaScript routine it replaced, which sealed and
 * opened 64-128 bytes faster than a native call warm, 256 bytes as fast, and every size faster as the
 * first operation after an idle gap (~25 us against ~45-60 us); the module is faster still cold
 * (docs/performance.md "Small-packet AEAD"): a ping's datagram pays the cold cost, a bulk one does not.
 */
export const SODIUM_SMALL_MAX = 256;

/** libsodium's combined calls: ciphertext then the 16-byte tag; both return 0 on success. */
export interface SodiumAeadCalls {
  /** crypto_aead_chacha20poly1305_ietf_encrypt(c, NULL, m, mlen, ad, adlen, NULL, npub, k) */
  encrypt(c: Uint8Array, m: Uint8Array, mlen: number, ad: Uint8Array, adlen: number, npub: Uint8Array, k: Uint8Array): number;
  /** crypto_aead_chacha20poly1305_ietf_decrypt(m, NULL, NULL, c, clen, ad, adlen, npub, k) */
  decrypt(m: Uint8Array, c: Uint8Array, clen: number, ad: Uint8Array, adlen: number, npub: Uint8Array, k: Uint8Array): number;
}


/** `base` with seal and open done by libsodium (and the small-datagram module for small datagrams). */
export function withSodiumAead(base: CryptoProvider, calls: SodiumAeadCalls): CryptoProvider {
  return {
    randomFill: base.randomFill,
    sha256: base.sha256,
    hmacSha256: base.hmacSha256,
    hkdfSha256: base.hkdfSha256,
    x25519Public: base.x25519Public,
    x25519: base.x25519,
    signer: base.signer,
    verifySignature: base.verifySignature,
    // One form of the key serves both: the raw bytes libsodium and the small-datagram module take.
    aeadKey: (raw: Uint8Array): AeadKey => new smallAead.ChaChaKey(raw),
    disposeAeadKey(key) {
      (key as smallAead.ChaChaKey).raw.fill(0);
    },
    seal(key, nonce, aad, plaintext, out, outOffset) {
      const k = key as smallAead.ChaChaKey;
      if (out.length - outOffset < plaintext.length + TAG_LEN) throw new RangeError("seal: output too short");
      if (plaintext.length <= SODIUM_SMALL_MAX) smallAead.seal(k, nonce, aad, plaintext, out, outOffset);
      else calls.encrypt(outOffset === 0 ? out : out.subarray(outOffset), plaintext, plaintext.length, aad, aad.length, nonce, k.raw);
    },
    open(key, nonce, aad, packet, start, end, out) {
      const length = end - start - TAG_LEN;
      if (length < 0) return null;
      const k = key as smallAead.ChaChaKey;
      // Without `out`, a fresh buffer (callers may keep it); allocUnsafe slices Node's pool, and its
      // old bytes never leave: open overwrites all of them or fails.
      const plaintext = out ?? Buffer.allocUnsafe(length);
      if (length <= SODIUM_SMALL_MAX) return smallAead.open(k, nonce, aad, packet, start, end, plaintext, 0) ? plaintext : null;
      const sealed = packet.subarray(start, end);
      return calls.decrypt(plaintext, sealed, sealed.length, aad, aad.length, nonce, k.raw) === 0 ? plaintext : null;
    },
  };
}
