// The MAC table's store of owners' claim signatures (docs/mactable.md "Signed claims"): 64 bytes per
// entry that holds one, in a pool that grows with those entries, rather than 64 bytes per table slot
// (twice the capacity: 8 MB touched at the first learnt MAC with the default capacity, issue 19's
// memory budget). The table keeps a u32 reference per slot; references survive a rehash unchanged.
import { CLAIM_SIG_LEN } from "./claims";

/** No signature: the reference a slot starts with. */
export const SIG_NONE: u32 = 0;
/** Records the pool starts with (8 KB); it doubles when full. */
const POOL_MIN: u32 = 128;

let pool = new StaticArray<u8>(0);
let records: u32 = 0; // records the pool has room for
let next: u32 = 0; // records handed out at least once
const free = new Array<u32>();

/** Forget every signature (the table was emptied). */
export function sigsReset(): void {
  pool = new StaticArray<u8>(0);
  records = 0;
  next = 0;
  free.length = 0;
}

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

function grow(): void {
  const old = pool;
  records = max(POOL_MIN, records * 2);
  pool = new StaticArray<u8>(records * CLAIM_SIG_LEN);
  memory.copy(changetype<usize>(pool), changetype<usize>(old), <usize>next * CLAIM_SIG_LEN);
}
