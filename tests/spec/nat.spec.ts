// NAT traversal in the core (docs/nat.md): the path message codec, and the
// state machines driven through the ABI (IN_DATAGRAM, IN_PING, process) and
// their ticks: probing, routes, relay grants, keepalives, a path going quiet,
// observed addresses, and bad or unauthorised input counted.
import {
  ADDR_LEN, ADDR_SLOT, DATAGRAM_FLAGS, DATAGRAM_UNROUTED, IN_DATAGRAM, IN_DATAGRAM_VIA, IN_IDENTITY, IN_PING, IN_RANDOM, OUT_DATAGRAM, OUT_PONG,
  OUT_RELAY_ALLOW, OUT_ROUTE, REC_HEADER, REC_KIND, REC_LEN, alignUp,
} from "../../assembly/abi";
import { input_ptr, process } from "../../assembly/index";
import { self } from "../../assembly/node";
import { outputBase, outputLength, outputReset } from "../../assembly/queue";
import { Stat, statValue } from "../../assembly/stats";
import { DG_MESSAGE, WIRE_VERSION } from "../../assembly/wire/divs";
import { MSG_ALIVE, MSG_PING, MSG_PUSH_PULL, writeInfo, writePingReq } from "../../assembly/membership/codec";
import { randomMembers } from "../../assembly/membership/probe";
import { Member } from "../../assembly/membership/state";
import { getU16 } from "../../assembly/wire/bytes";
import { COMPOUND_COUNT, COMPOUND_ITEMS, ITEM_LEN_SIZE, MSG_COMPOUND } from "../../assembly/wire/divs";
import { natGuess } from "../../assembly/nat/observed";
import { ROUTE_KIND, ROUTE_TO, pathById, pathsTick, wake } from "../../assembly/nat/paths";
import { KIND_DIRECT, KIND_RELAY, Stage } from "../../assembly/nat/path";
import {
  CANDIDATES_MAX, MSG_PATH_PING, MSG_PATH_PONG, MSG_RELAY_OK, MSG_RELAY_REQUEST, NAT_CONE, PATH_PING_LEN, RENDEZVOUS_F_ASK, natMessageLength,
  pathSeq, writeCandidates, writeObserved, writePathPing, writePathPong, writeRelayOk, writeRelayRequest,
  writeRendezvous,
} from "../../assembly/wire/nat";
import { signedInfo } from "./member-helpers";

const buf = heap.alloc(4096);
let inLen: u32 = 0;
let now: f64 = 1000;

function addr(last: u8, port: u16): usize {
  const a = heap.alloc(ADDR_SLOT);
  memory.fill(a, 0, ADDR_SLOT);
  store<u8>(a + 10, 0xff);
  store<u8>(a + 11, 0xff);
  store<u8>(a + 12, 198);
  store<u8>(a + 13, 19);
  store<u8>(a + 15, last);
  store<u8>(a + 16, <u8>(port >> 8));
  store<u8>(a + 17, <u8>port);
  return a;
}

const SELF = addr(1, 4800);
const P2 = addr(2, 4800);
const P3 = addr(3, 4800);
const P4 = addr(4, 4800); // never answers at its member address
const C4 = addr(44, 9000); // P4's endpoint, learnt from a rendezvous
const P5 = addr(5, 4800); // joins late: its ALIVE missed us
const C5 = addr(55, 9000);
const P6 = addr(6, 4800); // never answers: no path
const OLD3 = addr(33, 4800); // P3's address before it moved
const STRANGER = addr(99, 1);
const OBSERVED = addr(200, 5555);

function record(kind: u16, a: usize, b: usize, body: usize, len: u32): void {
  const rec = input_ptr() + inLen;
  let off: u32 = 0;
  if (a != 0) { memory.copy(rec + REC_HEADER, a, ADDR_SLOT); off += ADDR_SLOT; }
  if (b != 0) { memory.copy(rec + REC_HEADER + off, b, ADDR_SLOT); off += ADDR_SLOT; }
  memory.copy(rec + REC_HEADER + off, body, len);
  store<u16>(rec + REC_KIND, kind);
  store<u16>(rec + 2, 0);
  store<u32>(rec + REC_LEN, off + len);
  inLen += alignUp(REC_HEADER + off + len);
}

function run(advance: f64): void {
  now += advance;
  process(inLen, now);
  inLen = 0;
}

