// PATH_PINGs in flight: which peer and candidate each went to, when, and
// whether `divs ping` (IN_PING) waits for its answer (OUT_PONG).

import { self } from "../node";
import { Stat, count } from "../stats";
import { writePathPing } from "../wire/nat";
import { Addr, addrCopy } from "./addr";
import { natMessage, natMessageRoom, natSend } from "./send";

/** A ping unanswered this long is forgotten (the host times `divs ping` out on its own). */
const PING_TTL_MS: f64 = 5000;
const MAX_PENDING: i32 = 4096;

export class PendingPing {
  constructor(
    /** Where the ping went on the wire: the address, or the endpoint the host's route sends the key to. */
    readonly seq: u32, readonly peer: u64, readonly addr: Addr, readonly sentAt: f64,
    /** -1: not a `divs ping`; else the host's sequence number. */
    readonly userSeq: i64,
  ) {}
}

const pending = new Array<PendingPing>();
let seq: u32 = 0;

/**
 * Sends a PATH_PING for `peer` to `to` along the host's route for it, noting `wire` as where the route
 * sends it; false when too many are in flight (counted).
 */
export function sendPathPing(peer: u64, to: usize, wire: usize, userSeq: i64): bool {
  return send(peer, to, wire, userSeq, false);
}

/** Sends a PATH_PING for `peer` to `addr` itself, whatever the route (a probe of that address). */
export function probeAddress(peer: u64, addr: usize): bool {
  return send(peer, addr, addr, -1, true);
}

function send(peer: u64, to: usize, wire: usize, userSeq: i64, unrouted: bool): bool {
  expire();
  if (pending.length >= MAX_PENDING) { count(Stat.PathPingsDropped); return false; }
  seq++;
  pending.push(new PendingPing(seq, peer, addrCopy(wire), self.now, userSeq));
  natSend(to, writePathPing(natMessage, natMessageRoom, seq, self.id, peer), unrouted);
  count(Stat.PathPingsSent);
  return true;
}

/** The ping a PATH_PONG with `s` from `sender` answers (removed), or null. */
export function takePending(s: u32, sender: u64): PendingPing | null {
  for (let i = 0; i < pending.length; i++) {
    const p = unchecked(pending[i]);
    if (p.seq != s) continue;
    if (p.peer != sender) return null;
    pending.splice(i, 1);
    return p;
  }
  return null;
}

function expire(): void {
  let w = 0;
  for (let i = 0, n = pending.length; i < n; i++) {
    const p = unchecked(pending[i]);
    if (self.now - p.sentAt < PING_TTL_MS) unchecked(pending[w++] = p);
  }
  pending.length = w;
}

