// A single-producer single-consumer ring of frame slots in a SharedArrayBuffer: the TAP reader thread
// (producer) does blocking reads straight into slots; the main thread (consumer) drains batches.
// Counters are free-running 32-bit integers; the producer wakes the consumer only when the ring goes
// from empty to non-empty, so a busy consumer costs the producer no wake-ups.

import { tapMaxRecord } from "../core/mtu.ts";
import type { FrameSink } from "../engine/platform.ts";

const HEAD = 0; // frames published (producer)
const TAIL = 1; // frames consumed (consumer)
const STOP = 2; // set to 1 to ask the producer to exit
const HEADER_BYTES = 64; // its own cache line
const LEN_BYTES = 4;
/** Frames taken off the ring per process() call: bounds latency and fits the core's input region. */
const FRAME_BATCH = 128;

export interface RingLayout {
  slots: number; // power of two
  slotBytes: number; // length word + the largest frame
}

function ringLayout(maxFrame: number, slots = 1024): RingLayout {
  return { slots, slotBytes: (LEN_BYTES + maxFrame + 63) & ~63 };
}

/**
 * With offload a slot holds a 64 KB segment: fewer slots keep the ring at 1 MB, 16 segments of up to
 * 45 frames each, more than the core takes per process() call (its input region is 256 KB); a full ring
 * blocks the reader, and the TAP queue holds the rest. Every slot a TSO segment lands in stays in RSS:
 * 256 slots (16 MB) and then 64 (4 MB) cost that much more under TCP for no gain (docs/performance.md
 * "Memory").
 */
const OFFLOAD_RING_SLOTS = 16;

/** The ring a TAP reader needs: 64 KB slots (fewer of them) when the TAP hands over GSO segments. */
export function tapRingLayout(mtu: number, offload: boolean): RingLayout {
  return ringLayout(tapMaxRecord(mtu, offload), offload ? OFFLOAD_RING_SLOTS : undefined);
}

export function createRingBuffer(layout: RingLayout): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + layout.slots * layout.slotBytes);
}

class RingBase {
  protected readonly header: Int32Array;
  protected readonly bytes: Uint8Array;
  protected readonly lengths: DataView;
  protected readonly mask: number;

  constructor(readonly buffer: SharedArrayBuffer, readonly layout: RingLayout) {
    this.header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.bytes = new Uint8Array(buffer);
    this.lengths = new DataView(buffer);
    this.mask = layout.slots - 1;
  }

  protected slotOffset(index: number): number {
    return HEADER_BYTES + (index & this.mask) * this.layout.slotBytes;
  }

  get stopped(): boolean {
    return Atomics.load(this.header, STOP) !== 0;
  }
}

export class RingProducer extends RingBase {
  /** The slot to read the next frame into (a view of the slot's data area), or null while full. */
  freeSlot(): Uint8Array | null {
    const head = Atomics.load(this.header, HEAD);
    if (((head - Atomics.load(this.header, TAIL)) | 0) >= this.layout.slots) return null;
    const off = this.slotOffset(head) + LEN_BYTES;
    return this.bytes.subarray(off, off + this.layout.slotBytes - LEN_BYTES);
  }

  /** Publishes the frame just written into freeSlot(). */
  publish(length: number): void {
    const head = Atomics.load(this.header, HEAD);
    this.lengths.setUint32(this.slotOffset(head), length, true);
    Atomics.store(this.header, HEAD, (head + 1) | 0);
    if (Atomics.load(this.header, TAIL) === head) Atomics.notify(this.header, HEAD);
  }

  /** Blocks (reader thread only) until the consumer frees a slot or `timeoutMs` passes. */
  waitForRoom(timeoutMs: number): void {
    const tail = Atomics.load(this.header, TAIL);
    if (((Atomics.load(this.header, HEAD) - tail) | 0) < this.layout.slots) return;
    Atomics.wait(this.header, TAIL, tail, timeoutMs);
  }
}

export class RingConsumer extends RingBase {
  /** Hands each pending frame (a view valid only during the call) to `visit`, up to `max`; returns the count. */
  drain(visit: (frame: Uint8Array) => void, max: number): number {
    let tail = Atomics.load(this.header, TAIL);
    const head = Atomics.load(this.header, HEAD);
    let n = 0;
    while (tail !== head && n < max) {
      const off = this.slotOffset(tail);
      const len = this.lengths.getUint32(off, true);
      visit(this.bytes.subarray(off + LEN_BYTES, off + LEN_BYTES + len));
      tail = (tail + 1) | 0;
      n++;
    }
    if (n > 0) {
      Atomics.store(this.header, TAIL, tail);
      Atomics.notify(this.header, TAIL);
    }
    return n;
  }

  /** Resolves once the ring is (or becomes) non-empty. */
  async waitForFrames(): Promise<void> {
    const head = Atomics.load(this.header, HEAD);
    if (head !== Atomics.load(this.header, TAIL)) return;
    // deno-lint-ignore no-explicit-any
    const result = (Atomics as any).waitAsync(this.header, HEAD, head);
    if (result.async) await result.value;
  }

  /**
   * Hands frames to `sink` in batches of up to FRAME_BATCH until stop(); resolves then. `defer` yields one
   * event-loop turn between batches: a non-empty ring resolves waitForFrames() at once, as a microtask,
   * so without it a busy TAP would starve UDP receives and timers (and so membership probes).
   */
  async pump(sink: FrameSink, defer: (callback: () => void) => void): Promise<void> {
    const visit = (frame: Uint8Array) => sink.frame(frame);
    while (!this.stopped) {
      await this.waitForFrames();
      if (this.stopped) break;
      if (this.drain(visit, FRAME_BATCH) > 0) sink.batchEnd();
      await new Promise<void>((resolve) => defer(resolve));
    }
  }

  stop(): void {
    Atomics.store(this.header, STOP, 1);
    Atomics.notify(this.header, TAIL);
    Atomics.notify(this.header, HEAD);
  }
}
