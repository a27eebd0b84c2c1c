// The core's fuzzer: drives build/divs-core(.debug).wasm alone with random and
// mutated record batches, frames and datagrams, and checks every call's output
// (tests/fuzz/checks.mjs). Deterministic for a seed: iteration k of seed S is
// always the same input, and the core is sans-IO, so `--seed S --runs K`
// replays a whole failing history.
//
//   node tests/fuzz/run.mjs --seconds 60 [--seed S] [--runs K] [--release]
//   node tests/fuzz/run.mjs --replay tests/fuzz/failures/<name>.bin
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import fc from "./fc.mjs";
import { checkDhcpSave, checkMembers, checkPaths, checkProcessOutput, checkStats } from "./checks.mjs";
import { compileCore } from "./core.mjs";
import { datagramArb, messageArb, splitDatagram } from "./datagrams.mjs";
import { DHCP_FRAMES, HAND_FRAMES, fixtureFrames, frameArb } from "./frames.mjs";
import { checkMacs } from "./macs.mjs";
import { mutate, mutationArb } from "./mutate.mjs";
import { MAX_DATAGRAM } from "./checks.mjs";
import { aliveDatagram, checkGsoFrame, checkSegment, equalBytes, tsoArb, tsoRecord } from "./offload.mjs";
import { IN, OUT, REC_HEADER, addrSlot, alignUp, concat, readRecords, recordsSize, writeRecords } from "./records.mjs";

const CHUNK = 256; // iterations generated per fc.sample call
const CORPUS_MAX = 512; // emitted datagrams kept for mutation
const MESSAGES_MAX = 2048; // their messages (compound items split out), for round trips
const KEEP_PER_CALL = 6; // emitted datagrams kept (and round-tripped) per call, one per message type
const MAX_FAILURES = 5;
const STATS_EVERY = 8;
/** Table size the fuzzed core is configured with, so "count <= capacity" is reachable. */
const MAC_CAPACITY = 64;
const CONFIG_MAC_CAPACITY = 2; // assembly/config.ts Key.MacCapacity
const CONFIG_TAP_VNET_HDR = 5; // assembly/config.ts Key.TapVnetHdr
/** The fuzzed core serves DHCP (assembly/config.ts Key.DhcpPool*, DhcpSeed) from 198.18.0.100, 16 addresses. */
const CONFIG_DHCP = [[300, 0xc6120064], [301, 16], [308, 1]];
const fail = (msg) => { throw new Error(msg); };
const FAILURES_DIR = new URL("./failures/", import.meta.url);

const { values: opts } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    seed: { type: "string" },
    runs: { type: "string" },
    replay: { type: "string" },
    release: { type: "boolean", default: false },
  },
});

// --- what one iteration feeds the core -------------------------------------

