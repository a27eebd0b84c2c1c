// Requests the host puts to the core whose answer comes in a later output record (`divs ping`'s
// OUT_PONG, a member's OUT_PATHS_REPORT), matched by a sequence number the request carried; each
// resolves with its answer, or with null when none came within its timeout or the node stopped.
import type { Timers } from "../base/services.ts";

interface Pending<T> {
  resolve(answer: T | null): void;
  timer: unknown;
}

export class PendingRequests<T> {
  private readonly pending = new Map<number, Pending<T>>();
  private seq = 0;

  constructor(private readonly timers: Timers, private readonly onTimeout: () => void = () => {}) {}

  /** Calls `send` with a fresh sequence number; resolves with what `answer` delivers for it, or null. */
  start(timeoutMs: number, send: (seq: number) => void): Promise<T | null> {
    const seq = (this.seq = (this.seq + 1) >>> 0);
    return new Promise((resolve) => {
      const timer = this.timers.set(() => {
        this.pending.delete(seq);
        this.onTimeout();
        resolve(null);
      }, timeoutMs);
      this.pending.set(seq, { resolve, timer });
      send(seq);
    });
  }

  /** The answer to request `seq`; false when none waits for it (it timed out). */
  answer(seq: number, value: T): boolean {
    const p = this.pending.get(seq);
    if (p === undefined) return false;
    this.pending.delete(seq);
    this.timers.clear(p.timer);
    p.resolve(value);
    return true;
  }

  /** Resolves every waiting request with null (the node stops). */
  cancelAll(): void {
    for (const [seq, p] of this.pending) {
      this.timers.clear(p.timer);
      this.pending.delete(seq);
      p.resolve(null);
    }
  }
}
