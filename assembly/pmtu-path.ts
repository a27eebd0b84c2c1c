// Datagram PLPMTUD (RFC 8899) for one path: which size to probe next, what an ACK, a lost probe
// or a too-big hint from the host does to the path's max datagram. No I/O: assembly/pmtu.ts sends
// the probes this asks for and feeds back what comes of them. Sizes are plaintext DiVS datagrams.
//
//   Searching: probe the ceiling first (on a clean LAN one probe settles it), then bisect between the
//              largest size acked (`low`) and the smallest that failed (`high`) until they are
//              SEARCH_GRAIN apart. Every ACK raises the max datagram at once.
//   Complete:  while frames go to the peer, re-confirm the max datagram CONFIRM_ACTIVE_MS after the
//              last confirmation; MAX_PROBES lost confirmations (a black hole: the path shrank and
//              no ICMP said so) drop it to the base and search again. A search that stopped under
//              the ceiling tries upward again after RAISE_MS. An idle path is not probed (RFC 8899
//              lets a PL stop probing without traffic): the first frame after an idle spell brings
//              the confirmation forward, so the black-hole bound holds all the same.
import { Stat, count } from "./stats";

/** Attempts per probe size before it counts as failed (RFC 8899 MAX_PROBES, tinc's 3). */
export const MAX_PROBES: i32 = 3;
/** The search stops when the largest acked and the smallest failed size are this close. */
export const SEARCH_GRAIN: u32 = 8;
/** Re-confirmation while frames flow: bounds how long a shrunk path black-holes large datagrams. */
export const CONFIRM_ACTIVE_MS: f64 = 1000;
/** Search upward again after this long below the ceiling (RFC 8899 PMTU_RAISE_TIMER). */
export const RAISE_MS: f64 = 600_000;

export enum Phase { Searching, Complete }

export class PathMtu {
  /** The largest datagram to send on this path now. */
  maxDatagram: u32 = 0;
  phase: Phase = Phase.Searching;
  /** Largest size acked in this search (the base before any). */
  low: u32 = 0;
  /** Smallest size known to fail; above the ceiling while none has. */
  high: u32 = 0;
  /** Size of the probe in flight, 0 when none. */
  probeSize: u32 = 0;
  probeTries: i32 = 0;
  /** Attempts sent on this path; an ACK of any attempt at the size in flight counts (a late one too). */
  sent: u32 = 0;
  firstAttempt: u32 = 0;
  /** When `pathDue` next has something to do: a probe to send or one to give up on. */
  deadline: f64 = 0;
  confirmedAt: f64 = 0;
  completedAt: f64 = 0;
  /** Sizes this search probed, and probes of it that were answered. */
  searchProbes: i32 = 0;
  searchAcks: i32 = 0;
  /** Last time a frame was sized for this path (pmtuMaxDatagram). */
  usedAt: f64 = -Infinity;

  /** `addr`: the peer's address block in assembly/peers.ts; `id`: names the path in probe sequence numbers. */
  constructor(readonly addr: usize, readonly id: u32) {}
}

/** (Re)starts discovery at `now` from the base: a new peer, or one whose address changed. */
export function pathStart(p: PathMtu, base: u32, ceiling: u32, now: f64): void {
  p.maxDatagram = base;
  p.low = base;
  p.high = ceiling + 1;
  p.probeSize = 0;
  p.phase = Phase.Searching;
  p.searchProbes = 0;
  p.searchAcks = 0;
  p.confirmedAt = now; // the base is taken on trust until its first confirmation
  p.deadline = now;
}

/** The next size a search probes, or 0 when the search is done. */
function searchSize(p: PathMtu, ceiling: u32): u32 {
  if (p.high > ceiling) return ceiling > p.low ? ceiling : 0;
  if (p.high <= p.low + SEARCH_GRAIN) return 0;
  return (p.low + p.high) >>> 1;
}

/** When a completed path next needs a confirmation (or a search upward); Infinity while idle. */
function completeDeadline(p: PathMtu, base: u32, ceiling: u32): f64 {
  if (p.usedAt <= p.confirmedAt) return Infinity; // no frame since the last confirmation
  // At the base there is nothing to fall back to: only the search upward is worth a probe.
  const confirm = p.maxDatagram > base ? p.confirmedAt + CONFIRM_ACTIVE_MS : Infinity;
  const raise = p.high <= ceiling ? p.completedAt + RAISE_MS : Infinity;
  return Math.min(confirm, raise);
}

