// Token buckets for handshake packets (docs/security.md "Rate limits and costs"). One budget per
// source network, an IPv4 /24 or an IPv6 /64, since one host can send from any address of its network
// (its /64 above all). The transport does not charge peers with a live session: a flood spoofed from
// their network or address does not lock them out. The table is bounded: buckets that have refilled
// carry no information and are pruned on tick; when it is full the least recently used bucket is
// evicted, so spoofed sources push out each other, never a newcomer.

interface Bucket {
  tokens: number;
  last: number;
}

export class RateLimiter {
  /** Least recently used first (Map order: each use moves a bucket to the end). */
  private readonly buckets = new Map<number | string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxSources: number,
  ) {}

  /** Takes one token for `source` at `now` (ms); false when the source is over its rate. */
  allow(source: number | string, now: number): boolean {
    let b = this.buckets.get(source);
    if (b) {
      this.buckets.delete(source);
    } else {
      if (this.buckets.size >= this.maxSources) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: this.burst, last: now };
    }
    this.buckets.set(source, b);
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

/** IPv4 in the 18-byte form (docs/abi.md): ::ffff:a.b.c.d. */
function isMappedV4(addr: Uint8Array): boolean {
  let mapped = addr[10] === 0xff && addr[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) mapped = addr[i] === 0;
  return mapped;
}

/** Rate-limit key of an 18-byte address's network: its IPv4 /24 as a number, else its IPv6 /64 as text. */
export function sourceOf(addr: Uint8Array): number | string {
  if (isMappedV4(addr)) return ((addr[12] << 16) | (addr[13] << 8) | addr[14]) >>> 0;
  return String.fromCharCode(...addr.subarray(0, 8));
}