/** A datagram carrying the message written at buf + DG_MESSAGE (len bytes) from `from`. */
function datagram(from: usize, len: u32): void {
  store<u8>(buf, WIRE_VERSION);
  record(IN_DATAGRAM, from, 0, buf, DG_MESSAGE + len);
}

const msg = buf + DG_MESSAGE;

function alive(id: u64, a: usize): void {
  store<u8>(msg, MSG_ALIVE);
  const name = heap.alloc(2);
  store<u16>(name, 0x3270);
  datagram(a, 1 + signedInfo(msg + 1, 512, 1, id, a, 1, 0, name, 2));
}

/** Output records of `kind` (optionally to address `to`, of message type `type`): how many. */
function countOut(kind: u16, to: usize, type: i32, unroutedOnly: bool = false): i32 {
  let n = 0;
  let off: u32 = 0;
  while (off < outputLength()) {
    const rec = outputBase + off;
    const k = load<u16>(rec + REC_KIND);
    const len = load<u32>(rec + REC_LEN);
    const body = rec + REC_HEADER;
    off += alignUp(REC_HEADER + len);
    if (k != kind) continue;
    if (to != 0 && memory.compare(body, to, ADDR_LEN) != 0) continue;
    if (type >= 0 && load<u8>(body + ADDR_SLOT + DG_MESSAGE) != <u8>type) continue;
    if (unroutedOnly && (load<u16>(body + DATAGRAM_FLAGS) & DATAGRAM_UNROUTED) == 0) continue;
    n++;
  }
  return n;
}

/** The messages (pointers to their first byte) of the datagrams emitted to `to`, in order. */
function messagesTo(to: usize): Array<usize> {
  const out = new Array<usize>();
  let off: u32 = 0;
  while (off < outputLength()) {
    const rec = outputBase + off;
    const len = load<u32>(rec + REC_LEN);
    const body = rec + REC_HEADER;
    off += alignUp(REC_HEADER + len);
    if (load<u16>(rec + REC_KIND) == OUT_DATAGRAM && memory.compare(body, to, ADDR_LEN) == 0) out.push(body + ADDR_SLOT + DG_MESSAGE);
  }
  return out;
}

/** Messages of `type` in datagrams to `to`, compound ones included. */
function countMessages(to: usize, type: u8): i32 {
  let n = 0;
  const msgs = messagesTo(to);
  for (let k = 0; k < msgs.length; k++) {
    const m = msgs[k];
    if (load<u8>(m) != MSG_COMPOUND) { if (load<u8>(m) == type) n++; continue; }
    let item = m + COMPOUND_ITEMS;
    for (let i: u8 = 0; i < load<u8>(m + COMPOUND_COUNT); i++) {
      if (load<u8>(item + ITEM_LEN_SIZE) == type) n++;
      item += <usize>(ITEM_LEN_SIZE + <u32>getU16(item));
    }
  }
  return n;
}

/** The last OUT_ROUTE emitted for peer `key`: its body, or 0. */
function lastRoute(key: usize): usize {
  let route: usize = 0;
  let off: u32 = 0;
  while (off < outputLength()) {
    const rec = outputBase + off;
    const body = rec + REC_HEADER;
    off += alignUp(REC_HEADER + load<u32>(rec + REC_LEN));
    if (load<u16>(rec + REC_KIND) == OUT_ROUTE && memory.compare(body, key, ADDR_LEN) == 0) route = body;
  }
  return route;
}

/** True when the last OUT_ROUTE for `key` sends to `to` as `kind`. */
function routedTo(key: usize, to: usize, kind: u8): bool {
  const route = lastRoute(key);
  return route != 0 && load<u8>(route + ROUTE_KIND) == kind && memory.compare(route + ROUTE_TO, to, ADDR_LEN) == 0;
}

/** The sequence number of the last PATH_PING emitted to `to`, or 0. */
function lastPingSeq(to: usize): u32 {
  let seq: u32 = 0;
  const msgs = messagesTo(to);
  for (let k = 0; k < msgs.length; k++) if (load<u8>(msgs[k]) == MSG_PATH_PING) seq = pathSeq(msgs[k]);
  return seq;
}