const PEERS = [1, 2, 3, 4].map((i) => addrSlot([198, 19, 0, i], 4800));
/** The peer an offload step makes alive (ALIVE) so segments have somewhere to go. */
const OFFLOAD_PEER = { id: 9n, slot: addrSlot([198, 19, 0, 9], 4800) };
const addrArb = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...PEERS) }, fc.uint8Array({ minLength: 20, maxLength: 20 }));
const u64le = (n) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, n, true); return b; };
const nodeIdArb = fc.oneof(fc.constantFrom(1n, 2n, 3n, 4n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
const bytesArb = (maxLength) => fc.uint8Array({ maxLength });

const recordArb = fc.oneof(
  { weight: 6, arbitrary: frameArb.map((body) => ({ kind: IN.FRAME, body })) },
  { weight: 5, arbitrary: fc.tuple(addrArb, datagramArb).map(([a, d]) => ({ kind: IN.DATAGRAM, body: concat(a, d) })) },
  { weight: 1, arbitrary: bytesArb(64).map((body) => ({ kind: IN.RANDOM, body })) },
  {
    weight: 1,
    arbitrary: fc.tuple(nodeIdArb, addrArb, bytesArb(24)).map(([id, a, name]) => ({ kind: IN.IDENTITY, body: concat(u64le(id), a, name) })),
  },
  { weight: 1, arbitrary: addrArb.map((body) => ({ kind: IN.JOIN, body })) },
  { weight: 1, arbitrary: fc.constant({ kind: IN.LEAVE, body: new Uint8Array(0) }) },
  {
    weight: 1, // the socket refused a datagram of that length to that address (EMSGSIZE); sometimes short
    arbitrary: fc.tuple(addrArb, fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.constant(0xffffffff)), fc.nat(4))
      .map(([a, len, keep]) => { const n = new Uint8Array(4); new DataView(n.buffer).setUint32(0, len, true); return { kind: IN.SEND_TOO_BIG, body: concat(a, n.subarray(0, keep)) }; }),
  },
  { weight: 1, arbitrary: fc.array(addrArb, { maxLength: 6 }).map((as) => ({ kind: IN.CANDIDATES, body: concat(...as) })) },
  {
    weight: 3, // relayed: original source, relay, datagram; sometimes too short for the two slots
    arbitrary: fc.tuple(addrArb, addrArb, datagramArb, fc.nat(8))
      .map(([a, r, d, cut]) => ({ kind: IN.DATAGRAM_VIA, body: cut === 0 ? concat(a, r).subarray(0, 30) : concat(a, r, d) })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(nodeIdArb, fc.integer({ min: 0, max: 0xffffffff }), fc.nat(12))
      .map(([id, seq, keep]) => { const b = concat(u64le(id), new Uint8Array(4)); new DataView(b.buffer).setUint32(8, seq, true); return { kind: IN.PING, body: b.subarray(0, keep === 0 ? 5 : 12) }; }),
  },
  {
    weight: 1, // a paths query: node id, seq, the first path wanted; sometimes short
    arbitrary: fc.tuple(nodeIdArb, fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffff }), fc.nat(12))
      .map(([id, seq, start, keep]) => {
        const b = concat(u64le(id), new Uint8Array(6));
        new DataView(b.buffer).setUint32(8, seq, true);
        new DataView(b.buffer).setUint16(12, start, true);
        return { kind: IN.PATHS_QUERY, body: b.subarray(0, keep === 0 ? 9 : 14) };
      }),
  },
  {
    weight: 1, // a saved DHCP state: elapsed ms (any double), the saver's id, garbled or cut messages
    arbitrary: fc.tuple(fc.double(), nodeIdArb, messageArb, fc.nat(24))
      .map(([elapsed, id, msg, cut]) => {
        const head = new Uint8Array(8);
        new DataView(head.buffer).setFloat64(0, elapsed, true);
        return { kind: IN.DHCP_RESTORE, body: concat(head, u64le(id), msg).subarray(0, cut === 0 ? 12 : undefined) };
      }),
  },
  { weight: 1, arbitrary: bytesArb(80).map((body) => ({ kind: IN.DHCP_SELF, body })) }, // MAC, 0, name; or short
  { weight: 1, arbitrary: fc.tuple(nodeIdArb, fc.nat(8)).map(([id, keep]) => ({ kind: IN.BAN, body: u64le(id).subarray(0, keep === 0 ? 5 : 8) })) }, // a removal; or short
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.integer({ min: 0, max: 0xffff }), flags: fc.integer({ min: 0, max: 0xffff }), body: bytesArb(40) }),
  },
);

// A record whose header length lies, or an input length that cuts a batch short or overflows.
const batchArb = fc.record({
  records: fc.array(recordArb, { minLength: 1, maxLength: 12 }),
  lie: fc.option(fc.record({ index: fc.nat(), len: fc.oneof(fc.nat(), fc.constant(0xffffffff)) }), { freq: 8 }),
  cut: fc.option(fc.oneof({ weight: 9, arbitrary: fc.nat() }, fc.constant(-1)), { freq: 8 }), // -1: past the capacity
});

const dtArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 100 }) },
  { weight: 3, arbitrary: fc.integer({ min: 100, max: 5_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 400_000 }) },
  { weight: 1, arbitrary: fc.constant(-1) }, // a host clock stepping back: the core must ignore it
);

const stepArb = fc.record({
  dt: dtArb,
  what: fc.oneof(
    { weight: 4, arbitrary: fc.record({ type: fc.constant("batch"), batch: batchArb }) },
    { weight: 3, arbitrary: fc.record({ type: fc.constant("frames"), frames: fc.array(frameArb, { minLength: 1, maxLength: 16 }) }) },
    { weight: 3, arbitrary: fc.record({ type: fc.constant("golden"), pick: fc.nat(), ops: fc.option(mutationArb, { freq: 6 }) }) },
    {
      weight: 4,
      arbitrary: fc.record({
        type: fc.constant("corpus"), from: addrArb, pick: fc.nat(), ops: fc.option(mutationArb, { freq: 3 }), fallback: datagramArb,
      }),
    },
    { weight: 2, arbitrary: fc.record({ type: fc.constant("offload"), tso: tsoArb }) },
    {
      weight: 3,
      arbitrary: fc.record({
        type: fc.constant("roundtrip"), pick: fc.nat(), ops: fc.option(mutationArb, { freq: 2 }), fresh: fc.option(messageArb, { freq: 2 }),
      }),
    },
  ),
});

