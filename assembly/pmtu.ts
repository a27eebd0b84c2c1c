// Path MTU per peer (docs/pmtu.md): one PathMtu per alive peer, kept in step with assembly/peers.ts,
// which calls pmtuTrack / pmtuRestart / pmtuForget as peers come, change address and go. Sends the
// probes assembly/pmtu-path.ts asks for, answers the peers' probes, takes the host's too-big hints.
import { ADDR_LEN, OUT_DATAGRAM } from "./abi";
import { config } from "./config";
import { self } from "./node";
import { PathMtu, pathAck, pathDue, pathSent, pathStart, pathTooBig, pathUsed } from "./pmtu-path";
import { outputToAddr } from "./queue";
import { Stat, count } from "./stats";
import { wakeAt } from "./wake";
import { DG_MESSAGE, DG_VERSION, WIRE_VERSION } from "./wire/divs";
import { WireCheck } from "./wire/check";
import {
  PMTU_ACK_LEN, pmtuAckCheck, pmtuAckEmit, pmtuAckSize, pmtuProbeCheck, pmtuProbeEmit, pmtuSeq,
} from "./wire/pmtu";

/** A datagram that fits a 1280-byte IPv6 path: 1280 - IPv6 40 - UDP 8 - sealed DATA envelope 30. */
export const BASE_DATAGRAM: u32 = 1202;

/** The size every path is taken to carry before discovery, and the floor it never goes under. */
export function pmtuBase(): u32 {
  return min(BASE_DATAGRAM, config.maxDatagram);
}

// A probe's sequence number: the path's id above, the attempt's number in the low 8 bits. An ACK
// finds its path by it, whatever address it comes from (a NAT, another interface of the peer).
const SEQ_ATTEMPT_BITS: u32 = 8;
const PATH_ID_MASK: u32 = 0xffffff;

const paths = new Array<PathMtu>();
/** Paths by the address block assembly/peers.ts keeps for the peer: a hash lookup per frame. */
const byAddr = new Map<usize, PathMtu>();
const byId = new Map<u32, PathMtu>();
let lastId: u32 = 0;
/** The path pmtuMaxDatagram found last: frames to one peer come in bursts. */
let cached: PathMtu | null = null;
/** No path has anything to do before this. */
let dueAt: f64 = Infinity;

/** `p`'s deadline moved (input, not the tick): the tick runs by then. */
function due(p: PathMtu): void {
  if (p.deadline < dueAt) dueAt = p.deadline;
  wakeAt(p.deadline);
}

/** Starts discovery for a new peer whose address peers.ts keeps at `addr`. */
export function pmtuTrack(addr: usize): void {
  if (byAddr.has(addr)) return;
  do lastId = (lastId + 1) & PATH_ID_MASK; while (lastId == 0 || byId.has(lastId));
  const p = new PathMtu(addr, lastId);
  paths.push(p);
  byAddr.set(addr, p);
  byId.set(p.id, p);
  pathStart(p, pmtuBase(), config.maxDatagram, self.now);
  due(p);
}

/** The peer at `addr` moved to another underlay address: what was learnt is about another path. */
export function pmtuRestart(addr: usize): void {
  if (!byAddr.has(addr)) return;
  const p = byAddr.get(addr);
  pathStart(p, pmtuBase(), config.maxDatagram, self.now);
  due(p);
}

/** The peer at `addr` is gone (its address block is about to be freed). */
export function pmtuForget(addr: usize): void {
  if (!byAddr.has(addr)) return;
  const p = byAddr.get(addr);
  byAddr.delete(addr);
  byId.delete(p.id);
  if (cached === p) cached = null;
  const i = paths.indexOf(p);
  const last = paths.length - 1;
  unchecked(paths[i] = paths[last]);
  paths.pop();
}

/**
 * The largest plaintext datagram known to reach the peer whose address peers.ts keeps at `peerAddr`
 * (the base while unknown, never above config.maxDatagram). Called per frame: asking counts as
 * sending, so a path in use is re-confirmed every CONFIRM_ACTIVE_MS.
 */
