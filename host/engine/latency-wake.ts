// Event-loop policy, owned by each runtime's loop (its TAP reader feeds it through `warmOnFrames`; the
// driver knows nothing of it). While frames flow, the node's thread wakes at least every `intervalMs`, so the next packet never
// finds it (and its CPU) asleep for long. On the 2-core VM the benchmarks run on, a packet after a
// 20 ms gap costs ~2x one after a 5 ms gap: the first work after a long sleep runs slow (cache, TLB and
// vCPU wake-up), and our path in JavaScript touches more memory than a C daemon's. The cost is ~1 % of
// a core per node while frames flow; an idle node does not wake (docs/performance.md "Latency wake").
import type { Clock, Timers } from "../base/services.ts";
import type { FrameSink } from "./platform.ts";

/** 5 ms: as fast as 2 ms or 1 ms here, for fewer wake-ups (each costs ~40-50 us of CPU after its sleep). */
export const DEFAULT_LATENCY_WAKE_MS = 5;
/** The wake stops this long after the last frame: an idle node does not wake at all. */
export const LATENCY_WAKE_WINDOW_MS = 1000;

export class LatencyWake {
  /** Wake-ups so far (`latency_wakes` in `divs status`): what the wake costs, in calls. */
  wakes = 0;
  private lastFrameAt = -Infinity;
  private timer: unknown = null;

  /** `intervalMs` 0 turns the wake off. */
  constructor(private readonly timers: Timers, private readonly clock: Clock, private readonly intervalMs: number) {}

  /** Frames were read from the TAP at `now`. */
  frameSeen(now: number): void {
    this.lastFrameAt = now;
    if (this.timer === null && this.intervalMs > 0) this.timer = this.timers.set(this.wake, this.intervalMs);
  }

  stop(): void {
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
  }

  /** The wake-up itself is the work: it comes back while frames flowed within the window. */
  private readonly wake = () => {
    this.timer = null;
    this.wakes++;
    if (this.clock.now() - this.lastFrameAt < LATENCY_WAKE_WINDOW_MS) this.timer = this.timers.set(this.wake, this.intervalMs);
  };
}

/** `sink` with the wake told of every batch of frames read from the TAP. */
export function warmOnFrames(sink: FrameSink, wake: LatencyWake, clock: Clock): FrameSink {
  return {
    frame: (frame) => sink.frame(frame),
    batchEnd: () => {
      wake.frameSeen(clock.now());
      sink.batchEnd();
    },
  };
}
