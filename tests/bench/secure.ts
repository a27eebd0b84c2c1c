// Benchmark of the transport layer (host/common/secure on node:crypto), one core:
// - handshakes per second one responder answers (HS_INIT -> HS_CHALLENGE, HS_CONFIRM -> session),
//   and how fast it drops forged handshake packets;
// - seal+open per datagram for 64 and 1400 bytes, next to a plain Uint8Array copy and to the bare
//   provider AEAD measured in the same run;
// - the two AEAD paths (the JavaScript routine and node:crypto) per size, warm (back to back) and
//   cold (the first operation after 20 ms idle, as between pings), which sets SMALL_AEAD_MAX.
// Run: npm run bench:secure
import { createSecretKey } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { addressKey, encodeAddress } from "../../host/common/address.ts";
import * as smallAead from "../../host/common/secure/chacha20poly1305.ts";
import { Keyring } from "../../host/common/secure/keyring.ts";
import { SecureTransport } from "../../host/common/secure/transport.ts";
import { bulkOpen, bulkSeal, nodeCrypto as crypto, SMALL_AEAD_MAX, smallOpen } from "../../host/node/crypto.ts";

const UNLIMITED = { rateLimitPerSecond: 1e9, rateLimitBurst: 1e9 };
const key = new Uint8Array(32);
crypto.randomFill(key);

function endpoint(i: number) {
  const ip = ((198 << 24) | (19 << 16) | i) >>> 0;
  const addr = new Uint8Array(18);
  encodeAddress(ip, 4789, addr);
  return { key: addressKey(ip, 4789), addr };
}

function ms(t0: number): number {
  return performance.now() - t0;
}

function handshakes(n: number): void {
  const responderAt = endpoint(1);
  const responder = new SecureTransport(crypto, new Keyring(crypto, key), 0, UNLIMITED);
  const initiators = Array.from({ length: n }, (_, i) => ({
    at: endpoint(1000 + i),
    t: new SecureTransport(crypto, new Keyring(crypto, key), 0, UNLIMITED),
  }));
  let t0 = performance.now();
  const inits = initiators.map((x) => x.t.outgoing(responderAt.key, responderAt.addr, new Uint8Array(0), 0)[0].data);
  const initiatorStart = ms(t0);

  t0 = performance.now();
  const challenges = inits.map((p, i) => responder.incoming(initiators[i].at.key, initiators[i].at.addr, p, 0).transmits[0].data);
  const answerInit = ms(t0);

  t0 = performance.now();
  const confirms = challenges.map((p, i) => initiators[i].t.incoming(responderAt.key, responderAt.addr, p, 0).transmits[0].data);
  const initiatorFinish = ms(t0);

  t0 = performance.now();
  for (let i = 0; i < n; i++) responder.incoming(initiators[i].at.key, initiators[i].at.addr, confirms[i], 0);
  const answerConfirm = ms(t0);
  if (responder.sessionCount() !== n) throw new Error(`only ${responder.sessionCount()} of ${n} handshakes completed`);

  // Forged packets: an HS_INIT under a key the responder lacks, and one with its key id but a bad mac.
  const forged = Uint8Array.from(inits[0]);
  forged[20] ^= 1;
  const stranger = new SecureTransport(crypto, new Keyring(crypto, new Uint8Array(32).fill(9)), 0, UNLIMITED);
  const unknownKey = stranger.outgoing(responderAt.key, responderAt.addr, new Uint8Array(0), 0)[0].data;
  const reps = 50_000;
  t0 = performance.now();
  for (let i = 0; i < reps; i++) responder.incoming(initiators[0].at.key, initiators[0].at.addr, forged, 0);
  const badMac = ms(t0);
  t0 = performance.now();
  for (let i = 0; i < reps; i++) responder.incoming(initiators[0].at.key, initiators[0].at.addr, unknownKey, 0);
  const badKey = ms(t0);

  const perResponder = (answerInit + answerConfirm) / n;
  console.log(`handshakes (${n}, responder side, INIT->CHALLENGE + CONFIRM->session):`);
  console.log(`  responder: ${(1000 / perResponder).toFixed(0)} handshakes/s (${(answerInit / n * 1000).toFixed(0)} us per INIT, ${(answerConfirm / n * 1000).toFixed(0)} us per CONFIRM)`);
  console.log(`  initiator: ${((initiatorStart + initiatorFinish) / n * 1000).toFixed(0)} us per handshake (its own X25519 work)`);
  console.log(`  forged HS_INIT dropped: ${(reps / badMac * 1000).toFixed(0)}/s (bad mac), ${(reps / badKey * 1000).toFixed(0)}/s (unknown key id)`);
  console.log(`  answering an INIT costs ${(answerInit / n * 1000 / (badMac / reps * 1000)).toFixed(1)}x dropping a forged one`);
}

