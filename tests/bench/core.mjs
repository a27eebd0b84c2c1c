// Microbenchmark of the core's per-frame path through the ABI: IN_FRAME records
// written into the input region, then process() (parse + learn + lookup +
// forwarding decision). Printed next to the ceiling measured in the same run:
// a plain Uint8Array.prototype.set of the same record bytes into the same
// region, which every host pays anyway.
//
//   npm run bench:core [-- --ms 500] [--json]
import { parseArgs } from "node:util";
import { compileCore } from "../fuzz/core.mjs";
import { IN, WIRE_VERSION, addrSlot, alignUp, concat, readRecords, writeRecords } from "../fuzz/records.mjs";
import { signedAlive, signedMacUpdate } from "./signed.mjs";

const { values: opts } = parseArgs({
  options: { ms: { type: "string", default: "500" }, json: { type: "boolean", default: false } },
});
const MEASURE_MS = Number(opts.ms);

const TABLE_SIZES = [10_000, 100_000];
const FRAME_SIZES = [64, 1500];
const BATCHES = [64, 1]; // frames per process() call
const DISTINCT_FRAMES = 4096; // cycled, so lookups land all over the table
const OWNERS = 16; // remote nodes owning the gossiped half of the table
const CONFIG = { MacCapacity: 2, MaxDatagram: 3 }; // assembly/config.ts keys
const MSG_PMTU_PROBE = 0x30;
const MSG_PMTU_ACK = 0x31;

/** MAC number i as 6 bytes: locally administered unicast (02:...). */
function mac(i, remote) {
  return Uint8Array.of(0x02, remote ? 0x01 : 0x00, (i >>> 24) & 0xff, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff);
}

/** An IPv4/UDP-looking frame of `size` bytes from `src` to `dst`. */
function frame(dst, src, size) {
  const f = new Uint8Array(size);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x08; // IPv4
  for (let i = 14; i < size; i++) f[i] = i & 0xff;
  return f;
}

/** Feeds `records` in batches that fit the input region; returns the last call's output length. */
function feed(core, records, now) {
  let batch = [];
  let size = 0;
  let len = 0;
  const flush = () => {
    if (batch.length) len = core.processRecords(batch, now);
    batch = [];
    size = 0;
  };
  for (const r of records) {
    const n = alignUp(8 + r.body.length);
    if (size + n > core.inputCapacity) flush();
    batch.push(r);
    size += n;
  }
  flush();
  return len;
}

function stats(core) {
  const len = core.call("stats_dump");
  const out = new Map();
  for (const r of readRecords(core.output(len), len).records) {
    out.set(Buffer.from(r.body.subarray(8)).toString(), new DataView(r.body.buffer, r.body.byteOffset, 8).getFloat64(0, true));
  }
  return out;
}

function tableEntries(core) {
  if (!core.has("macs_dump")) return null;
  let n = 0;
  let from = 0;
  do {
    const len = core.call("macs_dump", from);
    n += readRecords(core.output(len), len).records.length;
    from = core.call("macs_dump_next");
  } while (from !== 0);
  return n;
}

/** Answers each PMTU_PROBE in the output (`len` bytes) with its PMTU_ACK from the probed peer (docs/wire.md). */
function answerProbes(core, len, now) {
  const acks = [];
  for (const r of readRecords(core.output(len), len).records) {
    const dg = r.body.subarray(20);
    if (r.kind !== 2 || dg[1] !== MSG_PMTU_PROBE) continue;
    const ack = Uint8Array.of(WIRE_VERSION, MSG_PMTU_ACK, dg[2], dg[3], dg[4], dg[5], dg.length >> 8, dg.length & 0xff);
    acks.push({ kind: IN.DATAGRAM, body: concat(r.body.slice(0, 20), ack) });
  }
  if (acks.length === 0) throw new Error("no path MTU probe to answer");
  core.processRecords(acks, now);
}

/**
 * A core whose table holds `entries` MACs: half learnt from TAP frames, half
 * claimed through MAC_UPDATE by OWNERS peers it was told are alive (ALIVE).
 */
