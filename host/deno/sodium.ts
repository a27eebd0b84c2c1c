// libsodium's ChaCha20-Poly1305 through Deno.dlopen, when libsodium.so.23 (Debian libsodium23) is
// installed; host/secure/sodium-aead.ts builds the provider on it.
import type { Logger } from "../base/services.ts";
import type { CryptoProvider } from "../secure/provider.ts";
import { type SodiumAeadCalls, withSodiumAead } from "../secure/sodium-aead.ts";

const LIBRARY = "libsodium.so.23";

const SYMBOLS = {
  sodium_init: { parameters: [], result: "i32" },
  crypto_aead_chacha20poly1305_ietf_encrypt: {
    parameters: ["buffer", "pointer", "buffer", "u64", "buffer", "u64", "pointer", "buffer", "buffer"],
    result: "i32",
  },
  crypto_aead_chacha20poly1305_ietf_decrypt: {
    parameters: ["buffer", "pointer", "pointer", "buffer", "u64", "buffer", "u64", "buffer", "buffer"],
    result: "i32",
  },
} as const;

type Buf = Uint8Array<ArrayBuffer>;

/** The bound calls, or the reason they are not available. */
export function loadSodium(): SodiumAeadCalls | string {
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
  try {
    lib = Deno.dlopen(LIBRARY, SYMBOLS).symbols;
  } catch (e) {
    return `${LIBRARY} not loadable (${(e as Error).message.split("\n")[0]})`;
  }
  if (lib.sodium_init() < 0) return "sodium_init failed";
  const encrypt = lib.crypto_aead_chacha20poly1305_ietf_encrypt;
  const decrypt = lib.crypto_aead_chacha20poly1305_ietf_decrypt;
  return {
    encrypt: (c, m, mlen, ad, adlen, npub, k) =>
      encrypt(c as Buf, null, m as Buf, BigInt(mlen), ad as Buf, BigInt(adlen), null, npub as Buf, k as Buf),
    decrypt: (m, c, clen, ad, adlen, npub, k) =>
      decrypt(m as Buf, null, null, c as Buf, BigInt(clen), ad as Buf, BigInt(adlen), npub as Buf, k as Buf),
  };
}

/** The node's provider: libsodium's AEAD when it loads, else `fallback`'s, said in one log line. */
export function dataPlaneCrypto(fallback: CryptoProvider, log: Logger): CryptoProvider {
  const calls = loadSodium();
  if (typeof calls === "string") {
    log.warn(`AEAD on node:crypto, ~2x slower on bulk datagrams: ${calls} (Debian: apt install libsodium23)`);
    return fallback;
  }
  return withSodiumAead(fallback, calls);
}
