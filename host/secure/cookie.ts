// The responder's stateless handshake memory (docs/security.md step 2). Each period (120 s) has a
// random cookie secret and an ephemeral X25519 key pair; the previous period stays valid so a
// handshake that straddles a rotation completes. N_r = HMAC(secret, "divs cookie" || addr || E_i || N_i || S_i ||
// slot) lets the responder recognise its own challenge in HS_CONFIRM without having stored it; the slot
// (time / confirm window) makes a confirm held back past two windows unrecognisable, while the
// initiator still holds the session it names (docs/security.md "HS_CONFIRM").
import { equalBytes, utf8, writeU32 } from "./bytes.ts";
import type { CryptoProvider } from "./provider.ts";

export const NONCE_LEN = 16;
const COOKIE_LABEL = utf8("divs cookie");

export class CookiePeriod {
  readonly secret = new Uint8Array(32);
  /** Ephemeral X25519 private key of this period. */
  readonly e = new Uint8Array(32);
  readonly E: Uint8Array;
  /** N_r values already turned into sessions (as latin1 text), so a replayed HS_CONFIRM is refused. */
  readonly accepted = new Set<string>();

  constructor(crypto: CryptoProvider) {
    crypto.randomFill(this.secret);
    crypto.randomFill(this.e);
    this.E = crypto.x25519Public(this.e);
  }

  cookie(crypto: CryptoProvider, addr: Uint8Array, Ei: Uint8Array, Ni: Uint8Array, Si: Uint8Array, slot: number): Uint8Array {
    const slotBytes = new Uint8Array(4);
    writeU32(slotBytes, 0, slot);
    return crypto.hmacSha256(this.secret, COOKIE_LABEL, addr, Ei, Ni, Si, slotBytes).subarray(0, NONCE_LEN);
  }

  /** Overwrites the secrets once the period is no longer accepted (forward secrecy). */
  wipe(): void {
    this.secret.fill(0);
    this.e.fill(0);
    this.accepted.clear();
  }
}

export class CookieJar {
  current: CookiePeriod;
  private previous: CookiePeriod | null = null;
  private rotatedAt: number;

  constructor(
    private readonly crypto: CryptoProvider, now: number, private readonly periodMs: number,
    /** A challenge's cookie is recognised in the window it was minted in and the next one only. */
    private readonly confirmWindowMs: number,
  ) {
    this.current = new CookiePeriod(crypto);
    this.rotatedAt = now;
  }

  get nextRotation(): number {
    return this.rotatedAt + this.periodMs;
  }

  rotateIfDue(now: number): void {
    if (now < this.rotatedAt + this.periodMs) return;
    this.previous?.wipe();
    // After a long pause both periods are stale: start afresh rather than keep an old secret.
    this.previous = now < this.rotatedAt + 2 * this.periodMs ? this.current : null;
    if (!this.previous) this.current.wipe();
    this.current = new CookiePeriod(this.crypto);
    this.rotatedAt = now;
  }

  /** The time slot a cookie minted at `now` carries. */
  slot(now: number): number {
    return Math.floor(now / this.confirmWindowMs) >>> 0;
  }

  /** The period whose secret minted `Nr` for this address and initiator in this window or the last, or null. */
  find(addr: Uint8Array, Ei: Uint8Array, Ni: Uint8Array, Si: Uint8Array, packet: Uint8Array, nrOffset: number, now: number): CookiePeriod | null {
    const slot = this.slot(now);
    for (const period of [this.current, this.previous]) {
      if (!period) continue;
      for (const s of [slot, slot - 1]) {
        if (equalBytes(period.cookie(this.crypto, addr, Ei, Ni, Si, s >>> 0), 0, packet, nrOffset, NONCE_LEN)) return period;
      }
    }
    return null;
  }
}
