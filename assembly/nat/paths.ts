// Paths to peers (docs/nat.md "Paths"): per alive peer, a small state machine
// that finds an endpoint that answers (PATH_PING on every candidate), asks a
// common member for a rendezvous when none does, asks for a relay when
// punching fails, retries direct while relayed, and falls back to the relay
// when a direct path goes silent. The host is told each choice (OUT_ROUTE);
// everything for the peer keeps naming its member address (the key).
import { ADDR_LEN, ADDR_SLOT, OUT_PATH, OUT_ROUTE } from "../abi";
import { config } from "../config";
import { self } from "../node";
import { onPeerGone, onPeerUp } from "../peers";
import { outputReserve } from "../queue";
import { Stat, count } from "../stats";
import { wakeAt } from "../wake";
import { trafficOnAwaiting } from "../traffic";
import { memberById } from "../membership/state";
import { getU32 } from "../wire/bytes";
import {
  CANDIDATES_ADDRS, CANDIDATES_COUNT, CANDIDATES_NAT, CANDIDATES_VERSION, NAT_NONE,
  RENDEZVOUS_F_ASK, writeRelayRequest, writeRendezvous,
} from "../wire/nat";
import { addrCopy, addrEq, addrHash, addrPtr } from "./addr";
import { aliasForget, aliasSet } from "./aliases";
import { Candidate, KIND_DIRECT, KIND_RELAY, Path, Stage } from "./path";
import { probeAddress, sendPathPing } from "./pings";
import { natRefreshFrom } from "./refresh";
import { natMessage, natMessageRoom, natSend } from "./send";
import { forEachStranger } from "./strangers";

// Timings (docs/nat.md says where each comes from).
const SEARCH_PING_MS: f64 = 1000; // ping every candidate this often while no path is proven
const RENDEZVOUS_AFTER_MS: f64 = 2000; // no answer for this long: ask a common member (or use a relay we hold)
const RENDEZVOUS_GAP_MS: f64 = 10_000; // our own asks per peer (the common member allows one per 30 s)
const RELAY_AFTER_MS: f64 = 3000; // punching after the rendezvous failed for this long: ask a relay
const RELAY_RETRY_MS: f64 = 5000;
const RELAY_REFRESH_MS: f64 = 30_000; // a grant lapses after 90 s unless asked again
const GRANT_KEPT_MS: f64 = 80_000; // a fallback grant not renewed this long has lapsed at the relay (90 s there)
const REPROBE_MS: f64 = 60_000; // while relayed, a full direct re-probe (Tailscale)
const REPROBE_SOON_MS: f64 = 5000; // a candidate list changed: re-probe now, but not more often than this
const HEARTBEAT_MS: f64 = 3000; // a path with unanswered traffic gets a PATH_PING (Tailscale heartbeat)
const HEARTBEAT_RETRY_MS: f64 = 1500; // then again, so one lost ping or pong does not end the path
const TRUST_MS: f64 = 6500; // traffic unanswered this long: the path is gone (Tailscale trustUDPAddrDuration)
const PING_BACK_MS: f64 = 500;
const HEARD_DIRECT_MS: f64 = 2000; // a relayed peer heard directly: probe that address at most this often
const SWITCH_AFTER_MS: f64 = 1000; // an endpoint unanswered this long loses to one that just answered

const byId = new Map<u64, Path>();
const byKey = new Map<u64, Path>();
export const paths = new Array<Path>();
let cached: Path | null = null;
/** No path has anything due before this (the tick walks the paths only then). */
let dueAt: f64 = 0;

/** Something changed that may be due at `at` (specs that set a path's fields call it too). */
export function wake(at: f64): void {
  if (at < dueAt) dueAt = at;
  wakeAt(at);
}

export function pathById(id: u64): Path | null {
  return byId.has(id) ? byId.get(id) : null;
}

/**
 * False for a live peer no path to is proven yet that left what we sent it unanswered (behind a NAT,
 * filtered): membership sends gossip and indirect probes only where they can arrive. A peer not tried
 * yet gets the benefit of the doubt, as memberlist gives every member.
 */
