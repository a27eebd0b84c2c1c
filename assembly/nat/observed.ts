// This node's own side of NAT traversal: the addresses members observe us at
// (PATH_PONG, OBSERVED), the local interface addresses the host gives
// (IN_CANDIDATES), the NAT guess from those, adopting an observed address as
// the advertised one (when two members agree or the seed we joined reports
// it), and gossiping our candidate list (CANDIDATES) whenever it changes.
import { ADDR_LEN, ADDR_SLOT, OUT_SELF } from "../abi";
import { self } from "../node";
import { outputReserve } from "../queue";
import { BROADCAST_SPACE_CANDIDATES, broadcastEnqueue } from "../membership/broadcast";
import { membershipIdentify } from "../membership/updates";
import { Stat, count } from "../stats";
import {
  CANDIDATES_MAX, NAT_CONE, NAT_NONE, NAT_SYMMETRIC, NAT_UNKNOWN, writeCandidates,
} from "../wire/nat";
import { Addr, addrCopy, addrEq, addrIsZero, addrPtr, sameHost } from "./addr";
import { pathsOwnCandidatesChanged } from "./paths";

const MAX_OBSERVERS: i32 = 16;
const MAX_LOCAL: i32 = 4;
/** An observation older than this no longer counts (members re-report with every PATH_PONG). */
const OBSERVATION_TTL_MS: f64 = 120_000;

class Observation {
  constructor(readonly observer: u64, public addr: Addr, public at: f64) {}
}

const observations = new Array<Observation>();
const local = new Array<Addr>();
const hostAddr: Addr = new StaticArray<u8>(ADDR_LEN); // the address IN_IDENTITY gave
let adopted: Addr | null = null;
let version: u32 = 0;
let guess: u8 = NAT_UNKNOWN;
const listBytes: usize = heap.alloc(CANDIDATES_MAX * ADDR_LEN);
let listCount: u32 = 0;

/** IN_IDENTITY gave `self.addr`: keep it as a local address, and keep advertising an adopted one. */
export function natIdentity(): void {
  memory.copy(addrPtr(hostAddr), self.addr, ADDR_LEN);
  const a = adopted;
  if (a != null) memory.copy(self.addr, addrPtr(a), ADDR_LEN);
  refresh();
}

/** IN_CANDIDATES: `n` address slots at `p` (the host's local interface addresses). */
export function natLocalCandidates(p: usize, n: u32): void {
  local.length = 0;
  for (let i: u32 = 0; i < n && local.length < MAX_LOCAL; i++) {
    const a = p + i * ADDR_SLOT;
    if (!addrIsZero(a)) local.push(addrCopy(a));
  }
  refresh();
}

function isLocal(a: usize): bool {
  if (addrEq(a, addrPtr(hostAddr))) return true;
  for (let i = 0; i < local.length; i++) if (addrEq(a, addrPtr(unchecked(local[i])))) return true;
  return false;
}

/** The member at address hash `observer` (or the seed we joined, `fromSeed`) sees our datagrams come from `addr`. */
export function natObserved(observer: u64, addr: usize, fromSeed: bool): void {
  if (addrIsZero(addr)) { count(Stat.PathObservedMalformed); return; }
  let found = false;
  for (let i = 0; i < observations.length; i++) {
    const o = unchecked(observations[i]);
    if (o.observer != observer) continue;
    if (!addrEq(addrPtr(o.addr), addr)) o.addr = addrCopy(addr);
    o.at = self.now;
    found = true;
    break;
  }
  if (!found) {
    if (observations.length >= MAX_OBSERVERS) observations.shift(); // oldest first
    observations.push(new Observation(observer, addrCopy(addr), self.now));
  }
  // Behind a cone NAT, an advertised address nobody sees us at any more is stale: one observer will do.
  // (Behind a symmetric one every member sees another port: adopting again would only move our key.)
  const stale = adopted != null && guess == NAT_CONE && agreeing(self.addr) == 0 && allAgree(addr);
  const agreed = fromSeed || agreeing(addr) >= 2 || stale;
  if (agreed && !isLocal(addr) && !addrEq(addr, self.addr)) adopt(addr);
  refresh();
}

function allAgree(addr: usize): bool {
  for (let i = 0; i < observations.length; i++) {
    const o = unchecked(observations[i]);
    if (self.now - o.at < OBSERVATION_TTL_MS && !addrEq(addrPtr(o.addr), addr)) return false;
  }
  return true;
}

function agreeing(addr: usize): i32 {
  let n = 0;
  for (let i = 0; i < observations.length; i++) {
    const o = unchecked(observations[i]);
    if (self.now - o.at < OBSERVATION_TTL_MS && addrEq(addrPtr(o.addr), addr)) n++;
  }
  return n;
}

