// Handshake and DATA message layouts (docs/security.md "Envelope"): offsets, builders and the MAC,
// proof and key-derivation computations. Pure functions; the state machine lives in transport.ts.
import nacl from "tweetnacl";
import { concatBytes, equalBytes, utf8, writeU32 } from "./bytes.ts";
import { NONCE_LEN } from "./cookie.ts";
import type { CryptoProvider } from "./provider.ts";

export const WIRE_VERSION = 1;
export const HS_INIT = 0x81;
export const HS_CHALLENGE = 0x82;
export const HS_CONFIRM = 0x83;
export const DATA = 0x84;

export const MAC_LEN = 16;
export const PUBLIC_LEN = 32;

// Shared by all handshake messages.
export const OFF_KEY_ID = 2;
export const OFF_IDX_I = 6;
/** E_i in HS_INIT/HS_CONFIRM, E_r in HS_CHALLENGE. */
export const OFF_E = 10;
/** N_i in HS_INIT/HS_CONFIRM, N_r in HS_CHALLENGE. */
export const OFF_N = OFF_E + PUBLIC_LEN; // 42
export const OFF_INIT_MAC = OFF_N + NONCE_LEN; // 58
export const INIT_LEN = OFF_INIT_MAC + MAC_LEN; // 74
export const OFF_CHALLENGE_PROOF = OFF_N + NONCE_LEN; // 58
export const CHALLENGE_LEN = OFF_CHALLENGE_PROOF + MAC_LEN; // 74
export const OFF_CONFIRM_NR = OFF_N + NONCE_LEN; // 58
export const OFF_CONFIRM_PROOF = OFF_CONFIRM_NR + NONCE_LEN; // 74
export const CONFIRM_LEN = OFF_CONFIRM_PROOF + MAC_LEN; // 90

export const OFF_DATA_IDX = 2;
export const OFF_DATA_COUNTER = 6;
export const DATA_HEADER_LEN = 14;
export const DATA_OVERHEAD = DATA_HEADER_LEN + 16;

const INIT_LABEL = utf8("divs init");
const RESP_LABEL = utf8("divs resp");
const CONF_LABEL = utf8("divs conf");
const SESSION_LABEL = utf8("divs v1 session");

function mac(crypto: CryptoProvider, key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  return crypto.hmacSha256(key, ...parts).subarray(0, MAC_LEN);
}

function header(type: number, length: number, keyId: number, idxI: number): Uint8Array {
  const m = new Uint8Array(length);
  m[0] = WIRE_VERSION;
  m[1] = type;
  writeU32(m, OFF_KEY_ID, keyId);
  writeU32(m, OFF_IDX_I, idxI);
  return m;
}

/** HS_INIT: mac = HMAC(K, "divs init" || every byte before it). */
export function buildInit(crypto: CryptoProvider, K: Uint8Array, keyId: number, idxI: number, Ei: Uint8Array, Ni: Uint8Array): Uint8Array {
  const m = header(HS_INIT, INIT_LEN, keyId, idxI);
  m.set(Ei, OFF_E);
  m.set(Ni, OFF_N);
  m.set(mac(crypto, K, INIT_LABEL, m.subarray(0, OFF_INIT_MAC)), OFF_INIT_MAC);
  return m;
}

export function verifyInit(crypto: CryptoProvider, K: Uint8Array, m: Uint8Array): boolean {
  return equalBytes(mac(crypto, K, INIT_LABEL, m.subarray(0, OFF_INIT_MAC)), 0, m, OFF_INIT_MAC, MAC_LEN);
}

/** proof_r = HMAC(K, "divs resp" || every challenge byte before it || N_i || E_i). */
function challengeProof(crypto: CryptoProvider, K: Uint8Array, m: Uint8Array, Ni: Uint8Array, Ei: Uint8Array): Uint8Array {
  return mac(crypto, K, RESP_LABEL, m.subarray(0, OFF_CHALLENGE_PROOF), Ni, Ei);
}

export function buildChallenge(
  crypto: CryptoProvider, K: Uint8Array, keyId: number, idxI: number,
  Er: Uint8Array, Nr: Uint8Array, Ni: Uint8Array, Ei: Uint8Array,
): Uint8Array {
  const m = header(HS_CHALLENGE, CHALLENGE_LEN, keyId, idxI);
  m.set(Er, OFF_E);
  m.set(Nr, OFF_N);
  m.set(challengeProof(crypto, K, m, Ni, Ei), OFF_CHALLENGE_PROOF);
  return m;
}

export function verifyChallenge(crypto: CryptoProvider, K: Uint8Array, m: Uint8Array, Ni: Uint8Array, Ei: Uint8Array): boolean {
  return equalBytes(challengeProof(crypto, K, m, Ni, Ei), 0, m, OFF_CHALLENGE_PROOF, MAC_LEN);
}

/** proof_i = HMAC(K, "divs conf" || every confirm byte before it || E_r). */
function confirmProof(crypto: CryptoProvider, K: Uint8Array, m: Uint8Array, Er: Uint8Array): Uint8Array {
  return mac(crypto, K, CONF_LABEL, m.subarray(0, OFF_CONFIRM_PROOF), Er);
}

export function buildConfirm(
  crypto: CryptoProvider, K: Uint8Array, keyId: number, idxI: number,
  Ei: Uint8Array, Ni: Uint8Array, Nr: Uint8Array, Er: Uint8Array,
): Uint8Array {
  const m = header(HS_CONFIRM, CONFIRM_LEN, keyId, idxI);
  m.set(Ei, OFF_E);
  m.set(Ni, OFF_N);
  m.set(Nr, OFF_CONFIRM_NR);
  m.set(confirmProof(crypto, K, m, Er), OFF_CONFIRM_PROOF);
  return m;
}

export function verifyConfirm(crypto: CryptoProvider, K: Uint8Array, m: Uint8Array, Er: Uint8Array): boolean {
  return equalBytes(confirmProof(crypto, K, m, Er), 0, m, OFF_CONFIRM_PROOF, MAC_LEN);
}

export interface SessionKeys {
  initiatorToResponder: Uint8Array;
  responderToInitiator: Uint8Array;
}

/** Overwrites derived key bytes once the provider has prepared its own copies (aeadKey). */
export function wipeSessionKeys(keys: SessionKeys): void {
  keys.initiatorToResponder.fill(0);
  keys.responderToInitiator.fill(0);
}

/**
 * X25519 then HKDF-SHA256(ikm = shared, salt = K, info = "divs v1 session" || N_i || N_r || E_i || E_r).
 * Null when the peer's public key is degenerate (an all-zero shared secret).
 */
export function deriveSessionKeys(
  crypto: CryptoProvider, K: Uint8Array, ourSecret: Uint8Array, theirPublic: Uint8Array,
  Ni: Uint8Array, Nr: Uint8Array, Ei: Uint8Array, Er: Uint8Array,
): SessionKeys | null {
  const shared = nacl.scalarMult(ourSecret, theirPublic);
  let nonzero = 0;
  for (const v of shared) nonzero |= v;
  if (nonzero === 0) return null;
  const okm = crypto.hkdfSha256(shared, K, concatBytes(SESSION_LABEL, Ni, Nr, Ei, Er), 64);
  shared.fill(0);
  return { initiatorToResponder: okm.subarray(0, 32), responderToInitiator: okm.subarray(32, 64) };
}
