// Recent sources we could not name: a member whose NAT mapping changed sends from one of them
// (assembly/nat/source.ts notes them; a silent path asks them, assembly/nat/paths.ts).
import { self } from "../node";
import { Addr, addrCopy, addrEq, addrPtr } from "./addr";

const STRANGERS_MAX: i32 = 8;
const STRANGER_TTL_MS: f64 = 10_000;
const strangers = new Array<Addr>();
const strangerAt = new Array<f64>();

/** A datagram came from `raw`, which is no member's known address. */
export function noteStranger(raw: usize): void {
  for (let i = 0; i < strangers.length; i++) {
    if (addrEq(addrPtr(unchecked(strangers[i])), raw)) { unchecked(strangerAt[i] = self.now); return; }
  }
  if (strangers.length >= STRANGERS_MAX) { strangers.shift(); strangerAt.shift(); }
  strangers.push(addrCopy(raw));
  strangerAt.push(self.now);
}

/** Calls `fn(addr)` for each source heard from lately that is no member's known address. */
export function forEachStranger(fn: (addr: usize) => void): void {
  for (let i = 0; i < strangers.length; i++) {
    if (self.now - unchecked(strangerAt[i]) < STRANGER_TTL_MS) fn(addrPtr(unchecked(strangers[i])));
  }
}