export function pathsReachable(id: u64): bool {
  const p = pathById(id);
  return p == null || p.kind != 0 || p.unanswered == 0;
}

/** The path whose key (member address) is `addr`, or null. */
export function pathByKey(addr: usize): Path | null {
  const c = cached;
  if (c != null && addrEq(addrPtr(c.key), addr)) return c;
  const h = addrHash(addr);
  if (!byKey.has(h)) return null;
  const p = byKey.get(h);
  if (!addrEq(addrPtr(p.key), addr)) return null;
  cached = p;
  return p;
}

// --- the host's route ------------------------------------------------------

// OUT_ROUTE body: address slot peer key, address slot send-to, u8 kind (1 direct, 2 relay).
export const ROUTE_PEER: u32 = 0;
export const ROUTE_TO: u32 = ADDR_SLOT;
export const ROUTE_KIND: u32 = 2 * ADDR_SLOT;
export const ROUTE_LEN: u32 = ROUTE_KIND + 1;

function emitRoute(key: usize, to: usize, kind: u8): void {
  const body = outputReserve(OUT_ROUTE, ROUTE_LEN);
  if (body == 0) return;
  memory.fill(body, 0, ROUTE_LEN);
  memory.copy(body + ROUTE_PEER, key, ADDR_LEN);
  memory.copy(body + ROUTE_TO, to, ADDR_LEN);
  store<u8>(body + ROUTE_KIND, kind);
  count(Stat.PathRoutes);
}

/** Where to send the relay envelope for relay `id`: our endpoint for it, or its address. */
function relayAddr(id: u64): usize {
  const r = pathById(id);
  if (r == null) return 0;
  return r.stage == Stage.Direct ? addrPtr(r.endpoint) : addrPtr(r.key);
}

function setRoute(p: Path, kind: u8, to: usize): void {
  if (to == 0 || p.routedKind == kind && addrEq(addrPtr(p.routedTo), to)) return;
  p.routedKind = kind;
  p.routedTo = addrCopy(to);
  emitRoute(addrPtr(p.key), to, kind);
}

function goDirect(p: Path, c: Candidate): void {
  wake(self.now);
  if (p.stage != Stage.Direct) count(Stat.PathDirect);
  p.stage = Stage.Direct;
  p.stageAt = self.now;
  p.endpoint = addrCopy(addrPtr(c.addr));
  p.rtt = c.rtt;
  p.unanswered = 0;
  p.reprobeAt = Infinity;
  setRoute(p, KIND_DIRECT, addrPtr(c.addr));
}

function goRelayed(p: Path): void {
  wake(self.now);
  const to = relayAddr(p.relayId);
  if (to == 0) return;
  if (p.stage != Stage.Relayed) {
    count(Stat.PathRelayed);
    p.stage = Stage.Relayed;
    p.stageAt = self.now;
    p.unanswered = 0;
    p.reprobeAt = self.now + REPROBE_MS;
  }
  setRoute(p, KIND_RELAY, to);
}

function goSearch(p: Path): void {
  wake(self.now);
  p.stage = Stage.Search;
  p.stageAt = self.now;
  p.nextPingAt = self.now;
  leaveLostRelay(p);
}

/**
 * The host's route never points at a relay we no longer hold: that relay refuses the pair's envelopes
 * (its grant is gone), so everything sent that way was lost until a new path was proven (after a
 * healed 5/3 partition, up to 10.4 s: tests/sim/heal.test.mjs). Back to the member address instead:
 * it works as soon as the network does, and behind a NAT it loses no more than the refusing relay.
 */
function leaveLostRelay(p: Path): void {
  if (p.routedKind != KIND_RELAY) return;
  if (relayUsable(p.relayId) && addrEq(addrPtr(p.routedTo), relayAddr(p.relayId))) return;
  setRoute(p, KIND_DIRECT, addrPtr(p.key));
}