interface Row {
  name: string;
  ns: number;
}

function timeLoop(iterations: number, body: () => void): number {
  for (let i = 0; i < Math.min(iterations, 5_000); i++) body(); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) body();
  return Number(process.hrtime.bigint() - t0) / iterations;
}

function dataPath(size: number, iterations: number): void {
  const aAt = endpoint(1);
  const bAt = endpoint(2);
  const a = new SecureTransport(crypto, new Keyring(crypto, key), 0);
  const b = new SecureTransport(crypto, new Keyring(crypto, key), 0);
  // Bring the pair up.
  let pending = a.outgoing(bAt.key, bAt.addr, new Uint8Array(1), 0).map((t) => t.data);
  for (let turn = 0; pending.length > 0 && turn < 10; turn++) {
    const [to, fromAt] = turn % 2 === 0 ? [b, aAt] : [a, bAt];
    pending = pending.flatMap((p) => to.incoming(fromAt.key, fromAt.addr, p, 0).transmits.map((t) => t.data));
  }
  if (a.sessionCount() !== 1 || b.sessionCount() !== 1) throw new Error("pair did not come up");

  const plaintext = new Uint8Array(size).fill(0x5a);
  let sink = 0;
  const copy = () => {
    const out = new Uint8Array(size);
    out.set(plaintext);
    sink += out[size - 1];
  };
  const sealOpenBody = () => {
    const sealed = a.outgoing(bAt.key, bAt.addr, plaintext, 0)[0].data;
    const got = b.incoming(aAt.key, aAt.addr, sealed, 0).deliver!;
    sink += got[size - 1];
  };
  const sealed = a.outgoing(bAt.key, bAt.addr, plaintext, 0)[0].data;
  const sealOnlyBody = () => {
    sink += a.outgoing(bAt.key, bAt.addr, plaintext, 0)[0].data.length;
  };
  // The bare provider AEAD (either path, by size): the floor the transport builds on.
  const k = crypto.aeadKey(key);
  const nonce = new Uint8Array(12);
  const aad = sealed.subarray(0, 14);
  const buf = new Uint8Array(size + 16);
  const bareBody = () => {
    crypto.seal(k, nonce, aad, plaintext, buf, 0);
    sink += crypto.open(k, nonce, aad, buf, 0, buf.length)!.length;
  };
  const bodies = [copy, bareBody, sealOnlyBody, sealOpenBody];
  const best = bodies.map(() => Infinity);
  // Interleaved rounds, best of each: other load on the machine hits every row alike.
  for (let round = 0; round < 5; round++) {
    bodies.forEach((body, i) => (best[i] = Math.min(best[i], timeLoop(iterations / 5, body))));
  }
  const [copyNs, bare, sealOnly, sealOpen] = best;
  if (sink === 0) throw new Error("unreachable");
  if (b.counters.data_opened < iterations + 1) throw new Error("datagrams were lost");
  const rows: Row[] = [
    { name: "plain copy (alloc + set)", ns: copyNs },
    { name: `bare ${size <= SMALL_AEAD_MAX ? "JS" : "node:crypto"} seal+open`, ns: bare },
    { name: "transport seal only", ns: sealOnly },
    { name: "transport seal+open", ns: sealOpen },
  ];
  console.log(`\n${size}-byte datagrams (${iterations} each):`);
  for (const r of rows) {
    const mbit = (size * 8 * 1000) / r.ns;
    console.log(`  ${r.name.padEnd(28)} ${r.ns.toFixed(0).padStart(7)} ns  ${mbit.toFixed(0).padStart(8)} Mbit/s  ${(r.ns / copyNs).toFixed(1).padStart(6)}x copy`);
  }
  console.log(`  transport overhead over bare AEAD: ${(sealOpen / bare).toFixed(2)}x`);
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

const AEAD_SIZES = [64, 128, 256, 512, 640, 768, 1024, 1400, 4096];
const COLD_SAMPLES = 50;
const IDLE_MS = 20;

/** One size's four operations, each a closure doing one seal or open on prepared buffers. */
function aeadOps(size: number) {
  const raw = new Uint8Array(32);
  crypto.randomFill(raw);
  const jsKey = new smallAead.ChaChaKey(raw);
  const nodeKey = createSecretKey(raw);
  const nonce = new Uint8Array(12);
  const aad = new Uint8Array(14);
  const plaintext = new Uint8Array(size);
  crypto.randomFill(plaintext);
  const sealed = new Uint8Array(size + 16);
  const out = new Uint8Array(size + 16);
  smallAead.seal(jsKey, nonce, aad, plaintext, sealed, 0);
  let sink = 0;
  const ops = {
    jsSeal: () => smallAead.seal(jsKey, nonce, aad, plaintext, out, 0),
    nodeSeal: () => bulkSeal(nodeKey, nonce, aad, plaintext, out, 0),
    jsOpen: () => {
      const got = smallOpen(jsKey, nonce, aad, sealed, 0, sealed.length);
      if (got === null) throw new Error("JS open failed");
      sink += got.length;
    },
    nodeOpen: () => {
      const got = bulkOpen(nodeKey, nonce, aad, sealed, 0, sealed.length);
      if (got === null) throw new Error("node:crypto open failed");
      sink += got.length;
    },
  };
  // Both paths must agree before their speed means anything.
  ops.nodeSeal();
  if (!out.every((b, i) => b === sealed[i])) throw new Error(`paths disagree at ${size} bytes`);
  return { ops, sink: () => sink };
}

type OpName = "jsSeal" | "nodeSeal" | "jsOpen" | "nodeOpen";
const OP_NAMES: OpName[] = ["jsSeal", "nodeSeal", "jsOpen", "nodeOpen"];
type Samples = Record<OpName, number[]>[];
const noSamples = (): Samples => AEAD_SIZES.map(() => ({ jsSeal: [], nodeSeal: [], jsOpen: [], nodeOpen: [] }));

async function aeadPaths(): Promise<void> {
  const perSize = AEAD_SIZES.map((size) => aeadOps(size));
  // Warm: back to back, the median of 9 interleaved rounds of a few ms each.
  const warm = noSamples();
  for (let round = 0; round < 9; round++) {
    AEAD_SIZES.forEach((size, i) => {
      for (const name of OP_NAMES) warm[i][name].push(timeLoop(Math.max(200, Math.floor(400_000 / (size + 200))), perSize[i].ops[name]));
    });
  }
  // Cold: the first operation after IDLE_MS asleep, each sample its own sleep, all kinds interleaved.
  const cold = noSamples();
  for (let sample = 0; sample < COLD_SAMPLES; sample++) {
    for (let i = 0; i < AEAD_SIZES.length; i++) {
      for (const name of OP_NAMES) {
        const op = perSize[i].ops[name];
        await sleep(IDLE_MS);
        const t0 = process.hrtime.bigint();
        op();
        cold[i][name].push(Number(process.hrtime.bigint() - t0));
      }
    }
  }
  const us = (ns: number) => (ns / 1000).toFixed(1).padStart(6);
  console.log(`\nAEAD paths, us per operation (warm: median of 9 back-to-back rounds; cold: p50 of ${COLD_SAMPLES} first operations after ${IDLE_MS} ms idle):`);
  console.log("   bytes |        seal warm        |        open warm        |        seal cold        |        open cold");
  console.log("         |   JS   node   node/JS   |   JS   node   node/JS   |   JS   node   node/JS   |   JS   node   node/JS");
  let jsFasterUpTo = 0; // how many sizes, from the smallest, the JS routine wins warm at both
  AEAD_SIZES.forEach((size, i) => {
    const m = (set: Samples, name: OpName) => median(set[i][name]);
    const cell = (set: Samples, js: OpName, node: OpName) => {
      const a = m(set, js), b = m(set, node);
      return `${us(a)} ${us(b)} ${(b / a).toFixed(2).padStart(6)}x   `;
    };
    console.log(`  ${String(size).padStart(6)} | ${cell(warm, "jsSeal", "nodeSeal")}| ${cell(warm, "jsOpen", "nodeOpen")}| ${cell(cold, "jsSeal", "nodeSeal")}| ${cell(cold, "jsOpen", "nodeOpen")}`);
    if (jsFasterUpTo === i && m(warm, "jsSeal") <= m(warm, "nodeSeal") && m(warm, "jsOpen") <= m(warm, "nodeOpen")) jsFasterUpTo = i + 1;
  });
  const largest = jsFasterUpTo > 0 ? `${AEAD_SIZES[jsFasterUpTo - 1]} bytes` : "none";
  console.log(`  largest size where JS is at least as fast warm for both seal and open: ${largest}; SMALL_AEAD_MAX = ${SMALL_AEAD_MAX}`);
  if (perSize.every((p) => p.sink() === 0)) throw new Error("unreachable");
}

console.log(`node ${process.version}, one core\n`);
handshakes(2000);
dataPath(64, 200_000);
dataPath(1400, 200_000);
await aeadPaths();
