// Drives the core: batches input records, calls process(), carries out what it emits,
// keeps one timer armed at the earliest deadline, feeds randomness with every tick.
import { OUT_DATAGRAM, OUT_EVENT, OUT_FRAME, OUT_MAC, OUT_MEMBER, OUT_STAT, OUT_TIMER, ADDR_SLOT } from "./abi.ts";
import { type HostPort, addressBytes } from "./address.ts";
import type { Core } from "./core.ts";
import { type CoreEvent, decodeEvent, decodeMac, decodeMember, hexU64, type MacEntry, type Member } from "./dumps.ts";
import type { Clock, DatagramTransport, Logger, Randomness, TapDevice, Timers } from "./runtime.ts";

const START_RANDOM_BYTES = 32;
const TICK_RANDOM_BYTES = 8;

export interface Identity {
  nodeId: Uint8Array; // 8 bytes
  name: string;
  advertise: HostPort;
}

export interface DriverServices {
  clock: Clock;
  timers: Timers;
  random: Randomness;
  log: Logger;
}

/** Counters of the host's own work and failures; the core's counters come from stats_dump. */
export interface HostCounters {
  process_calls: number;
  frames_read: number;
  datagrams_read: number;
  tap_write_errors: number;
  udp_send_errors: number;
  timer_ticks: number;
}

export class Driver {
  readonly counters: HostCounters = {
    process_calls: 0, frames_read: 0, datagrams_read: 0, tap_write_errors: 0, udp_send_errors: 0, timer_ticks: 0,
  };
  readonly startedAt: number;
  private tap: TapDevice | null = null;
  private transport: DatagramTransport | null = null;
  private timer: unknown = null;
  private timerDeadline = Infinity;
  /** The earliest OUT_TIMER of the process() call being drained. */
  private nextDeadline = Infinity;
  private flushScheduled = false;
  private readonly tickRandom = new Uint8Array(TICK_RANDOM_BYTES);
  private eventListeners: ((e: CoreEvent) => void)[] = [];

  constructor(readonly core: Core, readonly identity: Identity, private readonly services: DriverServices) {
    this.startedAt = services.clock.now();
  }

  /** Identity and entropy first, then seeds to join through (none: this node starts a switch). */
  start(tap: TapDevice, transport: DatagramTransport, seeds: HostPort[]): void {
    this.tap = tap;
    this.transport = transport;
    const entropy = new Uint8Array(START_RANDOM_BYTES);
    this.services.random.fill(entropy);
    this.core.pushRandom(entropy);
    this.core.pushIdentity(this.identity.nodeId, addressBytes(this.identity.advertise), this.identity.name);
    for (const seed of seeds) this.core.pushJoin(addressBytes(seed));
    this.flush();
  }

  onEvent(listener: (e: CoreEvent) => void): void {
    this.eventListeners.push(listener);
  }

  /** A frame read from TAP. The caller calls flush() after a batch. */
  frameIn(frame: Uint8Array): void {
    if (!this.core.fits(frame.length)) this.flush();
    this.core.pushFrame(frame);
    this.counters.frames_read++;
  }

  /** A datagram from the underlay; processed with the others that arrive in the same I/O turn. */
  datagramIn(address: Uint8Array, addressOffset: number, datagram: Uint8Array): void {
    if (!this.core.fits(ADDR_SLOT + datagram.length)) this.flush();
    this.core.pushDatagram(address, addressOffset, datagram);
    this.counters.datagrams_read++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.services.timers.defer(this.deferredFlush);
    }
  }

  private readonly deferredFlush = () => {
    this.flushScheduled = false;
    if (this.core.pendingInput > 0) this.flush();
  };

  /** Announces a graceful leave; the caller keeps the sockets open a moment so it goes out. */
  leave(): void {
    this.core.pushLeave();
    this.flush();
  }

  flush(): void {
    this.counters.process_calls++;
    this.core.process(this.services.clock.now(), this.handleOutput);
    this.armTimer();
  }

  private readonly handleOutput = (kind: number, body: Uint8Array) => {
    switch (kind) {
      case OUT_FRAME:
        try {
          this.tap!.write(body);
        } catch {
          this.counters.tap_write_errors++;
        }
        break;
      case OUT_DATAGRAM:
        try {
          this.transport!.send(body, 0, body.subarray(ADDR_SLOT));
        } catch {
          this.counters.udp_send_errors++;
        }
        break;
      case OUT_TIMER: {
        const at = new DataView(body.buffer, body.byteOffset, 8).getFloat64(0, true);
        if (at < this.nextDeadline) this.nextDeadline = at;
        break;
      }
      case OUT_EVENT: {
        const event = decodeEvent(body);
        for (const l of this.eventListeners) l(event);
        break;
      }
    }
  };

  private armTimer(): void {
    const deadline = this.nextDeadline;
    this.nextDeadline = Infinity;
    if (deadline === Infinity || deadline === this.timerDeadline) return;
    if (this.timer !== null) this.services.timers.clear(this.timer);
    this.timerDeadline = deadline;
    const delay = Math.max(0, deadline - this.services.clock.now());
    this.timer = this.services.timers.set(this.tick, delay);
  }

  private readonly tick = () => {
    this.timer = null;
    this.timerDeadline = Infinity;
    this.counters.timer_ticks++;
    this.services.random.fill(this.tickRandom);
    this.core.pushRandom(this.tickRandom);
    this.flush();
  };

  stop(): void {
    if (this.timer !== null) this.services.timers.clear(this.timer);
    this.timer = null;
    this.timerDeadline = Infinity;
  }

  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    this.core.stats((kind, body) => {
      if (kind !== OUT_STAT) return;
      const value = new DataView(body.buffer, body.byteOffset, 8).getFloat64(0, true);
      out[new TextDecoder().decode(body.subarray(8))] = value;
    });
    return out;
  }

  members(): Member[] {
    const out: Member[] = [];
    const selfId = hexU64(this.identity.nodeId, 0);
    this.core.members((kind, body) => {
      if (kind === OUT_MEMBER) out.push(decodeMember(body, selfId));
    });
    return out;
  }

  macs(): MacEntry[] {
    const out: MacEntry[] = [];
    this.core.macs((kind, body) => {
      if (kind === OUT_MAC) out.push(decodeMac(body));
    });
    return out;
  }
}
