// What signed MAC claims cost (issue 16; docs/mactable.md "Signed claims"), printed:
//   1. the MAC table's memory with the owners' signatures, at first use and full at its default
//      capacity (the release core alone; process RSS and WASM memory);
//   2. gossip bytes per MAC move, in simulated switches of several sizes (every MAC_UPDATE item in
//      every datagram, counted on the simulated wire);
//   3. how often claims are signed and checked at steady state, and while only frames flow (the
//      data path): the claim imports are counted.
//
//   npm run bench:claims [-- --json]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { claimStubImports } from "../fixtures/claims-stub.mjs";
import { compileCore } from "../fuzz/core.mjs";
import { IN, addrSlot, concat } from "../fuzz/records.mjs";
import { Cluster } from "../sim/cluster.mjs";
import { IN_FRAME } from "../sim/core.mjs";
import { signedAlive, signedMacUpdate } from "./signed.mjs";

const { values: opts } = parseArgs({ options: { json: { type: "boolean", default: false } } });

const MSG_COMPOUND = 0x02, MSG_MAC_UPDATE = 0x20;
const MAC_FORM_LEN = 22; // assembly/wire/macmsg.ts MAC_FORM_LEN: a MAC claim's signed form
const TRAILER = 96; // key + signature
const CAPACITY = 65536; // assembly/config.ts macCapacity, the default
const OWNERS = 16;
const rssKiB = () => Number(readFileSync("/proc/self/status", "utf8").match(/VmRSS:\s+(\d+)/)[1]);
const mib = (bytes) => Math.round((bytes / 1048576) * 10) / 10;

function mac(i, remote) {
  return Uint8Array.of(0x02, remote ? 0x01 : 0x00, (i >>> 24) & 0xff, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff);
}

function u64be(v) { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v)); return b; }

function broadcastFrame(src) {
  const f = new Uint8Array(60);
  f.fill(0xff, 0, 6);
  f.set(src, 6);
  f[12] = 0x08; f[13] = 0x06;
  return f;
}

/**
 * 1. The table's memory: first use, then full of other members' signed claims (copies, which are not
 * relayed: the broadcast queue stays out of the figure).
 */
function tableMemory() {
  const core = compileCore("release").instantiate();
  const wasm = () => core.exports.memory.buffer.byteLength;
  const identity = concat(u64be(1).reverse(), addrSlot([198, 19, 0, 1], 4800));
  core.processRecords([{ kind: IN.RANDOM, body: new Uint8Array(32).fill(7) }, { kind: IN.IDENTITY, body: identity }], 1);
  const peer = (o) => addrSlot([198, 19, 0, o], 4800);
  core.processRecords(Array.from({ length: OWNERS }, (_, k) => ({ kind: IN.DATAGRAM, body: concat(peer(k + 2), signedAlive(k + 2, peer(k + 2))) })), 2);
  const rss0 = rssKiB(), wasm0 = wasm();
  core.processRecords([{ kind: IN.FRAME, body: broadcastFrame(mac(0, false)) }], 3);
  const rss1 = rssKiB(), wasm1 = wasm();
  for (let k = 1; k < CAPACITY; k += 256) {
    const n = Math.min(256, CAPACITY - k);
    core.processRecords(Array.from({ length: n }, (_, j) => ({ kind: IN.DATAGRAM, body: concat(peer(2 + ((k + j) % OWNERS)), signedMacUpdate(mac(k + j, true), 2 + ((k + j) % OWNERS), false)) })), 5);
  }
  let entries = 0, from = 0;
  do {
    const len = core.call("macs_dump", from);
    for (let off = 0; off < len; ) { entries++; off += (8 + new DataView(core.output(len).buffer, core.output(len).byteOffset + off + 4, 4).getUint32(0, true) + 7) & ~7; }
    from = core.call("macs_dump_next");
  } while (from !== 0);
  const wasm2 = wasm();
  const slots = 2 * CAPACITY;
  return {
    capacity: CAPACITY, slots, entries,
    firstUse: { rssMiB: mib((rss1 - rss0) * 1024), wasmMiB: mib(wasm1 - wasm0) },
    full: { wasmMiB: mib(wasm2 - wasm0) },
    // The table's arrays per slot: key 8, owner 8, version 4, seen 8, kind 1 (+ 4: the signature reference).
    unsignedTableMiB: mib(slots * 29),
    signaturePerSlotTableMiB: mib(slots * (29 + 64 + 1)),
    signedTableMiB: mib(slots * 33 + CAPACITY * 64),
  };
}

