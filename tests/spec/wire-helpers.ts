// Helpers for the wire-view specs: bytes placed so they end exactly at the end
// of linear memory, so a view that reads past the length it was given traps
// (and the spec fails) instead of reading a neighbour's bytes unnoticed.
import { WireCheck } from "../../assembly/wire/check";

let guardEnd: usize = 0;

/** The end of the last memory page, which these specs own (grown once). */
export function memoryEnd(): usize {
  if (guardEnd == 0) {
    const before = memory.grow(1);
    assert(before > 0, "memory.grow failed");
    guardEnd = <usize>(before + 1) << 16;
  }
  // If the allocator grew memory after us, reads past our page would not trap.
  assert(<usize>memory.size() << 16 == guardEnd, "the guard page is no longer last");
  return guardEnd;
}

/** Copies `len` bytes from `src` so they end at the end of memory; returns where they start. */
export function atMemoryEnd(src: usize, len: u32): usize {
  const p = memoryEnd() - len;
  memory.copy(p, src, len);
  return p;
}

/** A pointer to the bytes of a fixture. */
// @ts-ignore: decorator
@inline export function ptr(frame: StaticArray<u8>): usize { return changetype<usize>(frame); }

/** IPv4 address a.b.c.d as a u32. */
export function ip4(a: u32, b: u32, c: u32, d: u32): u32 { return (a << 24) | (b << 16) | (c << 8) | d; }

/**
 * For every length k from 0 to the bytes left after `start`: `check` on the
 * first k bytes (at the end of memory) is Ok exactly when k >= `needed`, and
 * Truncated below it; `touch` (which reads every field) runs whenever it is Ok.
 */
export function sweepTruncations(
  frame: StaticArray<u8>, start: u32, needed: u32,
  check: (p: usize, len: u32) => WireCheck, touch: (p: usize, len: u32) => void,
): void {
  const total = <u32>frame.length - start;
  expect(needed).toBeLessThanOrEqual(total);
  for (let k: u32 = 0; k <= total; k++) {
    const p = atMemoryEnd(ptr(frame) + start, k);
    const verdict = check(p, k);
    if (k >= needed) {
      expect(verdict).toBe(WireCheck.Ok);
      touch(p, k);
    } else {
      expect(verdict).toBe(WireCheck.Truncated);
    }
  }
}