/** A relay we may send through: an alive member with a path (a lost heartbeat to it does not end relaying). */
function relayUsable(id: u64): bool {
  if (id == 0) return false;
  const m = memberById(id);
  return m != null && m.live && pathById(id) != null;
}

// --- membership tells us who the peers are -----------------------------------

/** An alive peer at member address `addr` (new, or its address changed). */
export function pathsPeerUp(id: u64, addr: usize): void {
  aliasSet(addr, id);
  wake(self.now);
  if (!byId.has(id)) {
    const p = new Path(id, addr, self.now);
    byId.set(id, p);
    byKey.set(addrHash(addr), p);
    paths.push(p);
    if (early.has(id)) {
      const m = early.get(id);
      early.delete(id);
      pathsCandidates(p, changetype<usize>(m), <u32>m.length);
    }
    if (earlyRelay.has(id)) {
      const relay = earlyRelay.get(id);
      earlyRelay.delete(id);
      if (relayUsable(relay)) pathsRelayAnswer(p, relay, true);
    }
    return;
  }
  const p = byId.get(id);
  if (addrEq(addrPtr(p.key), addr)) return;
  // A new member address: the host has no route for it; drop the old key's route and search again
  // (a relay we had stays the fallback).
  if (!p.routedToKey) emitRoute(addrPtr(p.key), addrPtr(p.key), KIND_DIRECT);
  byKey.delete(addrHash(addrPtr(p.key)));
  cached = null;
  p.key = addrCopy(addr);
  p.routedKind = KIND_DIRECT;
  p.routedTo = addrCopy(addr);
  byKey.set(addrHash(addr), p);
  p.addCandidate(addr);
  goSearch(p);
  p.rendezvousAt = -Infinity;
}

/** A peer died or left: its path, aliases and any path relayed through it go. */
export function pathsPeerGone(id: u64): void {
  if (byId.has(id)) {
    const p = byId.get(id);
    if (!p.routedToKey) emitRoute(addrPtr(p.key), addrPtr(p.key), KIND_DIRECT);
    byId.delete(id);
    byKey.delete(addrHash(addrPtr(p.key)));
    cached = null;
    paths.splice(paths.indexOf(p), 1);
  }
  aliasForget(id);
  for (let i = 0; i < paths.length; i++) {
    const q = unchecked(paths[i]);
    if (q.relayId != id) continue;
    q.relayId = 0;
    if (q.stage == Stage.Relayed) goSearch(q);
    else leaveLostRelay(q);
  }
}

/** The peer that lists `addr` among its candidates, or 0 (a linear search: only for relayed strangers). */
export function pathsOwnerOfCandidate(addr: usize): u64 {
  for (let i = 0; i < paths.length; i++) {
    const p = unchecked(paths[i]);
    if (p.findCandidate(addr) != null) return p.id;
  }
  return 0;
}

// --- traffic ------------------------------------------------------------------

/** A datagram to member address `addr` left, not as an answer (assembly/traffic.ts): count it until the peer answers. */
function pathsNoteTx(addr: usize): void {
  const p = pathByKey(addr);
  if (p == null) return;
  p.lastTx = self.now;
  if (p.unanswered == 0) {
    p.unansweredSince = self.now;
    wake(self.now + HEARTBEAT_MS);
  }
  p.unanswered++;
}

/** Anything authenticated arrived from peer `id`. */
export function pathsNoteRx(id: u64): void {
  const p = pathById(id);
  if (p == null) return;
  p.lastRx = self.now;
  p.unanswered = 0;
}

