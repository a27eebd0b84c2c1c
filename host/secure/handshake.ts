// Handshake and DATA message layouts (docs/security.md "Envelope"): offsets, builders and the MAC,
// proof and key-derivation computations. Pure functions; the state machine is transport.ts and the steps it names.
import { concatBytes, equalBytes, utf8, writeU32 } from "./bytes.ts";
import { NONCE_LEN } from "./cookie.ts";
import { ED25519_PUBLIC_LEN as STATIC_LEN, ED25519_SIGNATURE_LEN as SIG_LEN } from "./ed25519.ts";
import type { CryptoProvider, Signer } from "./provider.ts";

/**
 * 3: MAC claims carry their owner's signature (the core's datagram version 2, docs/wire.md
 * "Versioning"); 2: handshakes carry and prove each side's static identity key (docs/security.md
 * "Identity"). A node refuses every packet of another version (`bad_version`), so nodes that could not
 * understand each other's gossip never make a session.
 */
export const WIRE_VERSION = 3;
export const HS_INIT = 0x81;
export const HS_CHALLENGE = 0x82;
export const HS_CONFIRM = 0x83;
export const DATA = 0x84;
/** Sealed like DATA on the same sessions, for the host rather than the core (docs/security.md "Removing a node"). */
export const CONTROL = 0x86;

export const MAC_LEN = 16;
export const PUBLIC_LEN = 32;

// Shared by all handshake messages.
export const OFF_KEY_ID = 2;
export const OFF_IDX_I = 6;
/** E_i in HS_INIT/HS_CONFIRM, E_r in HS_CHALLENGE. */
export const OFF_E = 10;
/** N_i in HS_INIT/HS_CONFIRM, N_r in HS_CHALLENGE. */
export const OFF_N = OFF_E + PUBLIC_LEN; // 42
/** S_i: the initiator's static identity key (Ed25519 public key). */
export const OFF_INIT_S = OFF_N + NONCE_LEN; // 58
/** Zeros as long as the challenge's signature, so the challenge is no larger than the init (no amplification). */
export const OFF_INIT_PAD = OFF_INIT_S + STATIC_LEN; // 90
export const OFF_INIT_MAC = OFF_INIT_PAD + SIG_LEN; // 154
export const INIT_LEN = OFF_INIT_MAC + MAC_LEN; // 170
/** S_r: the responder's static identity key. */
export const OFF_CHALLENGE_S = OFF_N + NONCE_LEN; // 58
export const OFF_CHALLENGE_SIG = OFF_CHALLENGE_S + STATIC_LEN; // 90
export const OFF_CHALLENGE_PROOF = OFF_CHALLENGE_SIG + SIG_LEN; // 154
export const CHALLENGE_LEN = OFF_CHALLENGE_PROOF + MAC_LEN; // 170
export const OFF_CONFIRM_NR = OFF_N + NONCE_LEN; // 58
export const OFF_CONFIRM_S = OFF_CONFIRM_NR + NONCE_LEN; // 74
export const OFF_CONFIRM_SIG = OFF_CONFIRM_S + STATIC_LEN; // 106
export const OFF_CONFIRM_PROOF = OFF_CONFIRM_SIG + SIG_LEN; // 170
export const CONFIRM_LEN = OFF_CONFIRM_PROOF + MAC_LEN; // 186
export { STATIC_LEN };

export const OFF_DATA_IDX = 2;
export const OFF_DATA_COUNTER = 6;
export const DATA_HEADER_LEN = 14;
export const DATA_OVERHEAD = DATA_HEADER_LEN + 16;

const INIT_LABEL = utf8("divs init");
const RESP_LABEL = utf8("divs resp");
const CONF_LABEL = utf8("divs conf");
const RESP_ID_LABEL = utf8("divs resp id");
const CONF_ID_LABEL = utf8("divs conf id");
const SESSION_LABEL = utf8("divs v2 session");

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
export function buildInit(
  crypto: CryptoProvider, K: Uint8Array, keyId: number, idxI: number, Ei: Uint8Array, Ni: Uint8Array, Si: Uint8Array,
): Uint8Array {
  const m = header(HS_INIT, INIT_LEN, keyId, idxI);
  m.set(Ei, OFF_E);
  m.set(Ni, OFF_N);
  m.set(Si, OFF_INIT_S);
  m.set(mac(crypto, K, INIT_LABEL, m.subarray(0, OFF_INIT_MAC)), OFF_INIT_MAC);
  return m;
}

export function verifyInit(crypto: CryptoProvider, K: Uint8Array, m: Uint8Array): boolean {
  return equalBytes(mac(crypto, K, INIT_LABEL, m.subarray(0, OFF_INIT_MAC)), 0, m, OFF_INIT_MAC, MAC_LEN);
}

/** What the initiator sent, that the responder's signature and proof cover. */
export interface InitFields {
  Ei: Uint8Array;
  Ni: Uint8Array;
  Si: Uint8Array;
}

/**
 * HS_CHALLENGE: sig_r = Sign(s_r, "divs resp id" || every challenge byte before it || N_i || E_i || S_i);
 * proof_r = HMAC(K, "divs resp" || every challenge byte before it || N_i || E_i || S_i).
 */
