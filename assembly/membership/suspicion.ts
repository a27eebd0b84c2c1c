// Lifeguard dynamic suspicion (memberlist suspicion.go): a suspect is declared
// dead after a timeout that starts at `max` and shrinks towards `min` as
// independent members confirm the suspicion. Accusers are verified (signed
// accusations, docs/membership.md "Signed accusations"), so k confirmations are
// k other members' word: the timeout declares a suspect dead only once it has
// them, and one member alone never kills another (where k > 0).
import { CLAIM_LEN } from "../claims";
import { config } from "../config";
import { self } from "../node";
import { wakeAt } from "../wake";

export class Suspicion {
  /** Confirmations still counted (k), the ones seen (n) and who sent them. */
  private k: i32;
  private n: i32 = 0;
  private readonly confirmedBy: Array<u64> = new Array<u64>();
  deadline: f64;
  /** Who raised it first, and its signed accusation's trailer (passed on to the suspect in nudges). */
  readonly origin: u64;
  private readonly originSigned: StaticArray<u8> = new StaticArray<u8>(CLAIM_LEN);
  /**
   * When we next send the suspect its SUSPECT directly, so a missed refutation cannot
   * kill a live member: the origin does so at once and every probe interval, others
   * every half minimum timeout (the suspect answers them with its newer ALIVE).
   */
  nudgeAt: f64;
  readonly nudgeEvery: f64;

  constructor(from: u64, trailer: usize, k: i32, private readonly min: f64, private readonly max: f64,
    private readonly start: f64, readonly incarnation: u32) {
    this.k = k;
    this.origin = from;
    memory.copy(changetype<usize>(this.originSigned), trailer, CLAIM_LEN);
    this.nudgeEvery = from == self.id ? config.probeIntervalMs : min / 2;
    this.nudgeAt = from == self.id ? start : start + this.nudgeEvery;
    this.confirmedBy.push(from);
    this.deadline = start + (k < 1 ? min : max);
    wakeAt(Math.min(this.nudgeAt, this.deadline));
  }

  /** The origin's signed accusation: key and signature. */
  get originTrailer(): usize { return changetype<usize>(this.originSigned); }

  /** `from` accused already (or k confirmations are in: more change nothing). */
  counted(from: u64): bool {
    if (this.n >= this.k) return true;
    for (let i = 0; i < this.confirmedBy.length; i++) if (unchecked(this.confirmedBy[i]) == from) return true;
    return false;
  }

  /** Counts a confirmation from `from`; true when it was new (worth re-gossiping). */
  confirm(from: u64): bool {
    if (this.counted(from)) return false;
    this.confirmedBy.push(from);
    this.n++;
    this.deadline = this.start + suspicionTimeoutAfter(this.n, this.k, this.min, this.max);
    wakeAt(this.deadline);
    return true;
  }

  /** Counts `from` (a DEAD's accuser: its own suspicion ran out) and tells whether k confirmations are in. */
  confirmedWith(from: u64): bool {
    this.confirm(from);
    return this.confirmed();
  }

  /** k independent members confirmed it (Lifeguard's k; 0 in tiny clusters): it may end in a death. */
  confirmed(): bool { return this.n >= this.k; }

  /**
   * The timeout ran out short of k confirmations at `now`: wait for them (a confirmation sets a new
   * deadline). When our own probes failed too, wait one more maximum timeout at most, nudging the
   * suspect: if it still has not refuted, our own verdict ends it here (Lifeguard's timeout), since the
   * accusations of members that declared it dead early may never all reach us (each is gossiped a few
   * times only, and push-pull carries no accusation). Elsewhere our DEAD is still one accuser of k.
   */
  awaitConfirmations(now: f64): void {
    this.deadline = this.ownVerdictDue || !this.accusedBy(self.id) ? Infinity : now + this.max;
    this.ownVerdictDue = this.deadline != Infinity;
  }

  /** We accused it ourselves and the extra timeout of `awaitConfirmations` ran out unrefuted. */
  ownVerdictDue: bool = false;

  private accusedBy(id: u64): bool { return this.confirmedBy.includes(id); }
}

/** Total timeout after n of k confirmations: max - log(n+1)/log(k+1) * (max - min), at least min. */
export function suspicionTimeoutAfter(n: i32, k: i32, min: f64, max: f64): f64 {
  const frac = Math.log(<f64>n + 1) / Math.log(<f64>k + 1);
  const raw = Math.floor(max - frac * (max - min));
  return raw < min ? min : raw;
}

/** The minimum suspicion timeout for a cluster of n: mult * max(1, log10(n)) * probe interval. */
export function suspicionMin(n: i32): f64 {
  const scale = Math.max(1.0, Math.log10(Math.max(1.0, <f64>n)));
  return <f64>config.suspicionMult * scale * config.probeIntervalMs;
}

/** Confirmations expected before the minimum timeout: suspicionMult - 2, or 0 in tiny clusters. */
export function suspicionConfirmations(n: i32): i32 {
  const k = config.suspicionMult - 2;
  return n - 2 < k ? 0 : k;
}