function start(): void {
  if (self.id != 0) return;
  const seed = heap.alloc(32);
  memory.fill(seed, 9, 32);
  record(IN_RANDOM, 0, 0, seed, 32);
  const id = heap.alloc(8 + ADDR_SLOT + 2);
  store<u64>(id, 1);
  memory.copy(id + 8, SELF, ADDR_SLOT);
  store<u16>(id + 8 + ADDR_SLOT, 0x656d);
  record(IN_IDENTITY, 0, 0, id, 8 + ADDR_SLOT + 2);
  run(0);
  alive(2, P2);
  alive(3, P3);
  alive(4, P4);
  run(1);
}

/** Answers the last PATH_PING to `to` with a PATH_PONG from `from` (a member of id `id`). */
function pong(to: usize, from: usize, id: u64): void {
  const seq = lastPingSeq(to);
  datagram(from, writePathPong(msg, 256, seq, id, SELF));
}

describe("path message codec", () => {
  it("accepts each message at its exact length and rejects every other length", () => {
    const lens = new Array<u32>();
    lens.push(writePathPing(buf, 256, 7, 1, 2));
    lens.push(writePathPong(buf + 256, 256, 7, 1, P2));
    lens.push(writeObserved(buf + 512, 256, P2));
    lens.push(writeCandidates(buf + 768, 256, 5, 3, NAT_CONE, P2, 1));
    lens.push(writeRendezvous(buf + 1024, 256, 5, RENDEZVOUS_F_ASK, 0, 0));
    lens.push(writeRelayRequest(buf + 1280, 256, 5));
    lens.push(writeRelayOk(buf + 1536, 256, 5, true));
    for (let i = 0; i < lens.length; i++) {
      const p = buf + <usize>(i * 256);
      expect(natMessageLength(p, lens[i])).toBe(lens[i]);
      for (let n: u32 = 0; n < lens[i] + 4; n++) if (n != lens[i]) expect(natMessageLength(p, n)).toBe(0);
    }
  });

  it("rejects lists longer than CANDIDATES_MAX, unknown NAT guesses and flags, and refuses to write past the room", () => {
    const n = writeCandidates(buf, 512, 5, 3, NAT_CONE, P2, 1);
    store<u8>(buf + 14, <u8>(CANDIDATES_MAX + 1));
    expect(natMessageLength(buf, n)).toBe(0);
    store<u8>(buf + 14, 1);
    store<u8>(buf + 13, 9);
    expect(natMessageLength(buf, n)).toBe(0);
    const r = writeRelayOk(buf, 64, 5, true);
    store<u8>(buf + 9, 2);
    expect(natMessageLength(buf, r)).toBe(0);
    expect(writePathPing(buf, PATH_PING_LEN - 1, 1, 2, 3)).toBe(0);
    expect(writeCandidates(buf, 512, 5, 3, NAT_CONE, P2, CANDIDATES_MAX + 1)).toBe(0);
  });
});