/** A PATH_PONG for our ping to `addr` came back from there after `rtt` ms. */
export function pathsConfirmed(p: Path, addr: usize, rtt: f64): void {
  const c = p.addCandidate(addr);
  if (c == null) return;
  aliasSet(addr, p.id); // what arrives from there is the peer's
  c.pongAt = self.now;
  c.rtt = rtt;
  if (p.stage != Stage.Direct) { goDirect(p, c); return; }
  if (addrEq(addrPtr(p.endpoint), addr)) { p.rtt = rtt; return; }
  // Leave an endpoint that stopped answering; else prefer the member address, then a clearly faster one.
  const failing = p.unanswered > 0 && self.now - p.unansweredSince >= SWITCH_AFTER_MS;
  const isKey = addrEq(addr, addrPtr(p.key));
  const onKey = addrEq(addrPtr(p.endpoint), addrPtr(p.key));
  if (failing || !onKey && (isKey || rtt * 1.5 < p.rtt)) goDirect(p, c);
}

/** A PATH_PING from peer `p` arrived from `raw`: learn it, and ping back at once while we have no path (punching). */
export function pathsPingedFrom(p: Path, raw: usize): void {
  aliasSet(raw, p.id);
  const known = p.findCandidate(raw) != null;
  p.addCandidate(raw);
  if (known && p.stage == Stage.Direct) return;
  if (self.now - p.pingBackAt < PING_BACK_MS) return;
  p.pingBackAt = self.now;
  probeAddress(p.id, raw);
}

/**
 * Relayed peer `p` reached us directly from `raw` (its datagrams pass our NAT there): probe that address
 * past the route, so a path open one way is found without waiting for the next full re-probe.
 */
export function pathsHeardDirect(p: Path, raw: usize): void {
  if (p.stage != Stage.Relayed || self.now - p.pingBackAt < HEARD_DIRECT_MS) return;
  p.pingBackAt = self.now;
  probeAddress(p.id, raw);
}

// CANDIDATES of members we do not know yet (gossip can outrun the ALIVE that introduces them).
const EARLY_MAX: i32 = 1024;
const early = new Map<u64, StaticArray<u8>>();

/** Keeps the CANDIDATES message of `len` bytes at `msg`, about unknown `node`, until it becomes a peer. */
export function pathsCandidatesEarly(node: u64, msg: usize, len: u32): void {
  if (early.size >= EARLY_MAX) early.clear();
  const copy = new StaticArray<u8>(len);
  memory.copy(changetype<usize>(copy), msg, len);
  early.set(node, copy);
}

// Relay grants for members we do not know yet (the other end asked before its ALIVE reached us).
const earlyRelay = new Map<u64, u64>();

/** Keeps relay `relay`'s grant (or drops it when revoked) for unknown `node` until it becomes a peer. */
export function pathsRelayEarly(node: u64, relay: u64, granted: bool): void {
  if (!granted) { earlyRelay.delete(node); return; }
  if (earlyRelay.size >= EARLY_MAX) earlyRelay.clear();
  earlyRelay.set(node, relay);
}

/** The peer's CANDIDATES message of `len` bytes at `msg` (its version, NAT guess and addresses). */
export function pathsCandidates(p: Path, msg: usize, len: u32): void {
  const version = getU32(msg + CANDIDATES_VERSION);
  const nat = load<u8>(msg + CANDIDATES_NAT);
  const addrs = msg + CANDIDATES_ADDRS;
  const n = <u32>load<u8>(msg + CANDIDATES_COUNT);
  if (version <= p.candidatesVersion && p.candidatesVersion != 0) return;
  const copy = new StaticArray<u8>(len);
  memory.copy(changetype<usize>(copy), msg, len);
  p.candidatesMsg = copy;
  p.candidatesVersion = version;
  p.nat = nat;
  for (let i: u32 = 0; i < n; i++) p.addCandidate(addrs + i * ADDR_LEN);
  if (p.stage == Stage.Relayed) reprobeSoon(p);
  else if (p.stage != Stage.Direct) { p.nextPingAt = self.now; wake(self.now); }
}

/**
 * A candidate list changed (a NAT moved or changed its kind, on either side): a relayed peer is
 * re-probed now rather than at the next full re-probe, at most every REPROBE_SOON_MS.
 */
