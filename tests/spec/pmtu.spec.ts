import {
  ADDR_LEN, ADDR_SLOT, IN_DATAGRAM, IN_SEND_TOO_BIG, OUT_DATAGRAM, OUT_TIMER, REC_HEADER, REC_KIND, REC_LEN, alignUp,
} from "../../assembly/abi";
import { config } from "../../assembly/config";
import { forwardFromTap } from "../../assembly/forward";
import { input_ptr, process } from "../../assembly/index";
import { self } from "../../assembly/node";
import { peerAddrById, peerCount, peerId, peerRemove, peerUpsert } from "../../assembly/peers";
import { BASE_DATAGRAM, pmtuAckIn, pmtuBase, pmtuMaxDatagram, pmtuPeek, pmtuTick, pmtuTooBig } from "../../assembly/pmtu";
import { CONFIRM_ACTIVE_MS, MAX_PROBES, RAISE_MS, SEARCH_GRAIN } from "../../assembly/pmtu-path";
import { outputBase, outputLength, outputReset } from "../../assembly/queue";
import { Stat, statValue } from "../../assembly/stats";
import { getU16, getU32, putMac } from "../../assembly/wire/bytes";
import { WireCheck } from "../../assembly/wire/check";
import { DG_MESSAGE, MSG_COMPOUND, WIRE_VERSION } from "../../assembly/wire/divs";
import {
  MSG_PMTU_ACK, MSG_PMTU_PROBE, PMTU_ACK_LEN, PMTU_ACK_SIZE, PMTU_PROBE_HEADER, PMTU_PROBE_MIN, PMTU_SEQ, pmtuAckCheck,
  pmtuAckEmit, pmtuAckSize, pmtuProbeCheck, pmtuProbeEmit, pmtuSeq,
} from "../../assembly/wire/pmtu";

const PEER: u64 = 2;
const OTHER: u64 = 3;
const CEILING: u32 = 1440;
const STEP_MS: f64 = 10;
const addrPeer = heap.alloc(ADDR_LEN);
const addrOther = heap.alloc(ADDR_LEN);
const addrStranger = heap.alloc(ADDR_LEN);
const buf = heap.alloc(70000);
const ack = heap.alloc(64);

// The probes the last step saw go out to addrPeer, and how many came through the path.
let probesOut: i32 = 0;
let largestProbe: u32 = 0;

function setup(): void {
  self.id = 1;
  config.maxDatagram = CEILING;
  config.probeTimeoutMs = 500;
  while (peerCount() > 0) peerRemove(peerId(0));
  memory.fill(addrPeer, 0x22, ADDR_LEN);
  memory.fill(addrOther, 0x33, ADDR_LEN);
  memory.fill(addrStranger, 0x44, ADDR_LEN);
  self.now = 0;
  peerUpsert(PEER, addrPeer);
  outputReset();
}

function stat(s: Stat): f64 { return statValue(s); }

/**
 * Runs the pmtu tick at `now` over a path to PEER that carries datagrams up to `limit` bytes,
 * and answers what gets through at once (the ACK always fits). `use`: a frame is sized for PEER first.
 */
function step(now: f64, limit: u32, use: bool): void {
  self.now = now;
  outputReset();
  if (use) pmtuMaxDatagram(peerAddrById(PEER));
  pmtuTick(now);
  const end = outputLength();
  let off: u32 = 0;
  let acks: i32 = 0;
  const seqs = new Array<u32>();
  const sizes = new Array<u32>();
  while (off < end) {
    const rec = outputBase + off;
    const len = load<u32>(rec + REC_LEN);
    const body = rec + REC_HEADER;
    if (load<u16>(rec + REC_KIND) == OUT_DATAGRAM && memory.compare(body, addrPeer, ADDR_LEN) == 0) {
      const dg = body + ADDR_SLOT;
      const dgLen = len - ADDR_SLOT;
      if (load<u8>(dg + DG_MESSAGE) == MSG_PMTU_PROBE) {
        probesOut++;
        if (dgLen > largestProbe) largestProbe = dgLen;
        if (dgLen <= limit) { seqs.push(pmtuSeq(dg + DG_MESSAGE)); sizes.push(dgLen); acks++; }
      }
    }
    off += alignUp(REC_HEADER + len);
  }
  for (let i = 0; i < acks; i++) {
    pmtuAckEmit(ack, PMTU_ACK_LEN, seqs[i], sizes[i]);
    pmtuAckIn(ack, PMTU_ACK_LEN);
  }
}