describe("paths", () => {
  it("pings a new peer at its member address and calls it direct when the answer comes from there", () => {
    start();
    outputReset();
    run(1);
    const p2 = pathById(2)!;
    expect(p2.stage == Stage.Direct).toBe(false);
    wake(now + 1000);
    pathsTick(now + 1000); // a new search round pings every candidate again
    pong(P2, P2, 2);
    run(2);
    expect(p2.stage == Stage.Direct).toBe(true);
    expect(memory.compare(changetype<usize>(p2.endpoint), P2, ADDR_LEN)).toBe(0);
  });

  it("routes a peer to the endpoint a rendezvous gave once that endpoint answers", () => {
    outputReset();
    // P3 answers too, so it can act as the common member.
    wake(now + 1000);
    pathsTick(now + 1000);
    pong(P3, P3, 3);
    run(2);
    memory.copy(buf + DG_MESSAGE + 200, C4, ADDR_LEN);
    datagram(P3, writeRendezvous(msg, 256, 4, 0, buf + DG_MESSAGE + 200, 1));
    run(1);
    expect(countOut(OUT_DATAGRAM, C4, MSG_PATH_PING)).toBe(1);
    pong(C4, C4, 4);
    run(1);
    expect(countOut(OUT_ROUTE, P4, -1)).toBe(1);
    expect(pathById(4)!.stage == Stage.Direct).toBe(true);
  });

  it("grants relaying between two members it reaches directly, and tells both", () => {
    datagram(P2, writeRelayRequest(msg, 64, 4));
    run(1);
    expect(countOut(OUT_RELAY_ALLOW, P2, -1)).toBe(1);
    expect(countOut(OUT_DATAGRAM, P2, MSG_RELAY_OK)).toBe(1);
    expect(countOut(OUT_DATAGRAM, P4, MSG_RELAY_OK)).toBe(1);
  });

  it("drops path requests from non-members and counts them", () => {
    const before = statValue(Stat.PathFromNonMember);
    datagram(STRANGER, writeRelayRequest(msg, 64, 4));
    datagram(STRANGER, writeRendezvous(msg, 256, 4, RENDEZVOUS_F_ASK, 0, 0));
    datagram(STRANGER, writeCandidates(msg, 256, 2, 9, NAT_CONE, STRANGER, 1));
    datagram(STRANGER, writeObserved(msg, 64, OBSERVED));
    datagram(STRANGER, writePathPing(msg, 64, 1, 77, 1)); // names a sender that is no member
    run(1);
    expect(statValue(Stat.PathFromNonMember)).toBe(before + 5);
    expect(countOut(OUT_RELAY_ALLOW, 0, -1)).toBe(0);
    expect(countOut(OUT_DATAGRAM, STRANGER, -1)).toBe(0);
  });

  it("counts malformed path messages and short relayed records, without trapping", () => {
    const malformed = statValue(Stat.PathMalformed);
    const input = statValue(Stat.InputMalformed);
    for (let type: u8 = 0x40; type <= 0x46; type++) {
      store<u8>(msg, type);
      datagram(P2, 3);
    }
    record(IN_DATAGRAM_VIA, P2, 0, buf, 4); // needs two address slots
    run(1);
    expect(statValue(Stat.PathMalformed)).toBe(malformed + 7);
    expect(statValue(Stat.InputMalformed)).toBe(input + 1);
  });

  it("answers IN_PING with OUT_PONG when the PATH_PING along the route returns", () => {
    const body = heap.alloc(12);
    store<u64>(body, 2);
    store<u32>(body + 8, 41);
    record(IN_PING, 0, 0, body, 12);
    run(1);
    pong(P2, P2, 2);
    run(3);
    expect(countOut(OUT_PONG, 0, -1)).toBe(1);
    expect(load<u32>(outputBase + REC_HEADER + 8)).toBe(41);
    const unknown = statValue(Stat.PathUserPingUnknown);
    store<u64>(body, 999);
    record(IN_PING, 0, 0, body, 12);
    run(1);
    expect(statValue(Stat.PathUserPingUnknown)).toBe(unknown + 1);
  });

  it("sends a keepalive on a quiet direct path to a NATed peer, and nothing on a busy one", () => {
    datagram(P2, writeCandidates(msg, 256, 2, 5, NAT_CONE, P2, 1));
    run(1);
    const p2 = pathById(2)!;
    p2.lastTx = now - 11_000;
    p2.lastRx = now - 11_000;
    p2.unanswered = 0;
    outputReset();
    wake(now);
    pathsTick(now);
    expect(countOut(OUT_DATAGRAM, P2, MSG_PATH_PING)).toBe(1);
    p2.lastTx = now;
    outputReset();
    wake(now);
    pathsTick(now);
    expect(countOut(OUT_DATAGRAM, P2, MSG_PATH_PING)).toBe(0);
  });

  it("forgets a fallback grant the relay has not renewed for 80 s (it lapsed there)", () => {
    const p4 = pathById(4)!;
    expect(p4.stage == Stage.Direct).toBe(true);
    p4.relayId = 3;
    p4.relayGrantedAt = now - 80_000;
    p4.unanswered = 0;
    wake(now);
    pathsTick(now);
    expect(p4.relayId).toBe(0);
  });

  it("counts only what arrives on the direct path as its answer, not the peer's datagrams through a relay", () => {
    const p4 = pathById(4)!;
    expect(p4.stage == Stage.Direct).toBe(true);
    p4.unanswered = 3;
    p4.unansweredSince = now;
    store<u8>(buf, WIRE_VERSION);
    record(IN_DATAGRAM_VIA, P4, P3, buf, DG_MESSAGE + writePathPong(msg, 256, 0, 4, SELF)); // answers no ping: harmless
    run(1);
    expect(p4.unanswered).toBe(3); // the peer may have left the path we still send on
    datagram(C4, writePathPong(msg, 256, 0, 4, SELF));
    run(1);
    expect(p4.unanswered).toBe(0);
  });

  it("asks for a relay grant as soon as a direct path goes quiet, and gives the path up to that relay at 6.5 s", () => {
    const p4 = pathById(4)!;
    expect(p4.stage == Stage.Direct).toBe(true);
    p4.relayId = 0;
    p4.unanswered = 4;
    p4.unansweredSince = now - 3500;
    p4.heartbeatAt = -Infinity;
    outputReset();
    wake(now);
    pathsTick(now);
    // The helper: P2 or P3 (the peers on a direct path), whichever answered faster.
    const toP2 = countOut(OUT_DATAGRAM, P2, MSG_RELAY_REQUEST), toP3 = countOut(OUT_DATAGRAM, P3, MSG_RELAY_REQUEST);
    expect(toP2 + toP3).toBe(1);
    datagram(toP2 == 1 ? P2 : P3, writeRelayOk(msg, 64, 4, true));
    run(1);
    expect(p4.stage == Stage.Direct).toBe(true); // kept as the fallback
    expect(p4.relayId).toBe(toP2 == 1 ? 2 : 3);
    outputReset();
    wake(now + 3100);
    pathsTick(now + 3100);
    expect(p4.stage == Stage.Relayed).toBe(true);
    expect(countOut(OUT_ROUTE, P4, -1)).toBe(1);
  });

  it("leaves a direct path whose traffic went unanswered for 6.5 s, pinging it on the way", () => {
    const p2 = pathById(2)!;
    const lost = statValue(Stat.PathDirectLost);
    p2.unanswered = 4;
    p2.unansweredSince = now - 3500;
    p2.heartbeatAt = -Infinity;
    outputReset();
    wake(now);
    pathsTick(now);
    expect(countOut(OUT_DATAGRAM, P2, MSG_PATH_PING)).toBeGreaterThanOrEqual(1); // heartbeat
    expect(p2.stage == Stage.Direct).toBe(true);
    wake(now + 3100);
    pathsTick(now + 3100);
    expect(p2.stage == Stage.Direct).toBe(false);
    expect(statValue(Stat.PathDirectLost)).toBe(lost + 1);
  });
});

