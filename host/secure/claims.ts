// The host's half of signed member claims (docs/abi.md "Claim signatures"): the core's claim_sign
// and claim_verify imports. A claim is the core's bytes ending in a 96-byte trailer, the member's
// Ed25519 public key then its signature of everything before the signature, under a label of its own
// (no handshake or other signature can be passed off as a claim).
import { utf8 } from "./bytes.ts";
import { type Identity, NODE_ID_LEN, nodeIdOf } from "./identity.ts";
import type { CryptoProvider } from "./provider.ts";

const CLAIM_LABEL = utf8("divs claim");
export const CLAIM_KEY_LEN = 32;
export const CLAIM_SIG_LEN = 64;
export const CLAIM_TRAILER_LEN = CLAIM_KEY_LEN + CLAIM_SIG_LEN;
/** Where member info holds the node id the key must derive (assembly/membership/codec.ts INFO_ID). */
const CLAIM_ID_OFFSET = 4;

/**
 * The core takes a node id as a little-endian u64 of nodeIdOf's bytes (IN_IDENTITY, docs/abi.md) and
 * writes it big-endian on the wire: the claim holds those bytes reversed.
 */
function sameId(id: Uint8Array, claim: Uint8Array): boolean {
  let diff = 0;
  for (let i = 0; i < NODE_ID_LEN; i++) diff |= id[i] ^ claim[CLAIM_ID_OFFSET + NODE_ID_LEN - 1 - i];
  return diff === 0;
}

/** The core's two claim imports, over regions of its memory. */
export interface ClaimCrypto {
  /** Writes our key and signature into the trailer of `claim`. */
  sign(claim: Uint8Array): void;
  /** True when the trailer's key signed `claim` and derives the node id it names. */
  verify(claim: Uint8Array): boolean;
}

export function claimCrypto(crypto: CryptoProvider, identity: Identity): ClaimCrypto {
  return {
    sign(claim) {
      const keyAt = claim.length - CLAIM_TRAILER_LEN;
      claim.set(identity.publicKey, keyAt);
      claim.set(identity.signer.sign(CLAIM_LABEL, claim.subarray(0, keyAt + CLAIM_KEY_LEN)), keyAt + CLAIM_KEY_LEN);
    },
    verify(claim) {
      if (claim.length < CLAIM_ID_OFFSET + NODE_ID_LEN + CLAIM_TRAILER_LEN) return false;
      const keyAt = claim.length - CLAIM_TRAILER_LEN;
      const key = claim.subarray(keyAt, keyAt + CLAIM_KEY_LEN);
      if (!sameId(nodeIdOf(crypto, key), claim)) return false;
      return crypto.verifySignature(key, claim.subarray(keyAt + CLAIM_KEY_LEN), CLAIM_LABEL, claim.subarray(0, keyAt + CLAIM_KEY_LEN));
    },
  };
}
