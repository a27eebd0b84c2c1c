// The node's event loop: one poll(2) over the TAP, the UDP socket and libuv's epoll fd, with the
// node's timers, all on the main thread. A frame or datagram is handled in the call that finds it
// ready: no libuv callback, no thread hop, no read buffer allocated (docs/host.md "Threads and
// batching"). The JavaScript event loop still gets turns (see run()), so promises settle and libuv
// serves the control socket and signals.
import { POLLIN } from "../linux/tap.ts";
import type { Timers } from "../base/services.ts";
import * as libc from "./libc.ts";

const POLLFD_BYTES = 8; // struct pollfd { int fd; short events; short revents; }
const MAX_FDS = 8;
/** libuv's epoll fd is watched first. */
const LIBUV_SLOT = 0;
/**
 * Rounds that only move packets still give the JavaScript event loop a turn this often. Every turn
 * waits for a quiet round (one that found no frame or datagram: a timer's, a timeout's), so it does not
 * stand between a packet and the answer its handling may have made ready (B's ping reply, queued by its
 * kernel while B writes the request to the TAP).
 */
const TURN_EVERY_MS = 50;
/** A loop that never has a quiet round (a flood) takes its turn at this age all the same. */
const TURN_AT_LATEST_MS = 200;
/**
 * The longest poll(2) sleeps: libuv's timers (the control socket's request timeout) are not in its
 * epoll fd, so they wait at most this long past their time.
 */
const LIBUV_TIMERS_MS = 500;
/**
 * Whether the event loop gets its turn before the next round: one asked for, or the periodic one, after a
 * quiet round (see run()); after a busy one only once TURN_AT_LATEST_MS have passed.
 */
export function turnDue(asked: boolean, sinceTurnMs: number, lastRoundBusy: boolean): boolean {
  return sinceTurnMs >= TURN_AT_LATEST_MS || (!lastRoundBusy && (asked || sinceTurnMs >= TURN_EVERY_MS));
}
/** poll(2) takes whole milliseconds: round a timer up so it never fires early. */
const msCeil = (ms: number) => Math.min(2 ** 31 - 1, Math.max(0, Math.ceil(ms)));

interface Timer {
  at: number;
  callback: () => void;
  /** Its callback may start promises: the JavaScript event loop gets a turn after it. */
  needsTurn: boolean;
}

export class PollLoop implements Timers {
  private readonly pollfds = new DataView(new ArrayBuffer(MAX_FDS * POLLFD_BYTES));
  private readonly pollBytes = new Uint8Array(this.pollfds.buffer);
  private readonly pollAt = libc.address(this.pollBytes);
  private readonly handlers: (() => void)[] = [];
  private readonly timers = new Set<Timer>();
  private readonly due: Timer[] = [];
  private stopped = false;
  /** The last round found a watched fd ready, libuv's aside (frames, datagrams). */
  private busy = false;

  constructor(private readonly now: () => number) {
    // Readable when libuv has work (a control connection, a signal): the round then gives it a turn.
    this.watch(libc.libuvBackendFd(), () => {});
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
    return this.add(callback, delayMs, true);
  }

  /**
   * Timers whose callbacks are plain synchronous code (the latency wake): no event-loop turn after
   * them, which would cost each wake a libuv round (`epoll_pwait`, setImmediate, microtasks).
   */
  readonly syncTimers: Timers = {
    set: (callback, delayMs) => this.add(callback, delayMs, false),
    clear: (handle) => this.clear(handle),
  };

  private add(callback: () => void, delayMs: number, needsTurn: boolean): Timer {
    const timer = { at: this.now() + delayMs, callback, needsTurn };
    this.timers.add(timer);
    return timer;
  }

  clear(handle: unknown): void {
    this.timers.delete(handle as Timer);
  }

  /**
   * Runs rounds until stop(). After a round that ran timers set with set() or found libuv's fd ready,
   * and every TURN_EVERY_MS, the JavaScript event loop gets one turn (turnDue), so the promise chains
   * those started (runNode's start-up and shutdown) finish and libuv handles its I/O before poll(2)
   * blocks. Rounds that only moved frames and datagrams or ran syncTimers (synchronous code) do not
   * ask for one, and a turn waits for a quiet round, polling without sleeping meanwhile: a reply the
   * kernel queues while we handle a request is read without a libuv turn in between.
   */
  async run(): Promise<void> {
    let lastTurn = -Infinity;
    let turnAsked = true; // whatever called run() may still have promises to settle
    for (;;) {
      if (turnDue(turnAsked, this.now() - lastTurn, this.busy)) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastTurn = this.now();
        turnAsked = false;
      }
      if (this.stopped) break;
      turnAsked = this.round(turnAsked) || turnAsked;
    }
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * One poll (without sleeping while a turn waits) and what it found; true when timers that need a
   * turn ran or libuv has work (promises may be waiting).
   */
  private round(turnWaiting: boolean): boolean {
    const n = this.handlers.length;
    const ready = libc.pollAt(this.pollAt, n, turnWaiting ? 0 : this.timeoutMs());
    this.busy = false;
    if (ready > 0) {
      // A handler may unwatch (the last slot moves into its place, revents and all): stay in range.
      for (let i = 0; i < n && i < this.handlers.length; i++) {
        const revents = this.pollfds.getInt16(i * POLLFD_BYTES + 6, true);
        if (revents === 0) continue;
        this.busy ||= i !== LIBUV_SLOT;
        this.handlers[i]();
      }
    } // ready < 0: EINTR (a signal); the next round polls again
    const libuvReady = ready > 0 && this.pollfds.getInt16(LIBUV_SLOT * POLLFD_BYTES + 6, true) !== 0;
    const turnWanted = this.runTimers();
    return libuvReady || turnWanted;
  }

  private timeoutMs(): number {
    let earliest = Infinity;
    for (const t of this.timers) if (t.at < earliest) earliest = t.at;
    return Math.min(LIBUV_TIMERS_MS, msCeil(earliest - this.now()));
  }

  /** Runs the due timers; true when one of them wants an event-loop turn. */
  private runTimers(): boolean {
    const now = this.now();
    // Due timers first, in deadline order as setTimeout fires them, then their callbacks: a timer a
    // callback sets waits for the next round.
    for (const t of this.timers) if (t.at <= now) this.due.push(t);
    if (this.due.length > 1) this.due.sort((a, b) => a.at - b.at);
    let turnWanted = false;
    for (const t of this.due) {
      if (!this.timers.delete(t)) continue; // cleared by an earlier callback
      t.callback();
      turnWanted ||= t.needsTurn;
    }
    this.due.length = 0;
    return turnWanted;
  }
}