/** Advertise `addr` from now on: a new incarnation, as an IN_IDENTITY address change is. */
function adopt(addr: usize): void {
  adopted = addrCopy(addr);
  memory.copy(self.addr, addr, ADDR_LEN);
  count(Stat.PathObservedAdopted);
  membershipIdentify();
}

/**
 * none: a member sees us at a local address; cone: every member sees one address;
 * symmetric: members see one host at different ports (a new mapping per destination).
 */
function computeGuess(): u8 {
  let fresh = 0;
  let first: usize = 0;
  let allSame = true;
  let portsDiffer = false;
  for (let i = 0; i < observations.length; i++) {
    const o = unchecked(observations[i]);
    if (self.now - o.at >= OBSERVATION_TTL_MS) continue;
    const a = addrPtr(o.addr);
    if (isLocal(a)) return NAT_NONE;
    if (fresh++ == 0) { first = a; continue; }
    if (addrEq(a, first)) continue;
    allSame = false;
    if (sameHost(a, first)) portsDiffer = true;
  }
  if (fresh < 2) return NAT_UNKNOWN;
  if (allSame) return NAT_CONE;
  return portsDiffer ? NAT_SYMMETRIC : NAT_UNKNOWN;
}

function pushUnique(a: usize): void {
  if (listCount >= CANDIDATES_MAX || addrIsZero(a)) return;
  for (let i: u32 = 0; i < listCount; i++) if (addrEq(listBytes + i * ADDR_LEN, a)) return;
  memory.copy(listBytes + listCount * ADDR_LEN, a, ADDR_LEN);
  listCount++;
}

/** Rebuilds the candidate list and NAT guess; gossips them when either changed. */
function refresh(): void {
  const old = new StaticArray<u8>(CANDIDATES_MAX * ADDR_LEN);
  const oldCount = listCount;
  memory.copy(changetype<usize>(old), listBytes, listCount * ADDR_LEN);
  const oldGuess = guess;
  listCount = 0;
  pushUnique(self.addr);
  for (let i = 0; i < local.length; i++) pushUnique(addrPtr(unchecked(local[i])));
  for (let i = observations.length - 1; i >= 0; i--) pushUnique(addrPtr(unchecked(observations[i]).addr));
  guess = computeGuess();
  if (oldGuess == guess && oldCount == listCount &&
    memory.compare(changetype<usize>(old), listBytes, listCount * ADDR_LEN) == 0) return;
  version++;
  natAnnounce();
  pathsOwnCandidatesChanged();
}

/** Queues our CANDIDATES for gossip (replacing any older one). */
export function natAnnounce(): void {
  if (self.id == 0) return;
  const buf = new StaticArray<u8>(256);
  const n = writeCandidates(changetype<usize>(buf), 256, self.id, version, guess, listBytes, listCount);
  broadcastEnqueue(changetype<usize>(buf), n, BROADCAST_SPACE_CANDIDATES, self.id);
}

/** Writes our CANDIDATES at `p` (`cap` bytes); returns the length, 0 when it does not fit. */
export function natWriteOwnCandidates(p: usize, cap: u32): u32 {
  return writeCandidates(p, cap, self.id, version, guess, listBytes, listCount);
}

export function natGuess(): u8 { return guess; }

// OUT_SELF body: u8 NAT guess, u8 count, u16 0, count address slots (observed addresses, newest first).
export const SELF_NAT: u32 = 0;
export const SELF_COUNT: u32 = 1;
export const SELF_ADDRS: u32 = 4;

/** Appends the OUT_SELF record. */
export function selfDump(): void {
  const distinct = new Array<usize>();
  for (let i = observations.length - 1; i >= 0; i--) {
    const o = unchecked(observations[i]);
    if (self.now - o.at >= OBSERVATION_TTL_MS) continue;
    let dup = false;
    for (let k = 0; k < distinct.length; k++) if (addrEq(unchecked(distinct[k]), addrPtr(o.addr))) dup = true;
    if (!dup) distinct.push(addrPtr(o.addr));
  }
  const n = <u32>distinct.length;
  const body = outputReserve(OUT_SELF, SELF_ADDRS + n * ADDR_SLOT);
  if (body == 0) return;
  memory.fill(body, 0, SELF_ADDRS + n * ADDR_SLOT);
  store<u8>(body + SELF_NAT, guess);
  store<u8>(body + SELF_COUNT, <u8>n);
  for (let i: u32 = 0; i < n; i++) memory.copy(body + SELF_ADDRS + i * ADDR_SLOT, distinct[i], ADDR_LEN);
}