/** Counting claim imports over the stand-in: MAC claims are the 118-byte form, the rest member info. */
function countingIdentity(id, calls) {
  return {
    id,
    claims: (buffer) => {
      const stub = claimStubImports(buffer);
      return {
        claim_sign: (ptr, len) => { calls[len === MAC_FORM_LEN + TRAILER ? "macSign" : "otherSign"]++; return stub.claim_sign(ptr, len); },
        claim_verify: (ptr, len) => { calls[len === MAC_FORM_LEN + TRAILER ? "macVerify" : "otherVerify"]++; return stub.claim_verify(ptr, len); },
      };
    },
  };
}

/** MAC_UPDATE items in a DiVS datagram: [{bytes, mac (12 hex digits)}]. */
function macItems(data) {
  const out = [];
  const take = (p, n) => {
    if (data[p] === MSG_MAC_UPDATE && n >= 22) out.push({ bytes: n, mac: Buffer.from(data.subarray(p + 4, p + 10)).toString("hex") });
  };
  if (data[1] !== MSG_COMPOUND) { take(1, data.length - 1); return out; }
  let p = 4;
  for (let k = 0; k < data[2] && p + 2 <= data.length; k++) {
    const n = (data[p] << 8) | data[p + 1];
    take(p + 2, n);
    p += 2 + n;
  }
  return out;
}

