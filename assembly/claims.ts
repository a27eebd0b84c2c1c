// Signed member claims (docs/abi.md "Claim signatures", docs/security.md "A member speaks only for
// itself"). The core has no crypto: a member's ALIVE carries its identity key and its signature, made
// and checked by the host through two synchronous imports. Both are pure functions of the bytes
// passed (Ed25519 is deterministic), so the core stays deterministic and simulatable; a simulator
// supplies a cheap stand-in.
import { self } from "./node";
import { getU64 } from "./wire/bytes";

/** A claim's trailer: the member's Ed25519 public key, then its signature. */
export const CLAIM_KEY_LEN: u32 = 32;
export const CLAIM_SIG_LEN: u32 = 64;
export const CLAIM_LEN: u32 = CLAIM_KEY_LEN + CLAIM_SIG_LEN;

/**
 * `[ptr, ptr + len)` is a claim ending in the 96-byte trailer: the host writes our public key and our
 * signature of everything before the signature into the trailer.
 */
// @ts-ignore: decorator
@external("env", "claim_sign")
declare function claim_sign(ptr: usize, len: u32): void;

/**
 * True when the trailer's signature verifies under the trailer's key, and the node id the claim
 * names (bytes 4..12: member info's id) is the one derived from that key.
 */
// @ts-ignore: decorator
@external("env", "claim_verify")
declare function claim_verify(ptr: usize, len: u32): bool;

/** Our identity key, as the host wrote it into our latest signed claim (it is given no other way). */
const ownKey: usize = heap.alloc(CLAIM_KEY_LEN);
let ownKeyKnown = false;
/** Where every claim form names its node (member info's id). */
const CLAIM_ID: u32 = 4;

export function claimSign(ptr: usize, len: u32): void {
  claim_sign(ptr, len);
  if (getU64(ptr + CLAIM_ID) != self.id) return; // only a claim naming us carries our key (specs sign as others too)
  memory.copy(ownKey, ptr + len - CLAIM_LEN, CLAIM_KEY_LEN);
  ownKeyKnown = true;
}

/**
 * Writes our key and our signature `sig` (CLAIM_SIG_LEN bytes, one we made before) as a trailer at
 * `out`; false when we have signed nothing yet, so the key is not known.
 */
export function ownTrailer(sig: usize, out: usize): bool {
  if (!ownKeyKnown) return false;
  memory.copy(out, ownKey, CLAIM_KEY_LEN);
  memory.copy(out + CLAIM_KEY_LEN, sig, CLAIM_SIG_LEN);
  return true;
}

export function claimVerify(ptr: usize, len: u32): bool {
  return claim_verify(ptr, len);
}

/**
 * Claims other than a member's ALIVE (MAC claims, IP bindings, accusations): the claim's signed form is
 * written at `claimForm` (the node id at bytes 4..12, as in member info), followed by the trailer.
 * Every such form is shorter than the shortest member info (INFO_NAME, 37 bytes) or longer than the
 * longest (INFO_NAME + NAME_MAX, 101: an IPv6 binding's form, padded to CLAIM_FORM_MAX), and each kind
 * has a length of its own, so a signature on one kind never passes for another. The claim carries the
 * whole trailer, so it can be checked wherever it arrives, even before its owner's ALIVE (push-pull
 * parts may come in any order); the key must be the one its owner id derives from.
 */
export const CLAIM_FORM_MAX: u32 = 102;
export const claimForm: usize = heap.alloc(CLAIM_FORM_MAX + CLAIM_LEN);

/** Signs the `len`-byte form at `claimForm` as ours; the trailer (our key, the signature) is copied to `trailer`. */
export function claimFormSign(len: u32, trailer: usize): void {
  claimSign(claimForm, len + CLAIM_LEN);
  memory.copy(trailer, claimForm + len, CLAIM_LEN);
}

/** True when `trailer` (key, signature) signs the `len`-byte form at `claimForm` as the node id it names. */
export function claimFormVerify(len: u32, trailer: usize): bool {
  memory.copy(claimForm + len, trailer, CLAIM_LEN);
  return claim_verify(claimForm, len + CLAIM_LEN);
}