export function pmtuMaxDatagram(peerAddr: usize): u32 {
  let p = cached;
  if (p === null || p.addr != peerAddr) {
    if (!byAddr.has(peerAddr)) return pmtuBase();
    p = byAddr.get(peerAddr);
    cached = p;
  }
  if (p.usedAt <= p.confirmedAt) {
    pathUsed(p, pmtuBase(), config.maxDatagram, self.now);
    due(p);
  } else {
    p.usedAt = self.now;
  }
  return min(p.maxDatagram, config.maxDatagram);
}

/** pmtuMaxDatagram without counting as use (for the members dump); 0 for an address no peer has. */
export function pmtuPeek(peerAddr: usize): u32 {
  if (peerAddr == 0 || !byAddr.has(peerAddr)) return 0;
  return min(byAddr.get(peerAddr).maxDatagram, config.maxDatagram);
}

function pathAt(addr: usize): PathMtu | null {
  for (let i = 0, n = paths.length; i < n; i++) {
    const p = unchecked(paths[i]);
    if (memory.compare(p.addr, addr, ADDR_LEN) == 0) return p;
  }
  return null;
}

/** Sends due probes; returns when to be called again (Infinity: never). Cheap while nothing is due. */
export function pmtuTick(now: f64): f64 {
  if (now < dueAt) return dueAt;
  const base = pmtuBase();
  const ceiling = config.maxDatagram;
  const timeout = config.probeTimeoutMs;
  let next: f64 = Infinity;
  for (let i = 0, n = paths.length; i < n; i++) {
    const p = unchecked(paths[i]);
    const size = pathDue(p, base, ceiling, now, timeout);
    if (size != 0) sendProbe(p, size);
    next = Math.min(next, p.deadline);
  }
  dueAt = next;
  return next;
}

function sendProbe(p: PathMtu, size: u32): void {
  const seq = (p.id << SEQ_ATTEMPT_BITS) | (pathSent(p) & ((1 << SEQ_ATTEMPT_BITS) - 1));
  const dg = outputToAddr(OUT_DATAGRAM, p.addr, size);
  if (dg == 0) return; // output full (counted): it times out like a lost one
  store<u8>(dg + DG_VERSION, WIRE_VERSION);
  pmtuProbeEmit(dg + DG_MESSAGE, size - DG_MESSAGE, seq);
  count(Stat.PmtuProbesSent);
  count(Stat.DatagramsOut);
}

/**
 * A PMTU_PROBE from `src`: `msg` is its lone message, `dgLen` the datagram's length. Any
 * authenticated sender is answered (the transport let it in; a new member may probe before we
 * have heard of it), to the address it came from, with an ACK no larger than the probe.
 */
export function pmtuProbeIn(src: usize, msg: usize, msgLen: u32, dgLen: u32): void {
  if (pmtuProbeCheck(msgLen, dgLen) != WireCheck.Ok) { count(Stat.PmtuMalformed); return; }
  const dg = outputToAddr(OUT_DATAGRAM, src, DG_MESSAGE + PMTU_ACK_LEN);
  if (dg == 0) return;
  store<u8>(dg + DG_VERSION, WIRE_VERSION);
  pmtuAckEmit(dg + DG_MESSAGE, PMTU_ACK_LEN, pmtuSeq(msg), dgLen);
  count(Stat.PmtuProbesAnswered);
  count(Stat.DatagramsOut);
}

/** A PMTU_ACK (alone or inside a COMPOUND), from whichever address. */
export function pmtuAckIn(msg: usize, msgLen: u32): void {
  if (pmtuAckCheck(msgLen) != WireCheck.Ok) { count(Stat.PmtuMalformed); return; }
  const seq = pmtuSeq(msg);
  const id = seq >>> SEQ_ATTEMPT_BITS;
  if (!byId.has(id)) { count(Stat.PmtuAcksUnexpected); return; }
  const p = byId.get(id);
  if (!pathAck(p, seq, pmtuAckSize(msg), self.now)) { count(Stat.PmtuAcksUnexpected); return; }
  count(Stat.PmtuProbesAcked);
  due(p);
}

/** IN_SEND_TOO_BIG: the host could not send `len` bytes to `addr` (EMSGSIZE). */
export function pmtuTooBig(addr: usize, len: u32): void {
  count(Stat.PmtuTooBigHints);
  const p = pathAt(addr);
  if (p == null) { count(Stat.PmtuTooBigUnknown); return; }
  if (pathTooBig(p, len, pmtuBase(), self.now)) due(p);
}
