// Per-source token buckets for handshake packets (docs/security.md "Rate limits and costs").
// The table is bounded: buckets that have refilled carry no information and are pruned on tick, and
// a new source is refused while the table is full rather than evicting a source that is being limited.

interface Bucket {
  tokens: number;
  last: number;
}

export class RateLimiter {
  private readonly buckets = new Map<number | string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxSources: number,
  ) {}

  /** Takes one token for `source` at `now` (ms); false when the source is over its rate. */
  allow(source: number | string, now: number): boolean {
    let b = this.buckets.get(source);
    if (!b) {
      if (this.buckets.size >= this.maxSources) return false;
      b = { tokens: this.burst, last: now };
      this.buckets.set(source, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.last) * this.perSecond) / 1000);
    b.last = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forgets sources whose bucket is full again. */
  prune(now: number): void {
    for (const [source, b] of this.buckets) {
      if (b.tokens + ((now - b.last) * this.perSecond) / 1000 >= this.burst) this.buckets.delete(source);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}

/** Rate-limit key of an 18-byte address: the IPv4 address as a number, else the IPv6 bytes as text. */
export function sourceOf(addr: Uint8Array): number | string {
  let mapped = addr[10] === 0xff && addr[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) mapped = addr[i] === 0;
  if (mapped) return ((addr[12] << 24) | (addr[13] << 16) | (addr[14] << 8) | addr[15]) >>> 0;
  return String.fromCharCode(...addr.subarray(0, 16));
}