function reprobeSoon(p: Path): void {
  const at = Math.max(self.now, p.reprobeAt - REPROBE_MS + REPROBE_SOON_MS);
  if (at >= p.reprobeAt) return;
  p.reprobeAt = at;
  wake(at);
}

/** Our own candidate list or NAT guess changed: every relayed peer may now be reachable directly. */
export function pathsOwnCandidatesChanged(): void {
  for (let i = 0; i < paths.length; i++) {
    const p = unchecked(paths[i]);
    if (p.stage == Stage.Relayed) reprobeSoon(p);
  }
}

/** A common member passed us `n` candidates of `p` (RENDEZVOUS): ping them all now, as the peer does ours. */
export function pathsRendezvous(p: Path, addrs: usize, n: u32): void {
  count(Stat.PathRendezvousReceived);
  for (let i: u32 = 0; i < n; i++) p.addCandidate(addrs + i * ADDR_LEN);
  if (p.stage == Stage.Direct) return;
  pingCandidates(p);
}

/** Relay `relay` granted (or refused or revoked) relaying between us and `p`. */
export function pathsRelayAnswer(p: Path, relay: u64, granted: bool): void {
  if (!granted) {
    if (p.relayId == relay) p.relayId = 0;
    p.refusedRelay = relay;
    if (p.stage == Stage.Relayed && p.relayId == 0) goSearch(p);
    else leaveLostRelay(p);
    return;
  }
  p.relayId = relay;
  p.relayGrantedAt = self.now;
  wake(self.now);
  if (p.stage != Stage.Direct) goRelayed(p);
}

// --- choosing helpers ----------------------------------------------------------

/** The best helper other than `not`: a peer on a direct path, a member with no NAT first, lowest RTT. */
function bestHelper(not: u64, skip: u64): Path | null {
  let best: Path | null = null;
  for (let i = 0; i < paths.length; i++) {
    const q = unchecked(paths[i]);
    if (q.id == not || q.id == skip || q.stage != Stage.Direct) continue;
    const m = memberById(q.id);
    if (m == null || !m.live) continue;
    if (best == null) { best = q; continue; }
    const qPublic = q.nat == NAT_NONE, bPublic = best.nat == NAT_NONE;
    if (qPublic != bPublic ? qPublic : q.rtt >= 0 && (best.rtt < 0 || q.rtt < best.rtt)) best = q;
  }
  return best;
}

/**
 * Pings every candidate at its own address, whatever the route (the host sends these past it): a
 * relayed peer's member address is probed while frames keep going through the relay.
 */
function pingCandidates(p: Path): void {
  for (let i = 0; i < p.candidates.length; i++) probeAddress(p.id, addrPtr(unchecked(p.candidates[i]).addr));
}

function askRendezvous(p: Path): void {
  if (self.now - p.rendezvousAt < RENDEZVOUS_GAP_MS) return;
  const h = bestHelper(p.id, 0);
  if (h == null) return;
  p.rendezvousAt = self.now;
  natSend(addrPtr(h.key), writeRendezvous(natMessage, natMessageRoom, p.id, RENDEZVOUS_F_ASK, 0, 0));
  count(Stat.PathRendezvousAsked);
}

function askRelay(p: Path, relay: u64): void {
  const r = pathById(relay);
  if (r == null) return;
  p.relayAskedAt = self.now;
  natSend(addrPtr(r.key), writeRelayRequest(natMessage, natMessageRoom, p.id));
  count(Stat.PathRelayAsked);
}

// --- the clock -------------------------------------------------------------------

/** A PATH_PING along the route in use (heartbeat, keepalive, `divs ping`). */
export function pathPing(p: Path, userSeq: i64): void {
  sendPathPing(p.id, addrPtr(p.key), addrPtr(p.routedTo), userSeq);
}

function ping(p: Path): void {
  pathPing(p, -1);
}

let strangerTarget: u64 = 0;