/** Steps from `from` to `to` (exclusive); returns the first time PEER's max datagram was <= `until`, or -1. */
function run(from: f64, to: f64, limit: u32, use: bool, until: u32 = 0): f64 {
  for (let t = from; t < to; t += STEP_MS) {
    step(t, limit, use);
    if (until != 0 && pmtuPeek(peerAddrById(PEER)) <= until) return t;
  }
  return -1;
}

function maxNow(): u32 { return pmtuPeek(peerAddrById(PEER)); }

describe("PMTU_PROBE and PMTU_ACK codec", () => {
  it("emits a probe of exactly the size probed, zero padded, and reads its sequence back", () => {
    memory.fill(buf, 0xee, 1300);
    store<u8>(buf, WIRE_VERSION);
    expect(pmtuProbeEmit(buf + DG_MESSAGE, 1201, 0xa1b2c3d4)).toBe(1201);
    expect(load<u8>(buf + DG_MESSAGE)).toBe(MSG_PMTU_PROBE);
    expect(getU32(buf + DG_MESSAGE + PMTU_SEQ)).toBe(0xa1b2c3d4);
    expect(pmtuSeq(buf + DG_MESSAGE)).toBe(0xa1b2c3d4);
    let padded = true;
    for (let i: u32 = DG_MESSAGE + PMTU_PROBE_HEADER; i < 1202; i++) if (load<u8>(buf + i) != 0) padded = false;
    expect(padded).toBe(true);
    expect(load<u8>(buf + 1202)).toBe(0xee); // not a byte further
    expect(pmtuProbeCheck(1201, 1202)).toBe(WireCheck.Ok);
  });

  it("refuses probes out of range and probes smaller than their ACK", () => {
    expect(pmtuProbeEmit(buf + DG_MESSAGE, PMTU_PROBE_MIN - DG_MESSAGE - 1, 1)).toBe(0);
    expect(pmtuProbeEmit(buf + DG_MESSAGE, 0x10000 - DG_MESSAGE, 1)).toBe(0);
    expect(pmtuProbeEmit(buf + DG_MESSAGE, PMTU_PROBE_MIN - DG_MESSAGE, 1)).toBe(PMTU_PROBE_MIN - DG_MESSAGE);
    for (let len: u32 = 0; len < PMTU_PROBE_HEADER; len++) expect(pmtuProbeCheck(len, len + 1)).toBe(WireCheck.Truncated);
    expect(pmtuProbeCheck(PMTU_PROBE_HEADER, PMTU_PROBE_MIN - 1)).toBe(WireCheck.Malformed);
    expect(pmtuProbeCheck(0x10000, 0x10001)).toBe(WireCheck.Malformed);
  });

  it("round-trips an ACK at the documented offsets and rejects every truncation", () => {
    expect(pmtuAckEmit(buf, PMTU_ACK_LEN, 77, 1400)).toBe(PMTU_ACK_LEN);
    expect(load<u8>(buf)).toBe(MSG_PMTU_ACK);
    expect(getU32(buf + PMTU_SEQ)).toBe(77);
    expect(getU16(buf + PMTU_ACK_SIZE)).toBe(1400);
    expect(pmtuAckSize(buf)).toBe(1400);
    expect(pmtuAckCheck(PMTU_ACK_LEN)).toBe(WireCheck.Ok);
    for (let len: u32 = 0; len < PMTU_ACK_LEN; len++) expect(pmtuAckCheck(len)).toBe(WireCheck.Truncated);
    expect(pmtuAckEmit(buf, PMTU_ACK_LEN - 1, 77, 1400)).toBe(0);
  });
});

