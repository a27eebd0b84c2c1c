// The data-plane thread's event loop: one poll(2) over the TAP, the UDP socket and an eventfd, with
// the node's timers, all on this thread. A frame or datagram is handled in the call
// that finds it ready: no libuv callback, no thread hop, no read buffer allocated (docs/host.md
// "Threads and batching"). The thread's own JavaScript event loop still gets turns (see run()), so
// promises settle.
import { POLLIN } from "../common/linux-tap.ts";
import type { Timers } from "../common/runtime.ts";
import * as libc from "./libc.ts";

const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const POLLFD_BYTES = 8; // struct pollfd { int fd; short events; short revents; }
const MAX_FDS = 8;
/** The eventfd is watched first. */
const WAKE_SLOT = 0;
/** Rounds that only move packets still give the thread's event loop a turn this often. */
const TURN_EVERY_MS = 50;
/** poll(2) takes whole milliseconds: round a timer up so it never fires early. */
const msCeil = (ms: number) => Math.min(2 ** 31 - 1, Math.max(0, Math.ceil(ms)));

interface Timer {
  at: number;
  callback: () => void;
}

export class PollLoop implements Timers {
  private readonly pollfds = new DataView(new ArrayBuffer(MAX_FDS * POLLFD_BYTES));
  private readonly pollBytes = new Uint8Array(this.pollfds.buffer);
  private readonly handlers: (() => void)[] = [];
  private readonly timers = new Set<Timer>();
  private readonly due: Timer[] = [];
  private readonly wakeFd: number;
  private readonly wakeBuffer = new BigUint64Array(1);
  private stopped = false;

  /** `onWake` runs after another thread wrote to wakeupFd (a message is waiting for this thread). */
  constructor(private readonly now: () => number, onWake: () => void) {
    this.wakeFd = libc.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (this.wakeFd < 0) throw new Error(`eventfd failed: errno ${libc.errno()}`);
    this.watch(this.wakeFd, () => {
      libc.read(this.wakeFd, this.wakeBuffer, 8);
      onWake();
    });
  }

  /**
   * The fd another thread writes an 8-byte 1 to (fs.writeSync) to end a poll early. That thread closes
   * it once this one has ended, so it never writes to a closed (or reused) fd number.
   */
  get wakeupFd(): number {
    return this.wakeFd;
  }

  /** Calls `onReadable` whenever `fd` has input; it should read until EAGAIN or a fair batch. */
  watch(fd: number, onReadable: () => void): void {
    const i = this.handlers.length;
    if (i === MAX_FDS) throw new Error("poll loop: too many fds");
    this.pollfds.setInt32(i * POLLFD_BYTES, fd, true);
    this.pollfds.setInt16(i * POLLFD_BYTES + 4, POLLIN, true);
    this.handlers.push(onReadable);
  }

  /** Stops watching `fd` (before it is closed). */
  unwatch(fd: number): void {
    for (let i = 0; i < this.handlers.length; i++) {
      if (this.pollfds.getInt32(i * POLLFD_BYTES, true) !== fd) continue;
      const last = this.handlers.length - 1;
      this.pollBytes.copyWithin(i * POLLFD_BYTES, last * POLLFD_BYTES, (last + 1) * POLLFD_BYTES);
      this.handlers[i] = this.handlers[last];
      this.handlers.pop();
      return;
    }
  }

  set(callback: () => void, delayMs: number): unknown {
    const timer = { at: this.now() + delayMs, callback };
    this.timers.add(timer);
    return timer;
  }

  clear(handle: unknown): void {
    this.timers.delete(handle as Timer);
  }

  /**
   * Runs rounds until stop(). After a round that ran timers or handled messages, and at least every
   * TURN_EVERY_MS, the thread's JavaScript event loop gets one turn, so the promise chains those
   * started (runNode's start-up and shutdown) finish before poll(2) blocks. Rounds that only moved
   * frames and datagrams (synchronous code) skip it: a reply the kernel queues while we handle a
   * request is read without a libuv turn in between.
   */
  async run(): Promise<void> {
    let lastTurn = -Infinity;
    let needTurn = true; // whatever called run() may still have promises to settle
    for (;;) {
      if (needTurn || this.now() - lastTurn >= TURN_EVERY_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastTurn = this.now();
      }
      if (this.stopped) break;
      needTurn = this.round();
    }
  }

  stop(): void {
    this.stopped = true;
  }

  /** One poll and what it found; true when timers or the wake handler ran (promises may be waiting). */
  private round(): boolean {
    const n = this.handlers.length;
    const ready = libc.poll(this.pollBytes, n, this.timeoutMs());
    if (ready > 0) {
      // A handler may unwatch (the last slot moves into its place, revents and all): stay in range.
      for (let i = 0; i < n && i < this.handlers.length; i++) {
        const revents = this.pollfds.getInt16(i * POLLFD_BYTES + 6, true);
        if (revents !== 0) this.handlers[i]();
      }
    } // ready < 0: EINTR (a signal); the next round polls again
    const woken = ready > 0 && this.pollfds.getInt16(WAKE_SLOT * POLLFD_BYTES + 6, true) !== 0;
    const timersRan = this.runTimers();
    return woken || timersRan;
  }

  private timeoutMs(): number {
    let earliest = Infinity;
    for (const t of this.timers) if (t.at < earliest) earliest = t.at;
    return earliest === Infinity ? -1 : msCeil(earliest - this.now());
  }

  private runTimers(): boolean {
    const now = this.now();
    // Due timers first, in deadline order as setTimeout fires them, then their callbacks: a timer a
    // callback sets waits for the next round.
    for (const t of this.timers) if (t.at <= now) this.due.push(t);
    if (this.due.length > 1) this.due.sort((a, b) => a.at - b.at);
    for (const t of this.due) {
      if (!this.timers.delete(t)) continue; // cleared by an earlier callback
      t.callback();
    }
    const ran = this.due.length > 0;
    this.due.length = 0;
    return ran;
  }
}