// --- the fuzzer --------------------------------------------------------------

class Fuzzer {
  constructor(compiled, seed) {
    this.compiled = compiled;
    this.seed = seed;
    this.golden = [...HAND_FRAMES, ...DHCP_FRAMES, ...fixtureFrames()];
    this.corpus = []; // datagrams the core emitted: valid encodings of every message it sends
    this.messages = [];
    this.kept = 0;
    this.failures = [];
    this.roundtripTypes = new Map(); // message type -> round trips that decoded
    this.fresh();
  }

  /** A new core instance, configured and given an identity the same way every time. */
  fresh() {
    this.core = this.compiled.instantiate();
    this.now = 1;
    this.stats = new Map();
    if (this.core.call("abi_version") !== 2) throw new Error(`abi_version ${this.core.call("abi_version")}, expected 2`);
    if (!this.core.call("config_set", CONFIG_MAC_CAPACITY, MAC_CAPACITY)) throw new Error("config_set(MacCapacity) refused");
    for (const [k, v] of CONFIG_DHCP) if (!this.core.call("config_set", k, v)) throw new Error(`config_set(${k}) refused`);
    const random = Uint8Array.from({ length: 32 }, (_, i) => (this.seed * 31 + i * 97) & 0xff);
    const identity = concat(u64le(1n), addrSlot([198, 19, 0, 100], 4800), new TextEncoder().encode("fuzz"));
    this.process(
      [{ kind: IN.RANDOM, body: random }, { kind: IN.IDENTITY, body: identity }],
      this.now,
    );
    // Offload steps get a core of their own: its TAP has a virtio-net header and, kept out of the
    // random batches (leave, identity changes), it always has the peer the step makes alive.
    this.offloadCore = this.compiled.instantiate();
    if (!this.offloadCore.call("config_set", CONFIG_TAP_VNET_HDR, 1)) throw new Error("config_set(TapVnetHdr) refused");
    this.offloadCore.call("config_set", CONFIG_MAC_CAPACITY, MAC_CAPACITY); // push-pull walks the whole table
    this.process([{ kind: IN.RANDOM, body: random }, { kind: IN.IDENTITY, body: identity }], this.now, this.offloadCore);
  }

  process(records, now, core = this.core) {
    const bytes = new Uint8Array(recordsSize(records));
    writeRecords(bytes, records);
    return this.processBytes(bytes, now, bytes.length, core);
  }

  /** One process() call with every check; emitted datagrams join the corpus. */
  processBytes(bytes, now, len = bytes.length, core = this.core) {
    this.lastInput = { entry: core === this.core ? "process" : "offload", bytes, len, now };
    const outLen = core.processBytes(bytes, now, len);
    this.lastOutLen = outLen;
    const seen = new Set();
    for (const view of checkProcessOutput(core, outLen)) {
      const type = view[1] === 0x02 ? 0x200 | view[6] : view[1]; // a compound by its first item's type
      if (seen.has(type)) continue;
      seen.add(type);
      const dg = view.slice();
      this.keep(this.corpus, CORPUS_MAX, dg);
      for (const msg of splitDatagram(dg)) {
        this.keep(this.messages, MESSAGES_MAX, msg);
        this.roundtrip(msg, true); // what the core encoded must decode and re-encode to the same bytes
      }
      if (seen.size >= KEEP_PER_CALL) break;
    }
  }

  /** Appends to a bounded corpus, replacing the oldest entries once full. */
  keep(list, max, item) {
    if (list.length < max) list.push(item);
    else list[this.kept++ % max] = item;
  }