describe("path MTU search", () => {
  beforeEach(() => { setup(); });

  it("starts at the base, and on a path that carries the ceiling settles it with one probe", () => {
    expect(pmtuBase()).toBe(BASE_DATAGRAM);
    expect(maxNow()).toBe(BASE_DATAGRAM);
    probesOut = 0;
    run(0, 2000, 65535, false);
    expect(maxNow()).toBe(CEILING);
    expect(probesOut).toBe(1);
  });

  it("converges to within SEARCH_GRAIN under the path's limit, never above it", () => {
    for (let limit: u32 = 1210; limit < CEILING; limit += 37) {
      setup();
      run(0, 30_000, limit, false);
      expect(maxNow()).toBeLessThanOrEqual(limit);
      expect(maxNow() + SEARCH_GRAIN).toBeGreaterThan(limit);
    }
  });

  it("uses each ACK at once, so frames grow while the search goes on", () => {
    const done = stat(Stat.PmtuSearchesDone);
    let raisedMidSearch = false;
    for (let t: f64 = 0; t < 30_000; t += STEP_MS) {
      step(t, 1300, false);
      if (maxNow() > BASE_DATAGRAM && stat(Stat.PmtuSearchesDone) == done) raisedMidSearch = true;
    }
    expect(raisedMidSearch).toBe(true);
    expect(stat(Stat.PmtuSearchesDone)).toBe(done + 1);
  });

  it("keeps the base when the peer answers nothing (an older node), and counts it", () => {
    const before = stat(Stat.PmtuSearchesUnanswered);
    const holes = stat(Stat.PmtuBlackHoles);
    run(0, 60_000, 0, true);
    expect(maxNow()).toBe(BASE_DATAGRAM);
    expect(stat(Stat.PmtuSearchesUnanswered)).toBe(before + 1);
    expect(stat(Stat.PmtuBlackHoles)).toBe(holes); // nothing under the base to fall to
  });

  it("never probes an idle path, re-confirms one in use every CONFIRM_ACTIVE_MS, and at once after an idle spell", () => {
    run(0, 1000, 65535, false);
    expect(maxNow()).toBe(CEILING);
    probesOut = 0;
    run(1000, RAISE_MS * 2, 65535, false);
    expect(probesOut).toBe(0);
    const t0 = RAISE_MS * 2;
    step(t0, 65535, true); // the first frame after the idle spell
    expect(probesOut).toBe(1);
    run(t0 + STEP_MS, t0 + 10_000, 65535, true);
    expect(probesOut).toBeGreaterThanOrEqual(10);
    expect(probesOut).toBeLessThanOrEqual(11);
  });
});

describe("black holes", () => {
  beforeEach(() => { setup(); });

  it("a path in use that shrinks without a word is back under its limit within CONFIRM_ACTIVE_MS + MAX_PROBES probe timeouts", () => {
    run(0, 5000, 65535, true);
    expect(maxNow()).toBe(CEILING);
    const holes = stat(Stat.PmtuBlackHoles);
    const shrunk: f64 = 5000;
    const back = run(shrunk, 60_000, 1300, true, 1300);
    expect(back).toBeGreaterThan(0);
    const bound = CONFIRM_ACTIVE_MS + <f64>MAX_PROBES * config.probeTimeoutMs + STEP_MS;
    expect(back - shrunk).toBeLessThanOrEqual(bound);
    expect(stat(Stat.PmtuBlackHoles)).toBe(holes + 1);
    expect(maxNow()).toBe(BASE_DATAGRAM); // at once to the base, then up again
    run(back + STEP_MS, back + 20_000, 1300, true);
    expect(maxNow()).toBeLessThanOrEqual(1300);
    expect(maxNow() + SEARCH_GRAIN).toBeGreaterThan(1300);
  });

  it("a lost confirmation or two is not a black hole", () => {
    run(0, 2000, 65535, true);
    const holes = stat(Stat.PmtuBlackHoles);
    // The path drops everything for 1.5 probe timeouts: two attempts at most fall in it.
    const t0: f64 = 2000;
    const t1 = t0 + 1.5 * config.probeTimeoutMs;
    run(t0, t1, 0, true);
    run(t1, t0 + 10_000, 65535, true);
    expect(stat(Stat.PmtuBlackHoles)).toBe(holes);
    expect(maxNow()).toBe(CEILING);
  });

  it("searches upward again after RAISE_MS while in use, and finds a path that grew", () => {
    run(0, 20_000, 1300, true);
    expect(maxNow()).toBeLessThanOrEqual(1300);
    run(20_000, RAISE_MS, 65535, true);
    expect(maxNow()).toBeLessThanOrEqual(1300);
    run(RAISE_MS, RAISE_MS + 25_000, 65535, true);
    expect(maxNow()).toBe(CEILING);
  });
});

