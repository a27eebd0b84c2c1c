// The common member's side (docs/nat.md "Rendezvous and relays"): introducing
// two members that cannot reach each other (RENDEZVOUS, at most once per pair
// per 30 s, as ZeroTier), and granting relaying between two alive members this
// node reaches directly (OUT_RELAY_ALLOW to the host, RELAY_OK to both ends).
// Grants are bounded in number and lapse unless the ends keep asking.
import { ADDR_LEN, ADDR_SLOT, OUT_RELAY_ALLOW } from "../abi";
import { config } from "../config";
import { self } from "../node";
import { outputReserve } from "../queue";
import { Stat, count } from "../stats";
import { wakeAt } from "../wake";
import { memberById } from "../membership/state";
import { CANDIDATES_MAX, writeRelayOk, writeRendezvous } from "../wire/nat";
import { Addr, addrCopy, addrEq, addrPtr } from "./addr";
import { Path, Stage } from "./path";
import { pathById } from "./paths";
import { natMessage, natMessageRoom, natSend } from "./send";

const RENDEZVOUS_PAIR_GAP_MS: f64 = 30_000;
const GRANT_TTL_MS: f64 = 90_000;
const MAX_GRANTS: i32 = 256;
const MAX_INTRODUCED: i32 = 4096;

function pairKey(a: u64, b: u64): u64 {
  const lo = a < b ? a : b, hi = a < b ? b : a;
  return lo ^ (hi * 0x9e3779b97f4a7c15);
}

/** A member both we and it reach directly: alive, on a direct path. */
function reached(id: u64): Path | null {
  const m = memberById(id);
  const p = pathById(id);
  return m != null && m.live && p != null && p.stage == Stage.Direct ? p : null;
}

function known(id: u64): bool {
  const m = memberById(id);
  return m != null && m.live && pathById(id) != null;
}

const introducedAt = new Map<u64, f64>();
const list: usize = heap.alloc(CANDIDATES_MAX * ADDR_LEN);

/** Up to CANDIDATES_MAX of `p`'s addresses for the other end: where we reach it first. */
function candidatesOf(p: Path): u32 {
  let n: u32 = 0;
  memory.copy(list, addrPtr(p.endpoint), ADDR_LEN);
  n++;
  for (let i = 0; i < p.candidates.length && n < CANDIDATES_MAX; i++) {
    const a = addrPtr(unchecked(p.candidates[i]).addr);
    let dup = false;
    for (let k: u32 = 0; k < n; k++) if (addrEq(list + k * ADDR_LEN, a)) dup = true;
    if (dup) continue;
    memory.copy(list + n * ADDR_LEN, a, ADDR_LEN);
    n++;
  }
  return n;
}

/** Member `from` asks us to introduce it to `peer`. */
export function meetRendezvous(from: u64, peer: u64): void {
  const a = reached(from), b = reached(peer);
  if (a == null || b == null || from == peer) { count(Stat.PathRendezvousRefused); return; }
  const key = pairKey(from, peer);
  if (introducedAt.has(key) && self.now - introducedAt.get(key) < RENDEZVOUS_PAIR_GAP_MS) {
    count(Stat.PathRendezvousThrottled);
    return;
  }
  if (introducedAt.size >= MAX_INTRODUCED) introducedAt.clear();
  introducedAt.set(key, self.now);
  natSend(addrPtr(a.key), writeRendezvous(natMessage, natMessageRoom, peer, 0, list, candidatesOf(b)));
  natSend(addrPtr(b.key), writeRendezvous(natMessage, natMessageRoom, from, 0, list, candidatesOf(a)));
  count(Stat.PathRendezvousSent);
}

class Grant {
  constructor(readonly a: u64, readonly b: u64, public aKey: Addr, public bKey: Addr, public until: f64) {}
}
const grants = new Array<Grant>();