describe("updates that missed us behind NATs", () => {
  it("asks the common member for its state when a RENDEZVOUS names a member we do not know, and keeps its relay grant", () => {
    outputReset();
    const unknown = statValue(Stat.PathUnknownMember);
    const refreshes = statValue(Stat.PathRefreshes);
    memory.copy(buf + DG_MESSAGE + 200, C5, ADDR_LEN);
    datagram(P3, writeRendezvous(msg, 256, 5, 0, buf + DG_MESSAGE + 200, 1));
    datagram(P3, writeRelayOk(msg, 64, 5, true));
    run(1);
    expect(statValue(Stat.PathUnknownMember)).toBe(unknown + 2);
    expect(statValue(Stat.PathRefreshes)).toBe(refreshes + 1); // one push-pull, not one per message
    expect(countOut(OUT_DATAGRAM, P3, MSG_PUSH_PULL)).toBeGreaterThanOrEqual(1);
    // Its ALIVE arrives (with that push-pull's answer): relayed through P3 at once, as the grant says.
    outputReset();
    alive(5, P5);
    run(1);
    const p5 = pathById(5)!;
    expect(p5.stage == Stage.Relayed).toBe(true);
    expect(p5.relayId).toBe(3);
    expect(countOut(OUT_ROUTE, P5, -1)).toBe(1);
  });

  it("answers a relayed peer's PATH_PING from its member address there, not through the relay (its re-probe)", () => {
    outputReset();
    datagram(P5, writePathPing(msg, 64, 9, 5, 1));
    run(1);
    expect(countOut(OUT_ROUTE, P5, -1)).toBe(0); // frames stay on the relay
    expect(countOut(OUT_DATAGRAM, P5, MSG_PATH_PONG, true)).toBe(1); // the answer goes past the route
    expect(countOut(OUT_DATAGRAM, P5, MSG_PATH_PING, true)).toBe(1); // and we ping it back there
  });

  it("asks the relay for its state when a relayed path goes silent (it refuses an address it no longer knows)", () => {
    run(2000); // past the gap between two push-pulls
    const p5 = pathById(5)!;
    expect(p5.stage == Stage.Relayed).toBe(true);
    const refreshes = statValue(Stat.PathRefreshes);
    p5.unanswered = 3;
    p5.unansweredSince = now - 7000;
    outputReset();
    wake(now);
    pathsTick(now);
    expect(p5.stage == Stage.Relayed).toBe(false);
    expect(statValue(Stat.PathRefreshes)).toBe(refreshes + 1);
    expect(countOut(OUT_DATAGRAM, P3, MSG_PUSH_PULL)).toBeGreaterThanOrEqual(1);
    // The relay that went silent gets nothing more: what we send goes to the member address meanwhile.
    expect(routedTo(P5, P5, KIND_DIRECT)).toBe(true);
  });

  it("asks the relay again when a relayed path goes quiet; its refusal sends the peer's traffic off it at once", () => {
    datagram(P3, writeRelayOk(msg, 64, 5, true));
    run(1);
    const p5 = pathById(5)!;
    expect(p5.stage == Stage.Relayed).toBe(true);
    expect(routedTo(P5, P3, KIND_RELAY)).toBe(true);
    p5.unanswered = 2;
    p5.unansweredSince = now - 3500; // a heartbeat is due, the path not given up yet
    p5.relayAskedAt = now - 6000;
    outputReset();
    wake(now);
    pathsTick(now);
    expect(p5.stage == Stage.Relayed).toBe(true);
    expect(countOut(OUT_DATAGRAM, P3, MSG_RELAY_REQUEST)).toBe(1);
    // At most one request per RELAY_RETRY_MS however many heartbeats.
    outputReset();
    wake(now + 1600);
    pathsTick(now + 1600);
    expect(countOut(OUT_DATAGRAM, P3, MSG_RELAY_REQUEST)).toBe(0);
    // The relay no longer holds the pair's grant and cannot grant it again: it refuses.
    outputReset();
    datagram(P3, writeRelayOk(msg, 64, 5, false));
    run(1);
    expect(p5.stage == Stage.Search).toBe(true);
    expect(p5.relayId).toBe(0);
    expect(routedTo(P5, P5, KIND_DIRECT)).toBe(true);
    expect(countOut(OUT_DATAGRAM, P5, MSG_PATH_PING, true)).toBeGreaterThanOrEqual(1); // the direct re-probe, at once
  });

  it("answers a PING_REQ that names a member by an old address: pings it where we know it (never the named address), and sends the requester its ALIVE", () => {
    outputReset();
    datagram(P2, writePingReq(msg, 64, 77, 3, OLD3));
    run(1);
    expect(countMessages(OLD3, MSG_PING)).toBe(0);
    expect(countMessages(P3, MSG_PING)).toBe(1);
    expect(countMessages(P2, MSG_ALIVE)).toBeGreaterThanOrEqual(1);
  });

  it("asks no member for help or gossip that has no path and left what we sent unanswered", () => {
    alive(6, P6);
    run(1);
    expect(pathById(6)!.kind).toBe(0);
    expect(pathById(6)!.unanswered).toBeGreaterThan(0); // the search pinged it
    const picked = new Array<Member>();
    for (let round = 0; round < 20; round++) {
      randomMembers(10, 0, false, picked);
      expect(picked.length).toBeGreaterThanOrEqual(1);
      for (let i = 0; i < picked.length; i++) expect(picked[i].id).not.toBe(6);
    }
  });
});