describe("too-big hints (IN_SEND_TOO_BIG)", () => {
  beforeEach(() => { setup(); });

  it("drop the max datagram under the refused length at once and search under it", () => {
    run(0, 2000, 65535, true);
    expect(maxNow()).toBe(CEILING);
    const hints = stat(Stat.PmtuTooBigHints);
    pmtuTooBig(addrPeer, 1400);
    expect(stat(Stat.PmtuTooBigHints)).toBe(hints + 1);
    expect(maxNow()).toBeLessThan(1400);
    expect(maxNow()).toBeGreaterThanOrEqual(pmtuBase());
    largestProbe = 0;
    run(2000, 20_000, 65535, true);
    expect(largestProbe).toBeLessThan(1400);
    expect(maxNow()).toBeLessThan(1400);
    expect(maxNow() + SEARCH_GRAIN).toBeGreaterThanOrEqual(1400);
  });

  it("fail the probe in flight at once: the search goes on without waiting for its timeout", () => {
    largestProbe = 0;
    step(0, 0, false); // the ceiling probe goes out and is lost
    expect(largestProbe).toBeGreaterThanOrEqual(CEILING);
    pmtuTooBig(addrPeer, CEILING); // the host's socket refused it
    probesOut = 0;
    largestProbe = 0;
    step(STEP_MS, 65535, false);
    expect(probesOut).toBe(1);
    expect(largestProbe).toBeLessThan(CEILING);
  });

  it("never go below the base, and are counted when no peer has the address", () => {
    pmtuTooBig(addrPeer, 600);
    expect(maxNow()).toBe(pmtuBase());
    // The search ends at once, nothing above the base left to try: in use, the next probe is the
    // search upward after RAISE_MS, a real time (never -Infinity).
    outputReset();
    self.now = 50;
    pmtuMaxDatagram(peerAddrById(PEER));
    expect(pmtuTick(50)).toBe(50 + RAISE_MS);
    const unknown = stat(Stat.PmtuTooBigUnknown);
    pmtuTooBig(addrStranger, 1300);
    expect(stat(Stat.PmtuTooBigUnknown)).toBe(unknown + 1);
  });

  it("about a size no longer in use change nothing", () => {
    run(0, 20_000, 1300, false);
    const settled = maxNow();
    pmtuTooBig(addrPeer, settled + 100);
    expect(maxNow()).toBe(settled);
  });
});

