// libsodium's ChaCha20-Poly1305 through koffi, when libsodium.so.23 (Debian libsodium23) is installed;
// host/secure/sodium-aead.ts builds the provider on it.
import type * as Koffi from "koffi";
import { koffi } from "./koffi.ts";
import type { Logger } from "../base/services.ts";
import type { CryptoProvider } from "../secure/provider.ts";
import { type SodiumAeadCalls, withSodiumAead } from "../secure/sodium-aead.ts";
import { nodeCrypto } from "../secure/node-crypto.ts";

const LIBRARY = "libsodium.so.23";

/** The bound calls, or the reason they are not available. */
export function loadSodium(): SodiumAeadCalls | string {
  let lib: Koffi.IKoffiLib;
  try {
    lib = koffi.load(LIBRARY);
  } catch (e) {
    return `${LIBRARY} not loadable (${(e as Error).message.split("\n")[0]})`;
  }
  if (lib.func("int sodium_init()")() < 0) return "sodium_init failed";
  const encrypt = lib.func(
    "int crypto_aead_chacha20poly1305_ietf_encrypt(_Out_ uint8_t *c, void *clen, const uint8_t *m, uint64_t mlen, " +
      "const uint8_t *ad, uint64_t adlen, void *nsec, const uint8_t *npub, const uint8_t *k)",
  );
  const decrypt = lib.func(
    "int crypto_aead_chacha20poly1305_ietf_decrypt(_Out_ uint8_t *m, void *mlen, void *nsec, const uint8_t *c, uint64_t clen, " +
      "const uint8_t *ad, uint64_t adlen, const uint8_t *npub, const uint8_t *k)",
  );
  return {
    encrypt: (c, m, mlen, ad, adlen, npub, k) => encrypt(c, null, m, mlen, ad, adlen, null, npub, k),
    decrypt: (m, c, clen, ad, adlen, npub, k) => decrypt(m, null, null, c, clen, ad, adlen, npub, k),
  };
}

/** The data plane's provider: libsodium's AEAD when it loads, else node:crypto's, said in one log line. */
export function dataPlaneCrypto(log: Logger): CryptoProvider {
  const calls = loadSodium();
  if (typeof calls === "string") {
    log.warn(`AEAD on node:crypto, ~2x slower on bulk datagrams: ${calls} (Debian: apt install libsodium23)`);
    return nodeCrypto;
  }
  return withSodiumAead(nodeCrypto, calls);
}
