// The latency wake (host/engine/latency-wake.ts) on a hand-driven clock and timer list: it wakes every
// interval while frames flow, stops a window after the last frame, and never runs when off or idle.
import assert from "node:assert/strict";
import { test } from "node:test";
import { LATENCY_WAKE_WINDOW_MS, LatencyWake, warmOnFrames } from "../../host/engine/latency-wake.ts";
import type { Timers } from "../../host/base/services.ts";

/** Timers that fire only when the test advances the clock past their deadline. */
class ManualTimers implements Timers {
  now = 0;
  private pending = new Set<{ at: number; callback: () => void }>();

  set(callback: () => void, delayMs: number): unknown {
    const t = { at: this.now + delayMs, callback };
    this.pending.add(t);
    return t;
  }

  clear(handle: unknown): void {
    this.pending.delete(handle as { at: number; callback: () => void });
  }

  get armed(): number {
    return this.pending.size;
  }

  /** Moves the clock to `to`, firing due timers in deadline order (and those they set, if due). */
  advance(to: number): void {
    for (;;) {
      let next: { at: number; callback: () => void } | null = null;
      for (const t of this.pending) if (t.at <= to && (next === null || t.at < next.at)) next = t;
      if (next === null) break;
      this.pending.delete(next);
      this.now = next.at;
      next.callback();
    }
    this.now = to;
  }
}

function setup(intervalMs: number) {
  const timers = new ManualTimers();
  const wake = new LatencyWake(timers, { now: () => timers.now }, intervalMs);
  return { timers, wake };
}

test("wakes every interval while frames keep coming", () => {
  const { timers, wake } = setup(5);
  for (let t = 0; t < 100; t += 20) {
    timers.advance(t);
    wake.frameSeen(t);
  }
  timers.advance(100);
  assert.equal(wake.wakes, 20); // 100 ms at one wake per 5 ms
  assert.equal(timers.armed, 1, "one timer at a time, however many frames");
});

test("stops one window after the last frame", () => {
  const { timers, wake } = setup(5);
  wake.frameSeen(0);
  timers.advance(10 * LATENCY_WAKE_WINDOW_MS);
  assert.equal(timers.armed, 0);
  assert.equal(wake.wakes, LATENCY_WAKE_WINDOW_MS / 5);
  const after = wake.wakes;
  timers.advance(20 * LATENCY_WAKE_WINDOW_MS);
  assert.equal(wake.wakes, after, "an idle node does not wake");
  wake.frameSeen(timers.now); // traffic again: the wake comes back
  timers.advance(timers.now + 50);
  assert.equal(wake.wakes, after + 10);
});

test("interval 0 turns it off", () => {
  const { timers, wake } = setup(0);
  wake.frameSeen(0);
  timers.advance(1000);
  assert.equal(timers.armed, 0);
  assert.equal(wake.wakes, 0);
});

test("stop clears the armed timer", () => {
  const { timers, wake } = setup(5);
  wake.frameSeen(0);
  wake.stop();
  assert.equal(timers.armed, 0);
  timers.advance(100);
  assert.equal(wake.wakes, 0);
});

test("the runtime's TAP reader feeds it: a batch of frames read starts the wake, the sink still gets every frame", () => {
  const { timers, wake } = setup(5);
  const got: number[] = [];
  let batches = 0;
  const sink = warmOnFrames({ frame: (f) => got.push(f.length), batchEnd: () => batches++ }, wake, { now: () => timers.now });
  assert.equal(timers.armed, 0);
  sink.frame(new Uint8Array(60));
  sink.frame(new Uint8Array(70));
  sink.batchEnd();
  assert.deepEqual(got, [60, 70]);
  assert.equal(batches, 1);
  assert.equal(timers.armed, 1, "a batch read starts the wake");
  timers.advance(5);
  assert.equal(wake.wakes, 1);
});
