// Member info as a member writes it: its claim trailer signed (by the stand-in signatures the specs
// run with, tests/fixtures/claims-stub.mjs).
import { CLAIM_LEN, claimSign } from "../../assembly/claims";
import { writeInfo } from "../../assembly/membership/codec";

const blankClaim = heap.alloc(CLAIM_LEN);

/** writeInfo, then signed as the member `id` would; returns the bytes used or 0. */
export function signedInfo(
  p: usize, cap: u32, incarnation: u32, id: u64, addr: usize, protocol: u16, capabilities: u32, namePtr: usize, nameLen: u32,
): u32 {
  const n = writeInfo(p, cap, incarnation, id, addr, protocol, capabilities, namePtr, nameLen, blankClaim);
  if (n != 0) claimSign(p, n);
  return n;
}
