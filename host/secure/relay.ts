// The relay role's admission (docs/security.md "Relaying"): which member pairs the core allowed this
// node to relay between (OUT_RELAY_ALLOW), each with a token bucket of bytes. A forwarded envelope is
// exactly as long as the one received (only its address field is rewritten), so a pair never gets
// more bytes out than it sent in: the relay cannot amplify.
import type { AddrKey } from "./addr-key.ts";
import { DEFAULT_RELAY_CAP_BYTES_PER_SECOND } from "./config.ts";

/** A bucket holds a quarter second of its rate... */
const BURST_SECONDS = 0.25;
/** ...and at least one largest UDP datagram, so any datagram can pass at some rate. */
const MIN_BURST_BYTES = 65_535;

export interface RelayPair {
  a: AddrKey;
  b: AddrKey;
  /** Bytes per second: the core's budget, at most the cap. */
  rate: number;
  /** Bytes forwarded for the pair (both directions). */
  bytes: number;
}

interface Allowance {
  pair: RelayPair;
  burst: number;
  tokens: number;
  last: number;
}

export class RelayAllowances {
  /** Both orders of a pair point at the same allowance: no key is built per packet. */
  private readonly byEnd = new Map<AddrKey, Map<AddrKey, Allowance>>();

  constructor(private readonly capBytesPerSecond: number = DEFAULT_RELAY_CAP_BYTES_PER_SECOND) {}

  /** The core's OUT_RELAY_ALLOW: relay between `a` and `b` at up to `budget` bytes/s; 0 revokes. */
  set(a: AddrKey, b: AddrKey, budget: number, now: number): void {
    if (budget <= 0 || a === b || this.capBytesPerSecond <= 0) {
      this.forget(a, b);
      this.forget(b, a);
      return;
    }
    const rate = Math.min(budget, this.capBytesPerSecond);
    const burst = Math.max(rate * BURST_SECONDS, MIN_BURST_BYTES);
    const old = this.find(a, b);
    if (old !== undefined) {
      old.pair.rate = rate;
      old.burst = burst;
      old.tokens = Math.min(old.tokens, burst);
      return;
    }
    const allowance: Allowance = { pair: { a, b, rate, bytes: 0 }, burst, tokens: burst, last: now };
    this.side(a).set(b, allowance);
    this.side(b).set(a, allowance);
  }

  allowed(a: AddrKey, b: AddrKey): boolean {
    return this.find(a, b) !== undefined;
  }

  /** Takes `length` bytes from the pair's bucket at `now` (ms); false when the pair is over its rate. */
  take(a: AddrKey, b: AddrKey, length: number, now: number): boolean {
    const allowance = this.find(a, b);
    if (allowance === undefined) return false;
    const refill = ((now - allowance.last) * allowance.pair.rate) / 1000;
    allowance.tokens = Math.min(allowance.burst, allowance.tokens + Math.max(0, refill));
    allowance.last = now;
    if (allowance.tokens < length) return false;
    allowance.tokens -= length;
    allowance.pair.bytes += length;
    return true;
  }

  pairs(): RelayPair[] {
    const out: RelayPair[] = [];
    for (const [end, others] of this.byEnd) {
      for (const allowance of others.values()) if (allowance.pair.a === end) out.push({ ...allowance.pair });
    }
    return out;
  }

  private find(a: AddrKey, b: AddrKey): Allowance | undefined {
    return this.byEnd.get(a)?.get(b);
  }

  private forget(end: AddrKey, other: AddrKey): void {
    const m = this.byEnd.get(end);
    if (m === undefined) return;
    m.delete(other);
    if (m.size === 0) this.byEnd.delete(end);
  }

  private side(end: AddrKey): Map<AddrKey, Allowance> {
    let m = this.byEnd.get(end);
    if (m === undefined) {
      m = new Map();
      this.byEnd.set(end, m);
    }
    return m;
  }
}
