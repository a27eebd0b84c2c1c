// The store of owners' claim signatures the MAC table and the IP bindings keep (docs/mactable.md
// "Signed claims", docs/arp.md "Signed bindings"): 64 bytes per entry that holds one, in one pool that
// grows with those entries, rather than 64 bytes per table slot (twice the capacity: 8 MB touched at the
// first learnt MAC with the default capacity, issue 19's memory budget). An entry keeps a u32 reference;
// references survive a rehash unchanged. Each user releases its own references: the pool is shared.
import { CLAIM_KEY_LEN, CLAIM_SIG_LEN, ownTrailer } from "./claims";
import { memberById } from "./membership/state";
import { self } from "./node";

/** No signature: the reference an entry starts with. */
export const SIG_NONE: u32 = 0;
/** Records the pool starts with (8 KB); it doubles when full. */
const POOL_MIN: u32 = 128;

let pool = new StaticArray<u8>(0);
let records: u32 = 0; // records the pool has room for
let next: u32 = 0; // records handed out at least once
const free = new Array<u32>();

/** A record for a signature, as a reference (never SIG_NONE). */
export function sigTake(): u32 {
  if (free.length > 0) return free.pop();
  if (next == records) grow();
  return ++next;
}

/** The record `ref` is no longer used. */
export function sigRelease(ref: u32): void {
  if (ref != SIG_NONE) free.push(ref);
}

/** Where the 64 bytes of record `ref` are. */
export function sigPtr(ref: u32): usize {
  return changetype<usize>(pool) + <usize>(ref - 1) * CLAIM_SIG_LEN;
}

/** Stores `sig` (CLAIM_SIG_LEN bytes) in record `ref`, taking one when it is SIG_NONE; returns the record. */
export function sigKeep(ref: u32, sig: usize): u32 {
  if (ref == SIG_NONE) ref = sigTake();
  memory.copy(sigPtr(ref), sig, CLAIM_SIG_LEN);
  return ref;
}

/**
 * The claim trailer for `owner`'s signature in record `ref`, written at `out`: the owner's key (ours,
 * or the one its signed ALIVE carried) then the signature. False when there is none to write: no
 * signature kept, or an owner whose key we do not know.
 */
export function sigTrailer(owner: u64, ref: u32, out: usize): bool {
  if (ref == SIG_NONE) return false;
  if (owner == self.id) return ownTrailer(sigPtr(ref), out);
  const m = memberById(owner);
  if (m == null) return false;
  memory.copy(out, m.claim, CLAIM_KEY_LEN);
  memory.copy(out + CLAIM_KEY_LEN, sigPtr(ref), CLAIM_SIG_LEN);
  return true;
}

function grow(): void {
  const old = pool;
  records = max(POOL_MIN, records * 2);
  pool = new StaticArray<u8>(records * CLAIM_SIG_LEN);
  memory.copy(changetype<usize>(pool), changetype<usize>(old), <usize>next * CLAIM_SIG_LEN);
}