/** A path with traffic unanswered: heartbeat at 3 s, gone at 6.5 s. Returns true when it is gone. */
function silent(p: Path, now: f64): bool {
  if (p.unanswered == 0) return false;
  const quiet = now - p.unansweredSince;
  if (quiet >= TRUST_MS) return true;
  if (quiet >= HEARTBEAT_MS && now - p.heartbeatAt >= HEARTBEAT_RETRY_MS) {
    p.heartbeatAt = now;
    ping(p);
    // Its NAT may have given it a new address: ask the sources we could not name whether they are it.
    strangerTarget = p.id;
    forEachStranger((addr: usize): void => { probeAddress(strangerTarget, addr); });
  }
  return false;
}

/** When `silent` has something to do next for `p`. */
function silentNext(p: Path): f64 {
  if (p.unanswered == 0) return Infinity;
  const beat = Math.max(p.unansweredSince + HEARTBEAT_MS, p.heartbeatAt + HEARTBEAT_RETRY_MS);
  return Math.min(p.unansweredSince + TRUST_MS, beat);
}

function tickDirect(p: Path, now: f64): f64 {
  if (p.relayId != 0 && now - p.relayGrantedAt >= GRANT_KEPT_MS) p.relayId = 0;
  if (silent(p, now)) {
    count(Stat.PathDirectLost);
    if (relayUsable(p.relayId)) goRelayed(p);
    else goSearch(p);
    return now;
  }
  // Going quiet (a heartbeat is out): ask for a relay grant now, so the fallback is ready when the path
  // is given up at TRUST_MS rather than a search, a rendezvous and a request later.
  if (p.unanswered > 0 && now - p.unansweredSince >= HEARTBEAT_MS && !relayUsable(p.relayId) && now - p.relayAskedAt >= RELAY_RETRY_MS) {
    const r = bestHelper(p.id, p.refusedRelay);
    if (r != null) askRelay(p, r.id);
    p.refusedRelay = 0;
  }
  let next = silentNext(p);
  // Keepalive: a NATed peer's mapping must not expire on a quiet path; busy paths need nothing.
  if (config.keepaliveMs > 0 && p.nat != NAT_NONE) {
    const due = Math.max(p.lastTx, p.lastRx) + config.keepaliveMs;
    if (now >= due) {
      count(Stat.PathKeepalives);
      ping(p);
      return Math.min(next, now + config.keepaliveMs);
    }
    next = Math.min(next, due);
  }
  return next;
}

function tickRelayed(p: Path, now: f64): f64 {
  const usable = relayUsable(p.relayId);
  if (!usable || silent(p, now)) {
    count(usable ? Stat.PathRelayLost : Stat.PathRelayGone);
    // The relay refuses envelopes naming an address it no longer knows the peer by (or the peer names
    // us by an old one): its state tells who moved.
    if (usable) natRefreshFrom(relayAddr(p.relayId));
    p.relayId = 0;
    goSearch(p);
    return now;
  }
  // Going quiet (a heartbeat is out): the relay may have lost our grant (it restarted, or its revocation
  // was lost) and refuses our envelopes. Asking again renews it, or the refusal (RELAY_OK 0) sends us
  // searching at once, off that relay, instead of after TRUST_MS and a search.
  const quiet = p.unanswered > 0 && now - p.unansweredSince >= HEARTBEAT_MS && now - p.relayAskedAt >= RELAY_RETRY_MS;
  if (quiet || now - p.relayAskedAt >= RELAY_REFRESH_MS) askRelay(p, p.relayId);
  if (now >= p.reprobeAt) {
    // Full re-probe: every candidate and a fresh rendezvous, so the peer pings us at the same time.
    p.reprobeAt = now + REPROBE_MS;
    p.rendezvousAt = -Infinity;
    pingCandidates(p);
    askRendezvous(p);
    count(Stat.PathReprobes);
  }
  return Math.min(Math.min(p.reprobeAt, p.relayAskedAt + RELAY_REFRESH_MS), silentNext(p));
}