  /**
   * decode(encode(x)) == x through codec_roundtrip. The core's own messages are
   * encode(x): they must come back byte for byte (`emitted`). Other input may
   * decode leniently (ignored flags, appended fields): its re-encoding y is
   * encode(decode(b)), so y must come back byte for byte.
   */
  roundtrip(msg, emitted) {
    if (!this.core.has("codec_roundtrip")) return;
    const saved = this.lastInput;
    this.lastInput = { entry: emitted ? "roundtrip" : "lenient", bytes: msg, len: msg.length, now: this.now };
    const type = `0x${(msg[0] ?? 0).toString(16).padStart(2, "0")}`;
    const once = this.codecRoundtrip(msg);
    if (emitted && once === null) throw new Error(`codec_roundtrip rejected a type ${type} message the core emitted`);
    const expected = emitted ? msg : once;
    if (once !== null) {
      this.roundtripTypes.set(msg[0], (this.roundtripTypes.get(msg[0]) ?? 0) + 1);
      const again = emitted ? once : this.codecRoundtrip(once);
      if (again === null || !Buffer.from(again).equals(Buffer.from(expected))) {
        throw new Error(`codec_roundtrip: type ${type} message of ${expected.length} bytes re-encodes to ${again ? `${again.length} different bytes` : "a rejected message"}`);
      }
    }
    this.lastInput = saved;
  }

  /** One codec_roundtrip call: the re-encoded bytes (a copy), or null when rejected. */
  codecRoundtrip(msg) {
    this.core.input.set(msg);
    const n = this.core.call("codec_roundtrip", msg.length);
    if (!(n >= 0 && n <= this.core.outputCapacity)) throw new Error(`codec_roundtrip returned ${n}`);
    return n === 0 ? null : this.core.output(n).slice();
  }

  pick(list, i) { return list[i % list.length]; }

  step({ dt, what }) {
    this.now = dt < 0 ? this.now - 1 : this.now + dt;
    const now = this.now;
    switch (what.type) {
      case "batch": {
        const { records, lie, cut } = what.batch;
        const bytes = new Uint8Array(recordsSize(records));
        let len = writeRecords(bytes, records);
        if (lie) {
          let off = 0;
          for (let i = 0; i < lie.index % records.length; i++) off += alignUp(REC_HEADER + records[i].body.length);
          new DataView(bytes.buffer).setUint32(off + 4, lie.len, true);
        }
        if (cut !== null) len = cut < 0 ? this.core.inputCapacity + 1 : Math.min(len, cut);
        return this.processBytes(bytes, now, len);
      }
      case "frames":
        return this.process(what.frames.map((body) => ({ kind: IN.FRAME, body })), now);
      case "golden": {
        const seed = this.pick(this.golden, what.pick);
        const body = what.ops ? mutate(seed, what.ops, (i) => this.pick(this.golden, i)) : seed;
        return this.process([{ kind: IN.FRAME, body }], now);
      }
      case "corpus": {
        const dg = this.corpus.length
          ? mutate(this.pick(this.corpus, what.pick), what.ops ?? [], (i) => this.pick(this.corpus, i))
          : what.fallback;
        return this.process([{ kind: IN.DATAGRAM, body: concat(what.from, dg) }], now);
      }
      case "offload":
        return this.offload(what.tso, now);
      case "roundtrip": {
        let msg = what.fresh;
        if (!msg) {
          const messages = this.messages;
          msg = messages.length ? this.pick(messages, what.pick) : Uint8Array.of(0);
          if (what.ops) msg = mutate(msg, what.ops, (i) => this.pick(messages.length ? messages : [msg], i));
        }
        return this.roundtrip(msg.subarray(0, this.core.inputCapacity), false);
      }
    }
  }

  /** The output records of the last process() call on `core` (views, valid until the next call). */
  lastRecords(core) {
    return readRecords(core.output(this.lastOutLen), this.lastOutLen).records;
  }