export function buildChallenge(
  crypto: CryptoProvider, K: Uint8Array, keyId: number, idxI: number,
  Er: Uint8Array, Nr: Uint8Array, responder: Signer, init: InitFields,
): Uint8Array {
  const m = header(HS_CHALLENGE, CHALLENGE_LEN, keyId, idxI);
  m.set(Er, OFF_E);
  m.set(Nr, OFF_N);
  m.set(responder.publicKey, OFF_CHALLENGE_S);
  m.set(responder.sign(RESP_ID_LABEL, m.subarray(0, OFF_CHALLENGE_SIG), init.Ni, init.Ei, init.Si), OFF_CHALLENGE_SIG);
  m.set(mac(crypto, K, RESP_LABEL, m.subarray(0, OFF_CHALLENGE_PROOF), init.Ni, init.Ei, init.Si), OFF_CHALLENGE_PROOF);
  return m;
}

/** proof_r first (the cheap check that the responder holds K), then the signature by S_r. */
export function verifyChallenge(crypto: CryptoProvider, K: Uint8Array, m: Uint8Array, init: InitFields): boolean {
  const proof = mac(crypto, K, RESP_LABEL, m.subarray(0, OFF_CHALLENGE_PROOF), init.Ni, init.Ei, init.Si);
  if (!equalBytes(proof, 0, m, OFF_CHALLENGE_PROOF, MAC_LEN)) return false;
  return crypto.verifySignature(
    m.subarray(OFF_CHALLENGE_S, OFF_CHALLENGE_SIG), m.subarray(OFF_CHALLENGE_SIG, OFF_CHALLENGE_PROOF),
    RESP_ID_LABEL, m.subarray(0, OFF_CHALLENGE_SIG), init.Ni, init.Ei, init.Si,
  );
}

/** What the responder sent, that the initiator's signature and proof cover. */
export interface ChallengeFields {
  Er: Uint8Array;
  Sr: Uint8Array;
}

/**
 * HS_CONFIRM: sig_i = Sign(s_i, "divs conf id" || every confirm byte before it || E_r || S_r);
 * proof_i = HMAC(K, "divs conf" || every confirm byte before it || E_r || S_r).
 */
export function buildConfirm(
  crypto: CryptoProvider, K: Uint8Array, keyId: number, idxI: number,
  Ei: Uint8Array, Ni: Uint8Array, Nr: Uint8Array, initiator: Signer, challenge: ChallengeFields,
): Uint8Array {
  const m = header(HS_CONFIRM, CONFIRM_LEN, keyId, idxI);
  m.set(Ei, OFF_E);
  m.set(Ni, OFF_N);
  m.set(Nr, OFF_CONFIRM_NR);
  m.set(initiator.publicKey, OFF_CONFIRM_S);
  m.set(initiator.sign(CONF_ID_LABEL, m.subarray(0, OFF_CONFIRM_SIG), challenge.Er, challenge.Sr), OFF_CONFIRM_SIG);
  m.set(mac(crypto, K, CONF_LABEL, m.subarray(0, OFF_CONFIRM_PROOF), challenge.Er, challenge.Sr), OFF_CONFIRM_PROOF);
  return m;
}

/** proof_i first, then the signature by S_i. */
export function verifyConfirm(crypto: CryptoProvider, K: Uint8Array, m: Uint8Array, challenge: ChallengeFields): boolean {
  const proof = mac(crypto, K, CONF_LABEL, m.subarray(0, OFF_CONFIRM_PROOF), challenge.Er, challenge.Sr);
  if (!equalBytes(proof, 0, m, OFF_CONFIRM_PROOF, MAC_LEN)) return false;
  return crypto.verifySignature(
    m.subarray(OFF_CONFIRM_S, OFF_CONFIRM_SIG), m.subarray(OFF_CONFIRM_SIG, OFF_CONFIRM_PROOF),
    CONF_ID_LABEL, m.subarray(0, OFF_CONFIRM_SIG), challenge.Er, challenge.Sr,
  );
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
 * X25519 then HKDF-SHA256(ikm = shared, salt = K, info = "divs v2 session" || N_i || N_r || E_i || E_r || S_i || S_r).
 * Null when the peer's public key is degenerate (an all-zero shared secret).
 */
export function deriveSessionKeys(
  crypto: CryptoProvider, K: Uint8Array, ourSecret: Uint8Array, theirPublic: Uint8Array,
  Ni: Uint8Array, Nr: Uint8Array, Ei: Uint8Array, Er: Uint8Array, Si: Uint8Array, Sr: Uint8Array,
): SessionKeys | null {
  const shared = crypto.x25519(ourSecret, theirPublic);
  let nonzero = 0;
  for (const v of shared) nonzero |= v;
  if (nonzero === 0) return null;
  const okm = crypto.hkdfSha256(shared, K, concatBytes(SESSION_LABEL, Ni, Nr, Ei, Er, Si, Sr), 64);
  shared.fill(0);
  return { initiatorToResponder: okm.subarray(0, 32), responderToInitiator: okm.subarray(32, 64) };
}
