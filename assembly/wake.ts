// When process() runs the periodic ticks next (quinn-proto's poll_timeout): the earliest deadline
// the ticks returned, lowered by input that schedules work sooner. A frame batch with nothing due
// skips them; OUT_TIMER carries this time to the host (docs/abi.md).
import { self } from "./node";

let tickAt: f64 = 0; // the first call runs them
let ticking = false;

/**
 * Work is due at `at` (ms): the first process() call at or after it runs the ticks. While they run,
 * a time not after now is theirs already: a tick queues only for ticks after it (gossip runs last).
 */
export function wakeAt(at: f64): void {
  if (ticking && at <= self.now) return;
  if (at < tickAt) tickAt = at;
}

/** Input queued work for a tick (a broadcast, an announcement, a save): the ticks run in this call. */
export function wakeNow(): void {
  wakeAt(self.now);
}

/** Whether the ticks are due at `now`. */
export function ticksDue(now: f64): bool {
  return now >= tickAt;
}

/** The ticks start: their deadlines, and what they wake for later, set the next time. */
export function ticksBegin(): void {
  ticking = true;
  tickAt = Infinity;
}

/** The ticks ended; `next` is the earliest deadline they returned. */
export function ticksEnd(next: f64): void {
  ticking = false;
  wakeAt(next);
}

/** When the ticks must run next (Infinity: nothing is scheduled). */
export function nextTick(): f64 {
  return tickAt;
}