function tickSearch(p: Path, now: f64): f64 {
  if (now >= p.nextPingAt) {
    pingCandidates(p);
    p.nextPingAt = now + SEARCH_PING_MS;
  }
  const since = now - p.stageAt;
  if (p.stage == Stage.Search && since >= RENDEZVOUS_AFTER_MS) {
    askRendezvous(p);
    if (relayUsable(p.relayId)) { goRelayed(p); return now; } // a grant we hold: punch from there
    p.stage = Stage.Rendezvous;
    p.stageAt = now;
  } else if (p.stage == Stage.Rendezvous && since >= RELAY_AFTER_MS) {
    p.stage = Stage.AskRelay;
    p.stageAt = now;
  }
  if (p.stage == Stage.AskRelay && now - p.relayAskedAt >= RELAY_RETRY_MS) {
    const r = bestHelper(p.id, p.refusedRelay);
    if (r != null) askRelay(p, r.id);
    else p.relayAskedAt = now;
    p.refusedRelay = 0; // one refusal skips that relay once
  }
  let next = p.nextPingAt;
  if (p.stage == Stage.Search) next = Math.min(next, p.stageAt + RENDEZVOUS_AFTER_MS);
  else if (p.stage == Stage.Rendezvous) next = Math.min(next, p.stageAt + RELAY_AFTER_MS);
  else next = Math.min(next, p.relayAskedAt + RELAY_RETRY_MS);
  return next;
}

/** Runs every path's state machine at `now`; returns the next deadline. */
export function pathsTick(now: f64): f64 {
  if (now < dueAt) return dueAt;
  let next = Infinity;
  for (let i = 0; i < paths.length; i++) {
    const p = unchecked(paths[i]);
    let at: f64;
    if (p.stage == Stage.Direct) at = tickDirect(p, now);
    else if (p.stage == Stage.Relayed) at = tickRelayed(p, now);
    else at = tickSearch(p, now);
    if (at < next) next = at;
  }
  dueAt = next;
  return next;
}

// --- dump --------------------------------------------------------------------------

// OUT_PATH body: u64 id, u8 kind (0 none, 1 direct, 2 relay), u8 stage, u8 the peer's NAT guess, u8 0, address slot endpoint,
// address slot relay (the relay member's address), f64 RTT ms (-1 unknown), u32 datagrams sent unanswered.
export const PATH_ID: u32 = 0;
export const PATH_KIND: u32 = 8;
export const PATH_STAGE: u32 = 9;
export const PATH_NAT: u32 = 10;
export const PATH_ENDPOINT: u32 = 12;
export const PATH_RELAY: u32 = PATH_ENDPOINT + ADDR_SLOT;
export const PATH_RTT: u32 = 56;
export const PATH_UNANSWERED: u32 = 64;
export const PATH_LEN: u32 = 68;

/** Appends one OUT_PATH record per peer. */
export function pathsDump(): void {
  for (let i = 0; i < paths.length; i++) {
    const p = unchecked(paths[i]);
    const body = outputReserve(OUT_PATH, PATH_LEN);
    if (body == 0) return;
    memory.fill(body, 0, PATH_LEN);
    store<u64>(body + PATH_ID, p.id);
    store<u8>(body + PATH_KIND, p.kind);
    store<u8>(body + PATH_STAGE, <u8>p.stage);
    store<u8>(body + PATH_NAT, p.nat);
    if (p.stage == Stage.Direct) memory.copy(body + PATH_ENDPOINT, addrPtr(p.endpoint), ADDR_LEN);
    if (p.relayId != 0) {
      const r = pathById(p.relayId);
      if (r != null) memory.copy(body + PATH_RELAY, addrPtr(r.key), ADDR_LEN);
    }
    store<f64>(body + PATH_RTT, p.rtt);
    store<u32>(body + PATH_UNANSWERED, p.unanswered);
  }
}

// Paths sit above membership and the output queue: they learn of peers and traffic by registering.
onPeerUp(pathsPeerUp);
onPeerGone(pathsPeerGone);
trafficOnAwaiting(pathsNoteTx);