  /**
   * A TSO frame from a TAP with a virtio-net header: every segment must be a valid TCP/IP packet
   * that fits; unmutated, the segments to each peer carry the payload in order. The segments to
   * one peer are then fed back as its datagrams: every GSO frame written to the TAP must be
   * consistent and, when the segments came back unchanged and joined into one, carry the payload.
   */
  offload(p, now) {
    const { rec, payload } = tsoRecord(p);
    const core = this.offloadCore;
    this.offloadIncarnation = (this.offloadIncarnation ?? 0) + 1;
    const alive = aliveDatagram(OFFLOAD_PEER.id, OFFLOAD_PEER.slot, this.offloadIncarnation);
    this.process([{ kind: IN.DATAGRAM, body: concat(OFFLOAD_PEER.slot, alive) }, { kind: IN.FRAME, body: rec }], now, core);
    const byPeer = new Map();
    for (const r of this.lastRecords(core)) {
      if (r.kind !== OUT.DATAGRAM || r.body[21] !== 0x01) continue; // FRAME datagrams only (gossip may go out too)
      const key = Buffer.from(r.body.subarray(0, 20)).toString("hex");
      const dg = r.body.slice(20);
      const seg = checkSegment(dg, MAX_DATAGRAM, !p.mutate);
      if (!byPeer.has(key)) byPeer.set(key, { addr: r.body.slice(0, 20), dgs: [], segs: [] });
      byPeer.get(key).dgs.push(dg);
      byPeer.get(key).segs.push(seg);
    }
    if (byPeer.size === 0) return;
    for (const { segs } of byPeer.values()) {
      if (p.mutate) break;
      const got = concat(...segs.map((s) => s.payload));
      if (got.length !== payload.length) continue; // the output filled up (counted)
      if (!equalBytes(got, payload)) fail("TSO segments do not carry the frame's payload in order");
      let off = 0;
      segs.forEach((s, i) => {
        if (s.seq !== ((p.seq + off) >>> 0)) fail(`TSO segment ${i} seq ${s.seq}, expected ${(p.seq + off) >>> 0}`);
        if (i < segs.length - 1 && (s.flags & 0x09) !== 0) fail(`TSO segment ${i} of ${segs.length} has PSH or FIN`);
        if (i > 0 && (s.flags & 0x80) !== 0) fail(`TSO segment ${i} has CWR`);
        off += s.payload.length;
      });
    }
    const ours = byPeer.get(Buffer.from(OFFLOAD_PEER.slot).toString("hex"));
    const { addr, dgs, segs } = ours ?? byPeer.values().next().value;
    const flip = p.flipSegment === null ? -1 : p.flipSegment % dgs.length;
    const back = dgs.map((dg, i) => {
      const d = dg.slice();
      if (i === flip) d[d.length - 1] ^= 0x5a;
      return { kind: IN.DATAGRAM, body: concat(addr, d) };
    });
    this.process(back, now, core);
    const gso = [];
    for (const r of this.lastRecords(core)) if (r.kind === OUT.FRAME && r.body[1] !== 0) gso.push(checkGsoFrame(r.body));
    const fed = concat(...segs.map((s) => s.payload));
    if (gso.length === 1 && flip < 0 && !p.mutate && gso[0].length === fed.length && !equalBytes(gso[0], fed)) {
      fail("the coalesced frame does not carry the segments' payload");
    }
    this.offloadFrames = (this.offloadFrames ?? 0) + gso.length;
  }

  /** Runs one iteration; on failure saves the input and re-instantiates after a trap. */
  iterate(step, iteration) {
    try {
      this.step(step);
      if (iteration % STATS_EVERY === 0) this.checkTables();
    } catch (e) {
      this.fail(e, iteration);
    }
  }

  checkTables() {
    this.lastInput = { entry: "stats_dump", bytes: new Uint8Array(0), len: 0, now: this.now };
    this.stats = checkStats(this.core, this.stats);
    if (this.core.has("macs_dump")) checkMacs(this.core, MAC_CAPACITY);
    if (this.core.has("members_dump")) checkMembers(this.core);
    if (this.core.has("paths_dump")) checkPaths(this.core);
    if (this.core.has("dhcp_save")) this.restoreSaved(checkDhcpSave(this.core));
  }

  /**
   * The saved DHCP state given back to the core that saved it is no news: its own tokens and lease versions.
   * (Given as saved as long ago as can be: an expired lease, saved with 0 ms left, would come back expiring
   * when it was saved, later than it did; fuzzed restores may have set expiries far in the past.)
   */
  restoreSaved(chunks) {
    const elapsed = new Uint8Array(8);
    new DataView(elapsed.buffer).setFloat64(0, Number.MAX_VALUE, true);
    const before = this.stats.get("dhcp_restored") ?? 0;
    this.process(chunks.map((c) => ({ kind: IN.DHCP_RESTORE, body: concat(elapsed, c) })), this.now);
    const after = checkStats(this.core, this.stats);
    if ((after.get("input_malformed") ?? 0) !== (this.stats.get("input_malformed") ?? 0)) fail("dhcp_save's own chunks were malformed as IN_DHCP_RESTORE");
    this.stats = after;
    if ((after.get("dhcp_restored") ?? 0) !== before) fail("restoring dhcp_save's chunks was news");
  }