/** Leaves Complete to search again, from `low`. */
function searchAgain(p: PathMtu): void {
  p.phase = Phase.Searching;
  p.searchProbes = 0;
  p.searchAcks = 0;
}

function startProbe(p: PathMtu, size: u32, now: f64, timeout: f64): u32 {
  p.probeSize = size;
  p.probeTries = 1;
  p.deadline = now + timeout;
  return size;
}

/**
 * Runs what is due at `now`; returns the size of a probe to send now (its attempt number is
 * `probeTries`), or 0. `deadline` tells when to call again.
 */
export function pathDue(p: PathMtu, base: u32, ceiling: u32, now: f64, timeout: f64): u32 {
  if (now < p.deadline) return 0;
  if (p.probeSize != 0) {
    count(Stat.PmtuProbesLost);
    if (p.probeTries < MAX_PROBES) {
      p.probeTries++;
      p.deadline = now + timeout;
      return p.probeSize;
    }
    const failed = p.probeSize;
    p.probeSize = 0;
    p.high = failed;
    if (p.phase == Phase.Complete) { // only a size above the base is ever confirmed
      count(Stat.PmtuBlackHoles);
      p.maxDatagram = base;
      p.low = base;
      searchAgain(p);
    }
  }
  if (p.phase == Phase.Complete) {
    const at = completeDeadline(p, base, ceiling);
    if (now < at) {
      p.deadline = at;
      return 0;
    }
    if (p.high > ceiling || now < p.completedAt + RAISE_MS) return startProbe(p, p.maxDatagram, now, timeout);
    p.high = ceiling + 1; // the raise timer: search upward from here
    searchAgain(p);
  }
  const size = searchSize(p, ceiling);
  if (size != 0) {
    p.searchProbes++;
    return startProbe(p, size, now, timeout);
  }
  p.phase = Phase.Complete;
  p.completedAt = now;
  p.deadline = completeDeadline(p, base, ceiling);
  count(Stat.PmtuSearchesDone);
  // No answer at all: an older node that drops probes, or a path that carries nothing over the base.
  if (p.searchProbes > 0 && p.searchAcks == 0) count(Stat.PmtuSearchesUnanswered);
  return 0;
}

/** Counts an attempt at the probe in flight going out; returns its number (the ACK echoes its low 8 bits). */
export function pathSent(p: PathMtu): u32 {
  p.sent++;
  if (p.probeTries == 1) p.firstAttempt = p.sent;
  return p.sent;
}

/** An ACK for `size` of attempt `attempt` (low 8 bits); false when it answers no probe in flight (stale). */
export function pathAck(p: PathMtu, attempt: u32, size: u32, now: f64): bool {
  if (p.probeSize == 0 || size != p.probeSize) return false;
  if (((attempt - p.firstAttempt) & 0xff) > ((p.sent - p.firstAttempt) & 0xff)) return false;
  p.probeSize = 0;
  p.confirmedAt = now;
  p.searchAcks++;
  if (size > p.low) p.low = size;
  if (p.phase == Phase.Searching) p.maxDatagram = size;
  p.deadline = now; // the next search step at once; a completed path reschedules its confirmation
  return true;
}

/**
 * The host could not send a datagram of `len` bytes to this peer (EMSGSIZE: the kernel's path MTU,
 * learnt from ICMP, is smaller). A hint, taken at once: no size from `len` up is probed again,
 * and if the max datagram was that large it drops to the base and the search restarts from there.
 * Returns whether it changed anything.
 */
export function pathTooBig(p: PathMtu, len: u32, base: u32, now: f64): bool {
  if (len > p.maxDatagram && (p.probeSize == 0 || len > p.probeSize)) return false; // about a size no longer used
  if (p.probeSize >= len) p.probeSize = 0; // refused by the host: no need to wait for its timeout
  if (len < p.high) p.high = len;
  if (p.maxDatagram >= len) {
    p.maxDatagram = base;
    p.low = base;
  }
  if (p.phase == Phase.Complete) searchAgain(p);
  p.deadline = now;
  return true;
}

/** A frame was sized for this path at `now`: the first since the last confirmation may bring the next one forward. */
export function pathUsed(p: PathMtu, base: u32, ceiling: u32, now: f64): void {
  p.usedAt = now;
  if (p.phase == Phase.Complete && p.probeSize == 0) p.deadline = Math.min(p.deadline, completeDeadline(p, base, ceiling));
}