function populatedCore(compiled, entries) {
  const core = compiled.instantiate();
  core.call("config_set", CONFIG.MacCapacity, entries * 2);
  core.call("config_set", CONFIG.MaxDatagram, 1600); // let 1500-byte frames through
  const identity = concat(new Uint8Array(8).fill(0).map((_, i) => (i === 0 ? 1 : 0)), addrSlot([198, 19, 0, 1], 4800));
  core.processRecords([{ kind: IN.RANDOM, body: new Uint8Array(32).fill(7) }, { kind: IN.IDENTITY, body: identity }], 1);
  const peer = (owner) => addrSlot([198, 19, 0, owner], 4800);
  const peers = [];
  for (let o = 2; o < 2 + OWNERS; o++) peers.push({ kind: IN.DATAGRAM, body: concat(peer(o), signedAlive(o, peer(o))) });
  answerProbes(core, feed(core, peers, 1.5), 1.6); // every path carries 1500-byte frames
  const half = entries / 2;
  const learn = [];
  const gossip = [];
  for (let i = 0; i < half; i++) {
    learn.push({ kind: IN.FRAME, body: frame(mac(0, true), mac(i, false), 64) });
    const owner = 2 + (i % OWNERS);
    gossip.push({ kind: IN.DATAGRAM, body: concat(peer(owner), signedMacUpdate(mac(i, true), owner, true)) });
  }
  feed(core, learn, 2);
  feed(core, gossip, 3);
  return core;
}

/** Record batches of `batch` frames of `size` bytes: local sources, destinations across the gossiped half. */
function batches(entries, size, batch) {
  const half = entries / 2;
  const out = [];
  for (let b = 0; b < DISTINCT_FRAMES / batch; b++) {
    const records = [];
    for (let j = 0; j < batch; j++) {
      const k = b * batch + j;
      const src = mac((k * 7919) % half, false);
      const dst = mac((k * 104729) % half, true);
      records.push({ kind: IN.FRAME, body: frame(dst, src, size) });
    }
    const bytes = new Uint8Array(records.length * alignUp(8 + size));
    out.push(bytes.subarray(0, writeRecords(bytes, records)));
  }
  return out;
}

/** Runs `fn(i)` until MEASURE_MS elapse (after a warm-up); returns ns per call. */
function time(fn) {
  for (let i = 0; i < 2000; i++) fn(i);
  let calls = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(MEASURE_MS * 1e6);
  let now = start;
  while (now < end) {
    for (let i = 0; i < 256; i++) fn(calls++);
    now = process.hrtime.bigint();
  }
  return Number(now - start) / calls;
}

const DECISIONS = [
  "frames_unicast", "frames_flooded", "frames_local_dst", "frames_too_big", "frames_truncated", "frames_bad_source",
];

function main() {
  const compiled = compileCore("release");
  const rows = [];
  for (const entries of TABLE_SIZES) {
    const core = populatedCore(compiled, entries);
    const held = tableEntries(core);
    if (held !== null && held !== entries) throw new Error(`table holds ${held} entries, expected ${entries}`);
    for (const size of FRAME_SIZES) {
      for (const batch of BATCHES) {
        const bufs = batches(entries, size, batch);
        let clock = 10;
        const input = core.input; // the memory does not grow during process(): checked below
        const buffer = core.exports.memory.buffer;
        const before = stats(core);
        const coreNs = time((i) => {
          const b = bufs[i % bufs.length];
          input.set(b);
          core.exports.process(b.length, (clock += 0.001));
        });
        if (core.exports.memory.buffer !== buffer) throw new Error("memory grew during the run; input view went stale");
        const after = stats(core);
        const ceilingNs = time((i) => input.set(bufs[i % bufs.length]));
        const frames = after.get("frames_from_tap") - before.get("frames_from_tap");
        const path = DECISIONS.map((d) => [d.replace("frames_", ""), (after.get(d) ?? 0) - (before.get(d) ?? 0)])
          .filter(([, n]) => n > 0)
          .map(([d, n]) => `${d} ${Math.round((100 * n) / frames)}%`)
          .join(", ");
        rows.push({
          table: entries, frameBytes: size, framesPerCall: batch,
          coreNsPerFrame: coreNs / batch, coreFramesPerSec: (1e9 * batch) / coreNs,
          copyNsPerFrame: ceilingNs / batch, copyFramesPerSec: (1e9 * batch) / ceilingNs,
          coreOverCopy: coreNs / ceilingNs, decisions: path,
        });
      }
    }
  }
  if (opts.json) {
    console.log(JSON.stringify({ build: "release", measureMs: MEASURE_MS, rows }, null, 2));
    return;
  }
  const fmt = (n, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
  const table = rows.map((r) => ({
    "table MACs": fmt(r.table), "frame B": r.frameBytes, "frames/call": r.framesPerCall,
    "core ns/frame": fmt(r.coreNsPerFrame, 1), "core frames/s": fmt(r.coreFramesPerSec),
    "copy ns/frame": fmt(r.copyNsPerFrame, 1), "copy frames/s": fmt(r.copyFramesPerSec),
    "core/copy": `${fmt(r.coreOverCopy, 1)}x`, decisions: r.decisions,
  }));
  console.log(`core microbenchmark (release build, ${MEASURE_MS} ms per row; copy = Uint8Array.prototype.set of the same records)`);
  console.table(table);
}

main();