/** 2 and 3 in a switch of `n` nodes with `macsPerNode` MACs each. */
function gossip(n, macsPerNode) {
  const calls = { macSign: 0, macVerify: 0, otherSign: 0, otherVerify: 0 };
  const cluster = new Cluster({ nodes: n, seed: 7, identity: (i) => countingIdentity(BigInt(0x1000 + i), calls) });
  const wire = cluster.wire.bind(cluster);
  let watch = null;
  const moved = { items: 0, bytes: 0, itemsAll: 0, bytesAll: 0 };
  cluster.wire = (from, dst, pkt) => {
    for (const it of macItems(pkt.data)) {
      moved.itemsAll++; moved.bytesAll += it.bytes + 2;
      if (it.mac === watch) { moved.items++; moved.bytes += it.bytes + 2; } // + the compound item length
    }
    return wire(from, dst, pkt);
  };
  const macOf = (i, k) => `02bb${i.toString(16).padStart(4, "0")}${k.toString(16).padStart(4, "0")}`;
  cluster.start(0);
  for (let i = 1; i < n; i++) { cluster.run(i * 20); cluster.start(i, [0]); }
  cluster.run(cluster.now + 10_000);
  for (let i = 0; i < n; i++) for (let k = 0; k < macsPerNode; k++) cluster.frame(i, macOf(i, k));
  cluster.run(cluster.now + 60_000);
  // Steady state: the owners' refreshes (every macAgeingMs / 3 = 100 s) and push-pulls, 5 minutes.
  const SteadyMs = 300_000;
  for (const k of Object.keys(calls)) calls[k] = 0;
  moved.itemsAll = 0; moved.bytesAll = 0;
  for (let t = 0; t < SteadyMs; t += 1000) {
    for (let i = 0; i < n; i++) for (let k = 0; k < macsPerNode; k++) if (t % 30_000 === 0) cluster.frame(i, macOf(i, k)); // hosts speak
    cluster.run(cluster.now + 1000);
  }
  const perNodePerSec = (x) => Math.round((x / n / (SteadyMs / 1000)) * 1000) / 1000;
  const steady = {
    macSignsPerNodePerSec: perNodePerSec(calls.macSign), macVerifiesPerNodePerSec: perNodePerSec(calls.macVerify),
    memberSignsPerNodePerSec: perNodePerSec(calls.otherSign), memberVerifiesPerNodePerSec: perNodePerSec(calls.otherVerify),
    macGossipBytesPerNodePerSec: Math.round(moved.bytesAll / n / (SteadyMs / 1000)),
  };
  // The data path: unicast frames between every pair's MACs, no claim work expected.
  for (const k of Object.keys(calls)) calls[k] = 0;
  let frames = 0;
  for (let r = 0; r < 20; r++) {
    for (let i = 0; i < n; i++) {
      const j = (i + 1 + r) % n;
      const f = new Uint8Array(100);
      f.set(Buffer.from(macOf(j, 0), "hex"), 0);
      f.set(Buffer.from(macOf(i, 0), "hex"), 6);
      f[12] = 0x08;
      cluster.input(i, IN_FRAME, [f]);
      frames++;
    }
    cluster.run(cluster.now + 5);
  }
  const dataPath = { frames, claimCalls: calls.macSign + calls.macVerify + calls.otherSign + calls.otherVerify };
  // One move: a MAC of node 1 its TAP has not seen for a while (not one of the data path's) appears behind node 2.
  watch = macOf(1, 1);
  moved.items = 0; moved.bytes = 0;
  for (const k of Object.keys(calls)) calls[k] = 0;
  cluster.frame(2, watch);
  cluster.run(cluster.now + 10_000);
  const move = {
    items: moved.items, bytes: moved.bytes, bytesPerMember: Math.round(moved.bytes / n),
    unsignedBytes: moved.items * 24, macSigns: calls.macSign, macVerifies: calls.macVerify,
  };
  return { nodes: n, macsPerNode, steady, dataPath, move };
}

const memory = tableMemory();
const switches = [[10, 20], [30, 20], [100, 10]].map(([n, m]) => gossip(n, m));
if (opts.json) {
  console.log(JSON.stringify({ memory, switches }, null, 2));
} else {
  console.log(`MAC table, default capacity ${memory.capacity} (${memory.slots} slots), release core:`);
  console.log(`  first learnt MAC: +${memory.firstUse.rssMiB} MiB RSS (+${memory.firstUse.wasmMiB} MiB WASM memory)`);
  console.log(`  full (${memory.entries} entries, all but one claimed by ${OWNERS} members, every one signed): +${memory.full.wasmMiB} MiB WASM memory (all of it touched: the core zeroes what it allocates)`);
  console.log(`  arrays: ${memory.unsignedTableMiB} MiB unsigned; ${memory.signedTableMiB} MiB full with the signature pool; ` +
    `${memory.signaturePerSlotTableMiB} MiB had each slot kept 64 bytes (all of it touched at the first MAC)`);
  console.table(switches.map((s) => ({
    nodes: s.nodes, "MACs": s.nodes * s.macsPerNode,
    "move: MAC_UPDATEs sent": s.move.items, "move: bytes": s.move.bytes, "move: bytes/member": s.move.bytesPerMember,
    "move: bytes unsigned": s.move.unsignedBytes, "move: signs": s.move.macSigns, "move: checks": s.move.macVerifies,
    "steady: MAC signs/node/s": s.steady.macSignsPerNodePerSec, "steady: MAC checks/node/s": s.steady.macVerifiesPerNodePerSec,
    "steady: MAC gossip B/node/s": s.steady.macGossipBytesPerNodePerSec,
    "data path: frames": s.dataPath.frames, "data path: claim calls": s.dataPath.claimCalls,
  })));
}