// OUT_RELAY_ALLOW body: address slot a, address slot b, u32 bytes per second (0 revokes).
export const ALLOW_A: u32 = 0;
export const ALLOW_B: u32 = ADDR_SLOT;
export const ALLOW_BUDGET: u32 = 2 * ADDR_SLOT;
export const ALLOW_LEN: u32 = ALLOW_BUDGET + 4;

function emitAllow(a: usize, b: usize, budget: u32): void {
  const body = outputReserve(OUT_RELAY_ALLOW, ALLOW_LEN);
  if (body == 0) return;
  memory.fill(body, 0, ALLOW_LEN);
  memory.copy(body + ALLOW_A, a, ADDR_LEN);
  memory.copy(body + ALLOW_B, b, ADDR_LEN);
  store<u32>(body + ALLOW_BUDGET, budget);
}

function tell(to: Path, peer: u64, granted: bool): void {
  natSend(addrPtr(to.key), writeRelayOk(natMessage, natMessageRoom, peer, granted));
}

/** Member `from` asks us to relay between it and `peer`. */
export function meetRelayRequest(from: u64, peer: u64): void {
  const a = reached(from), b = reached(peer);
  const asker = pathById(from);
  if (a == null || b == null || from == peer) {
    count(Stat.RelayRefused);
    if (asker != null) tell(asker, peer, false);
    return;
  }
  for (let i = 0; i < grants.length; i++) {
    const g = unchecked(grants[i]);
    if (!(g.a == from && g.b == peer || g.a == peer && g.b == from)) continue;
    if (addrEq(addrPtr(g.aKey), addrPtr(pathById(g.a)!.key)) && addrEq(addrPtr(g.bKey), addrPtr(pathById(g.b)!.key))) {
      g.until = self.now + GRANT_TTL_MS;
      tell(a, peer, true);
      tell(b, from, true);
      return;
    }
    revoke(g); // an end moved: grant again under its new address
    grants.splice(i, 1);
    break;
  }
  if (grants.length >= MAX_GRANTS) {
    count(Stat.RelayRefused);
    tell(a, peer, false);
    return;
  }
  grants.push(new Grant(from, peer, addrCopy(addrPtr(a.key)), addrCopy(addrPtr(b.key)), self.now + GRANT_TTL_MS));
  wakeAt(self.now + GRANT_TTL_MS);
  emitAllow(addrPtr(a.key), addrPtr(b.key), config.relayBytesPerSec);
  count(Stat.RelayGranted);
  tell(a, peer, true);
  tell(b, from, true);
}

function revoke(g: Grant): void {
  emitAllow(addrPtr(g.aKey), addrPtr(g.bKey), 0);
  count(Stat.RelayRevoked);
  const a = pathById(g.a), b = pathById(g.b);
  if (a != null) tell(a, g.b, false);
  if (b != null) tell(b, g.a, false);
}

/** Revokes grants that lapsed or whose ends we no longer reach directly; returns the next deadline. */
export function meetTick(now: f64): f64 {
  let next = Infinity;
  let w = 0;
  for (let i = 0, n = grants.length; i < n; i++) {
    const g = unchecked(grants[i]);
    // A path that is only searching again (a lost heartbeat) does not end a grant; a gone member does.
    if (now >= g.until || !known(g.a) || !known(g.b)) { revoke(g); continue; }
    const a = pathById(g.a)!, b = pathById(g.b)!;
    if (!addrEq(addrPtr(g.aKey), addrPtr(a.key)) || !addrEq(addrPtr(g.bKey), addrPtr(b.key))) {
      // An end moved to a new member address: the host's allowance follows it.
      emitAllow(addrPtr(g.aKey), addrPtr(g.bKey), 0);
      g.aKey = addrCopy(addrPtr(a.key));
      g.bKey = addrCopy(addrPtr(b.key));
      emitAllow(addrPtr(g.aKey), addrPtr(g.bKey), config.relayBytesPerSec);
    }
    if (g.until < next) next = g.until;
    unchecked(grants[w++] = g);
  }
  grants.length = w;
  return next;
}