  fail(error, iteration) {
    if (!this.lastInput) throw error;
    const { entry, bytes, len, now } = this.lastInput;
    const name = `${entry}-s${this.seed}-i${iteration}`;
    const file = new URL(`${name}.bin`, FAILURES_DIR);
    mkdirSync(FAILURES_DIR, { recursive: true });
    writeFileSync(file, bytes.subarray(0, Math.max(len, 0)));
    const alone = replayAlone(this.compiled, entry, bytes.subarray(0, len), now);
    const reproduce = alone
      ? `npm run fuzz -- --replay tests/fuzz/failures/${name}.bin`
      : `npm run fuzz -- --seed ${this.seed} --runs ${iteration + 1}   # needs the history before it`;
    console.error(`FAIL iteration ${iteration}${error.trap ? " (trap)" : ""}: ${error.message}\n  input: tests/fuzz/failures/${name}.bin\n  reproduce: ${reproduce}`);
    this.failures.push(error.message);
    this.fresh();
  }
}

/** Re-runs one input on a fresh core; returns the error it raises, or null. */
function replayAlone(compiled, entry, bytes, now) {
  const f = new Fuzzer(compiled, 0);
  try {
    if (entry === "roundtrip" || entry === "lenient") f.roundtrip(bytes, entry === "roundtrip");
    else if (entry === "process") f.processBytes(bytes, Math.max(now, f.now));
    else if (entry === "offload") f.processBytes(bytes, Math.max(now, f.now), bytes.length, f.offloadCore);
    else f.checkTables();
    return null;
  } catch (e) {
    return e;
  }
}

function main() {
  const compiled = compileCore(opts.release ? "release" : "debug");
  if (opts.replay) {
    const entry = basename(opts.replay).split("-")[0];
    const error = replayAlone(compiled, entry, new Uint8Array(readFileSync(opts.replay)), 1);
    console.log(error ? `reproduced: ${error.message}` : "no failure: the input passes on a fresh core");
    process.exit(error ? 1 : 0);
  }
  const seed = opts.seed !== undefined ? Number(opts.seed) : (Date.now() ^ (Math.random() * 2 ** 31)) >>> 0;
  const runs = opts.runs !== undefined ? Number(opts.runs) : Infinity;
  const deadline = opts.runs !== undefined ? Infinity : Date.now() + Number(opts.seconds) * 1000;
  console.log(`fuzz: ${compiled.build} core, seed ${seed}, ${opts.runs ? `${runs} iterations` : `${opts.seconds} s`}`);
  const fuzzer = new Fuzzer(compiled, seed);
  const start = performance.now();
  let iteration = 0;
  outer: for (let chunk = 0; ; chunk++) {
    const steps = fc.sample(stepArb, { seed: (seed + chunk * 0x9e3779b9) | 0, numRuns: CHUNK });
    for (const step of steps) {
      if (iteration >= runs || Date.now() >= deadline || fuzzer.failures.length >= MAX_FAILURES) break outer;
      fuzzer.iterate(step, iteration++);
    }
  }
  const seconds = (performance.now() - start) / 1000;
  const missing = ["codec_roundtrip", "macs_dump", "members_dump"].filter((e) => !fuzzer.core.has(e));
  console.log(
    `fuzz: ${iteration} iterations in ${seconds.toFixed(1)} s (${Math.round(iteration / seconds)}/s), ` +
      `${fuzzer.corpus.length} emitted datagrams in the corpus, ${fuzzer.failures.length} failures` +
      (missing.length ? `; core lacks ${missing.join(", ")}: those checks did not run` : ""),
  );
  const types = [...fuzzer.roundtripTypes].sort(([a], [b]) => a - b).map(([t, n]) => `0x${t.toString(16).padStart(2, "0")}=${n}`);
  console.log(`fuzz: messages that decoded and round-tripped, by type: ${types.join(" ") || "none"}`);
  const tables = [
    fuzzer.core.has("members_dump") && `${checkMembers(fuzzer.core)} members`,
    fuzzer.core.has("macs_dump") && `${checkMacs(fuzzer.core, MAC_CAPACITY)} MAC entries`,
  ].filter(Boolean);
  console.log(`fuzz: ${fuzzer.offloadFrames ?? 0} coalesced GSO frames written to the TAP from fed-back TSO segments`);
  if (tables.length) console.log(`fuzz: the core now holds ${tables.join(", ")}`);
  const counters = [...checkStats(fuzzer.core, new Map())].filter(([, v]) => v > 0);
  console.log(`fuzz: core counters since the last (re)start: ${counters.map(([k, v]) => `${k}=${v}`).join(" ")}`);
  process.exit(fuzzer.failures.length ? 1 : 0);
}

main();
