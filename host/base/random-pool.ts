// Randomness drawn in small pieces from one larger fill. The driver feeds the core 8 bytes on every
// timer tick; asking the runtime's CSPRNG for each cost ~100 us of CPU on a node woken from sleep
// (node:crypto's getRandomValues wrappers, cold each time: docs/performance.md "What a wake costs"),
// while one 4 KB fill serves 512 ticks. Each byte is handed out once.
import type { Randomness } from "./services.ts";

const POOL_BYTES = 4096;

export class RandomPool implements Randomness {
  private readonly pool = new Uint8Array(POOL_BYTES);
  private used = POOL_BYTES; // empty: the first fill() draws

  constructor(private readonly source: Randomness) {}

  fill(buffer: Uint8Array): void {
    let done = 0;
    while (done < buffer.length) {
      if (this.used === POOL_BYTES) {
        this.source.fill(this.pool);
        this.used = 0;
      }
      const n = Math.min(buffer.length - done, POOL_BYTES - this.used);
      buffer.set(this.pool.subarray(this.used, this.used + n), done);
      this.pool.fill(0, this.used, this.used + n); // handed out: not kept in memory
      this.used += n;
      done += n;
    }
  }
}
