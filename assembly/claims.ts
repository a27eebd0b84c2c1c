// Signed member claims (docs/abi.md "Claim signatures", docs/security.md "A member speaks only for
// itself"). The core has no crypto: a member's ALIVE carries its identity key and its signature, made
// and checked by the host through two synchronous imports. Both are pure functions of the bytes
// passed (Ed25519 is deterministic), so the core stays deterministic and simulatable; a simulator
// supplies a cheap stand-in.

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

export function claimSign(ptr: usize, len: u32): void {
  claim_sign(ptr, len);
}

export function claimVerify(ptr: usize, len: u32): bool {
  return claim_verify(ptr, len);
}