describe("observed addresses", () => {
  it("takes no OBSERVED that came through a relay (it names the address the relay knows us by)", () => {
    store<u8>(buf, WIRE_VERSION);
    record(IN_DATAGRAM_VIA, P3, P2, buf, DG_MESSAGE + writeObserved(msg, 64, OBSERVED));
    run(1);
    store<u8>(buf, WIRE_VERSION);
    record(IN_DATAGRAM_VIA, P4, P2, buf, DG_MESSAGE + writeObserved(msg, 64, OBSERVED));
    run(1);
    expect(memory.compare(self.addr, OBSERVED, ADDR_LEN)).not.toBe(0); // two relayed reports: no agreement
  });

  it("adopts an address two members agree on, as a new advertised address, and guesses a cone NAT", () => {
    datagram(P2, writeObserved(msg, 64, OBSERVED));
    run(1);
    expect(memory.compare(self.addr, OBSERVED, ADDR_LEN)).not.toBe(0);
    datagram(P3, writeObserved(msg, 64, OBSERVED));
    run(1);
    expect(memory.compare(self.addr, OBSERVED, ADDR_LEN)).toBe(0);
    // P4 (at C4) still reports our old address: a NAT that kept our address for it would be none.
    datagram(C4, writeObserved(msg, 64, OBSERVED));
    run(1);
    expect(natGuess()).toBe(NAT_CONE);
  });
});