describe("peers and the members dump", () => {
  beforeEach(() => { setup(); });

  it("a new peer starts at the base, a gone one reports 0, an address change starts over", () => {
    run(0, 2000, 65535, false);
    expect(maxNow()).toBe(CEILING);
    peerUpsert(PEER, addrOther); // moved
    expect(maxNow()).toBe(BASE_DATAGRAM);
    const a = peerAddrById(PEER);
    peerRemove(PEER);
    expect(pmtuPeek(a)).toBe(0);
    expect(pmtuMaxDatagram(addrStranger)).toBe(pmtuBase()); // not a peer's block: the safe base
  });

  it("forwarding sends no frame datagram larger than the peer's path MTU, and drops and counts a frame that does not fit yet", () => {
    const frame = heap.alloc(1400);
    memory.fill(frame, 0xff, 6); // broadcast: flooded to every peer
    putMac(frame + 6, 0x0200_0000_00a1);
    memory.fill(frame + 12, 0, 1400 - 12);
    const over = stat(Stat.FramesTooBig);
    outputReset();
    forwardFromTap(frame, 1300, self.now); // 1303-byte datagram, over the base
    expect(stat(Stat.FramesTooBig)).toBe(over + 1);
    expect(outputLength()).toBe(0);
    run(0, 1000, 65535, false); // discovery: the path carries the ceiling
    outputReset();
    forwardFromTap(frame, 1300, self.now);
    expect(stat(Stat.FramesTooBig)).toBe(over + 1);
    expect(outputLength()).toBeGreaterThan(1300);
    heap.free(frame);
  });

  it("does not probe when the ceiling is the base", () => {
    peerRemove(PEER);
    config.maxDatagram = 1000;
    const unanswered = stat(Stat.PmtuSearchesUnanswered);
    peerUpsert(PEER, addrPeer);
    probesOut = 0;
    run(0, 5000, 65535, true);
    expect(probesOut).toBe(0);
    expect(maxNow()).toBe(1000);
    expect(stat(Stat.PmtuSearchesUnanswered)).toBe(unanswered);
  });

  it("never reports more than config.maxDatagram, nor a base above it", () => {
    run(0, 2000, 65535, false);
    config.maxDatagram = 1000;
    expect(pmtuBase()).toBe(1000);
    expect(maxNow()).toBe(1000);
    expect(pmtuMaxDatagram(peerAddrById(PEER))).toBe(1000);
  });
});

/** Writes one IN_DATAGRAM record from `src` carrying `len` bytes at `dg` into the input region; returns the input length. */
function datagramIn(src: usize, dg: usize, len: u32): u32 {
  const rec = input_ptr();
  store<u16>(rec + REC_KIND, IN_DATAGRAM);
  store<u32>(rec + REC_LEN, ADDR_SLOT + len);
  memory.copy(rec + REC_HEADER, src, ADDR_LEN);
  memory.copy(rec + REC_HEADER + ADDR_SLOT, dg, len);
  return alignUp(REC_HEADER + ADDR_SLOT + len);
}

/** The ACK to `to` in the output, as (seq << 16 | size), or -1. */
function ackTo(to: usize): i64 {
  let off: u32 = 0;
  while (off < outputLength()) {
    const rec = outputBase + off;
    const len = load<u32>(rec + REC_LEN);
    const body = rec + REC_HEADER;
    if (load<u16>(rec + REC_KIND) == OUT_DATAGRAM && memory.compare(body, to, ADDR_LEN) == 0 &&
      load<u8>(body + ADDR_SLOT + DG_MESSAGE) == MSG_PMTU_ACK) {
      expect(len - ADDR_SLOT).toBe(DG_MESSAGE + PMTU_ACK_LEN);
      const msg = body + ADDR_SLOT + DG_MESSAGE;
      return (<i64>pmtuSeq(msg) << 16) | <i64>pmtuAckSize(msg);
    }
    off += alignUp(REC_HEADER + len);
  }
  return -1;
}

describe("through the ABI", () => {
  beforeEach(() => { setup(); });

  it("answers a probe from any authenticated sender with its sequence and the datagram's length", () => {
    store<u8>(buf, WIRE_VERSION);
    pmtuProbeEmit(buf + DG_MESSAGE, 1333 - DG_MESSAGE, 4242);
    process(datagramIn(addrStranger, buf, 1333), 10);
    expect(ackTo(addrStranger)).toBe((<i64>4242 << 16) | 1333);
  });

  it("drops and counts truncated probes, probes inside a COMPOUND, short ACKs; counts stale ACKs", () => {
    const malformed = stat(Stat.PmtuMalformed);
    store<u8>(buf, WIRE_VERSION);
    store<u8>(buf + 1, MSG_PMTU_PROBE);
    process(datagramIn(addrPeer, buf, 4), 10); // truncated: 3 of its 5 header bytes
    expect(ackTo(addrPeer)).toBe(-1);
    // A COMPOUND of a probe and an ACK: the probe's size would be a lie, the short ACK is truncated.
    store<u8>(buf + 1, MSG_COMPOUND);
    store<u8>(buf + 2, 2);
    store<u8>(buf + 3, 0);
    store<u16>(buf + 4, bswap<u16>(8));
    store<u8>(buf + 6, MSG_PMTU_PROBE);
    memory.fill(buf + 7, 0, 7);
    store<u16>(buf + 14, bswap<u16>(3));
    store<u8>(buf + 16, MSG_PMTU_ACK);
    store<u16>(buf + 17, 0);
    process(datagramIn(addrPeer, buf, 19), 10);
    expect(ackTo(addrPeer)).toBe(-1);
    expect(stat(Stat.PmtuMalformed)).toBe(malformed + 3);
    // A well-formed ACK that answers no probe in flight (wrong size, or from a stranger).
    const unexpected = stat(Stat.PmtuAcksUnexpected);
    store<u8>(buf, WIRE_VERSION);
    pmtuAckEmit(buf + DG_MESSAGE, PMTU_ACK_LEN, 1, 999);
    process(datagramIn(addrPeer, buf, DG_MESSAGE + PMTU_ACK_LEN), 10);
    process(datagramIn(addrStranger, buf, DG_MESSAGE + PMTU_ACK_LEN), 10);
    expect(stat(Stat.PmtuAcksUnexpected)).toBe(unexpected + 2);
  });

  it("takes an ACK by its sequence number, whatever address it comes from (a NAT on the way)", () => {
    process(0, 100); // the ceiling probe goes out to the peer's advertised address
    let seq: u32 = 0;
    let size: u32 = 0;
    let off: u32 = 0;
    while (off < outputLength()) {
      const rec = outputBase + off;
      const body = rec + REC_HEADER;
      const len = load<u32>(rec + REC_LEN);
      if (load<u16>(rec + REC_KIND) == OUT_DATAGRAM && load<u8>(body + ADDR_SLOT + DG_MESSAGE) == MSG_PMTU_PROBE) {
        seq = pmtuSeq(body + ADDR_SLOT + DG_MESSAGE);
        size = len - ADDR_SLOT;
      }
      off += alignUp(REC_HEADER + len);
    }
    expect(size).toBe(CEILING);
    store<u8>(buf, WIRE_VERSION);
    pmtuAckEmit(buf + DG_MESSAGE, PMTU_ACK_LEN, seq ^ 0x100, size); // another path's sequence number
    process(datagramIn(addrStranger, buf, DG_MESSAGE + PMTU_ACK_LEN), 110);
    expect(maxNow()).toBe(BASE_DATAGRAM);
    pmtuAckEmit(buf + DG_MESSAGE, PMTU_ACK_LEN, seq, size);
    process(datagramIn(addrStranger, buf, DG_MESSAGE + PMTU_ACK_LEN), 120);
    expect(maxNow()).toBe(CEILING);
  });

  it("takes IN_SEND_TOO_BIG and counts a short one as malformed input", () => {
    run(0, 2000, 65535, false);
    const rec = input_ptr();
    store<u16>(rec + REC_KIND, IN_SEND_TOO_BIG);
    store<u32>(rec + REC_LEN, ADDR_SLOT + 4);
    memory.copy(rec + REC_HEADER, addrPeer, ADDR_LEN);
    store<u32>(rec + REC_HEADER + ADDR_SLOT, 1300);
    process(alignUp(REC_HEADER + ADDR_SLOT + 4), 2000);
    expect(maxNow()).toBeLessThan(1300);
    const malformed = stat(Stat.InputMalformed);
    store<u32>(rec + REC_LEN, ADDR_SLOT + 3);
    process(alignUp(REC_HEADER + ADDR_SLOT + 3), 2001);
    expect(stat(Stat.InputMalformed)).toBe(malformed + 1);
  });

  it("folds the next probe deadline into OUT_TIMER", () => {
    process(0, 100); // the first probe goes out now; its timeout is the next deadline
    let timer: f64 = -1;
    let off: u32 = 0;
    while (off < outputLength()) {
      const rec = outputBase + off;
      if (load<u16>(rec + REC_KIND) == OUT_TIMER) timer = load<f64>(rec + REC_HEADER);
      off += alignUp(REC_HEADER + load<u32>(rec + REC_LEN));
    }
    expect(timer).toBe(100 + config.probeTimeoutMs);
  });
});
