// Benchmark of the transport layer (host/secure on node:crypto and on libsodium), one core:
// - handshakes per second one responder answers (HS_INIT -> HS_CHALLENGE, HS_CONFIRM -> session),
//   and how fast it drops forged handshake packets;
// - seal+open per datagram for 64 and 1400 bytes, next to a plain Uint8Array copy and to the bare
//   provider AEAD measured in the same run;
// - the AEAD paths (the small-datagram WASM module, node:crypto, libsodium) per size, warm (back to back) and
//   cold (the first operation after 20 ms idle, as between pings): SMALL_AEAD_MAX, SODIUM_SMALL_MAX.
// Run: npm run bench:secure
import { createSecretKey } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { addressKey, encodeAddress } from "../../host/net/address.ts";
import * as smallAead from "../../host/secure/chacha20poly1305.ts";
import { Identity } from "../../host/secure/identity.ts";
import { Keyring } from "../../host/secure/keyring.ts";
import { SecureTransport } from "../../host/secure/transport.ts";
import type { CryptoProvider } from "../../host/secure/provider.ts";
import { SODIUM_SMALL_MAX, withSodiumAead } from "../../host/secure/sodium-aead.ts";
import { bulkOpen, bulkSeal, nodeCrypto as crypto, SMALL_AEAD_MAX, smallOpen } from "../../host/secure/node-crypto.ts";
import { loadSodium } from "../../host/node/sodium.ts";

const sodiumCalls = loadSodium();
const sodium = typeof sodiumCalls === "string" ? null : withSodiumAead(crypto, sodiumCalls);
const providers: [string, CryptoProvider][] = [["node:crypto", crypto], ...(sodium ? [["libsodium", sodium] as [string, CryptoProvider]] : [])];

const UNLIMITED = { rateLimitPerSecond: 1e9, rateLimitBurst: 1e9 };
const key = new Uint8Array(32);
crypto.randomFill(key);

function endpoint(i: number) {
  const ip = ((198 << 24) | (19 << 16) | i) >>> 0;
  const addr = new Uint8Array(18);
  encodeAddress(ip, 4789, addr);
  return { key: addressKey(ip, 4789), addr };
}

/** A transport whose datagrams its sink keeps in `out` (fresh arrays: no socket arena here). */
function transport(crypto: CryptoProvider, networkKey: Uint8Array, config = {}) {
  const t = new SecureTransport(crypto, new Keyring(crypto, networkKey), Identity.generate(crypto), 0, config);
  const out: Uint8Array[] = [];
  t.transmitTo((_addrKey, _addr, data) => out.push(data));
  return { t, out };
}

/** The first datagram the last call made (an INIT, a CHALLENGE, a CONFIRM, a sealed DATA); the rest is dropped. */
function first(out: Uint8Array[]): Uint8Array {
  if (out.length === 0) throw new Error("no datagram");
  const datagram = out[0];
  out.length = 0;
  return datagram;
}

function ms(t0: number): number {
  return performance.now() - t0;
}

function handshakes(n: number): void {
  const responderAt = endpoint(1);
  const { t: responder, out: responderOut } = transport(crypto, key, UNLIMITED);
  const initiators = Array.from({ length: n }, (_, i) => ({ at: endpoint(1000 + i), ...transport(crypto, key, UNLIMITED) }));
  let t0 = performance.now();
  const inits = initiators.map((x) => {
    x.t.outgoing(responderAt.key, responderAt.addr, new Uint8Array(0), 0);
    return first(x.out);
  });
  const initiatorStart = ms(t0);

  t0 = performance.now();
  const challenges = inits.map((p, i) => {
    responder.incoming(initiators[i].at.key, initiators[i].at.addr, p, 0);
    return first(responderOut);
  });
  const answerInit = ms(t0);

  t0 = performance.now();
  const confirms = challenges.map((p, i) => {
    initiators[i].t.incoming(responderAt.key, responderAt.addr, p, 0);
    return first(initiators[i].out);
  });
  const initiatorFinish = ms(t0);

  t0 = performance.now();
  for (let i = 0; i < n; i++) responder.incoming(initiators[i].at.key, initiators[i].at.addr, confirms[i], 0);
  const answerConfirm = ms(t0);
  if (responder.sessionCount() !== n) throw new Error(`only ${responder.sessionCount()} of ${n} handshakes completed`);
  responderOut.length = 0;

  // Forged packets: an HS_INIT under a key the responder lacks, and one with its key id but a bad mac.
  const forged = Uint8Array.from(inits[0]);
  forged[20] ^= 1;
  const stranger = transport(crypto, new Uint8Array(32).fill(9), UNLIMITED);
  stranger.t.outgoing(responderAt.key, responderAt.addr, new Uint8Array(0), 0);
  const unknownKey = first(stranger.out);
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

function dataPath(providerName: string, crypto: CryptoProvider, size: number, iterations: number): void {
  const aAt = endpoint(1);
  const bAt = endpoint(2);
  const { t: a, out: aOut } = transport(crypto, key);
  const { t: b, out: bOut } = transport(crypto, key);
  // Bring the pair up.
  a.outgoing(bAt.key, bAt.addr, new Uint8Array(1), 0);
  let pending = aOut.splice(0);
  for (let turn = 0; pending.length > 0 && turn < 10; turn++) {
    const [to, toOut, fromAt] = turn % 2 === 0 ? [b, bOut, aAt] : [a, aOut, bAt];
    for (const p of pending) to.incoming(fromAt.key, fromAt.addr, p, 0);
    pending = toOut.splice(0);
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
    a.outgoing(bAt.key, bAt.addr, plaintext, 0);
    const got = b.incoming(aAt.key, aAt.addr, aOut.pop()!, 0).deliver!;
    sink += got[size - 1];
  };
  a.outgoing(bAt.key, bAt.addr, plaintext, 0);
  const sealed = first(aOut);
  const sealOnlyBody = () => {
    a.outgoing(bAt.key, bAt.addr, plaintext, 0);
    sink += aOut.pop()!.length;
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
    { name: "bare provider seal+open", ns: bare },
    { name: "transport seal only", ns: sealOnly },
    { name: "transport seal+open", ns: sealOpen },
  ];
  console.log(`\n${providerName}, ${size}-byte datagrams (${iterations} each):`);
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

/** One AEAD path's seal and open on prepared buffers of one size. */
interface PathOps {
  seal: () => void;
  open: () => void;
}

const PATHS = ["wasm", "node", ...(sodium ? ["sodium"] : [])];

/** One size's operations per path, each a closure doing one seal or open on prepared buffers. */
function aeadOps(size: number) {
  const raw = new Uint8Array(32);
  crypto.randomFill(raw);
  const smallKey = new smallAead.ChaChaKey(raw);
  const nodeKey = createSecretKey(raw);
  const nonce = new Uint8Array(12);
  const aad = new Uint8Array(14);
  const plaintext = new Uint8Array(size);
  crypto.randomFill(plaintext);
  const sealed = new Uint8Array(size + 16);
  const out = new Uint8Array(size + 16);
  smallAead.seal(smallKey, nonce, aad, plaintext, sealed, 0);
  let sink = 0;
  const opened = (got: Uint8Array | null) => {
    if (got === null) throw new Error("open failed");
    sink += got.length;
  };
  const ops: Record<string, PathOps> = {
    wasm: {
      seal: () => smallAead.seal(smallKey, nonce, aad, plaintext, out, 0),
      open: () => opened(smallOpen(smallKey, nonce, aad, sealed, 0, sealed.length)),
    },
    node: {
      seal: () => bulkSeal(nodeKey, nonce, aad, plaintext, out, 0),
      open: () => opened(bulkOpen(nodeKey, nonce, aad, sealed, 0, sealed.length)),
    },
  };
  if (typeof sodiumCalls !== "string") {
    // The bare libsodium calls (the provider sends small datagrams to the small-datagram module instead).
    const calls = sodiumCalls;
    const plain = new Uint8Array(size);
    ops.sodium = {
      seal: () => void calls.encrypt(out, plaintext, size, aad, aad.length, nonce, raw),
      open: () => opened(calls.decrypt(plain, sealed, sealed.length, aad, aad.length, nonce, raw) === 0 ? plain : null),
    };
  }
  // Every path must agree before its speed means anything.
  for (const path of PATHS) {
    out.fill(0);
    ops[path].seal();
    if (!out.every((b, i) => b === sealed[i])) throw new Error(`${path} disagrees with the module at ${size} bytes`);
  }
  return { ops, sink: () => sink };
}

/** Samples per size, per "path seal" / "path open". */
type Samples = Map<string, number[]>[];
const noSamples = (): Samples => AEAD_SIZES.map(() => new Map(PATHS.flatMap((p) => [[`${p} seal`, []], [`${p} open`, []]])));

async function aeadPaths(): Promise<void> {
  const perSize = AEAD_SIZES.map((size) => aeadOps(size));
  const each = (visit: (i: number, name: string, op: () => void) => void) => AEAD_SIZES.forEach((_, i) => {
    for (const p of PATHS) for (const kind of ["seal", "open"] as const) visit(i, `${p} ${kind}`, perSize[i].ops[p][kind]);
  });
  // Warm: back to back, the median of 9 interleaved rounds of a few ms each.
  const warm = noSamples();
  for (let round = 0; round < 9; round++) {
    each((i, name, op) => warm[i].get(name)!.push(timeLoop(Math.max(200, Math.floor(400_000 / (AEAD_SIZES[i] + 200))), op)));
  }
  // Cold: the first operation after IDLE_MS asleep, each sample its own sleep, all kinds interleaved.
  const cold = noSamples();
  for (let sample = 0; sample < COLD_SAMPLES; sample++) {
    const ops: [number, string, () => void][] = [];
    each((i, name, op) => ops.push([i, name, op]));
    for (const [i, name, op] of ops) {
      await sleep(IDLE_MS);
      const t0 = process.hrtime.bigint();
      op();
      cold[i].get(name)!.push(Number(process.hrtime.bigint() - t0));
    }
  }
  const us = (ns: number) => (ns / 1000).toFixed(2).padStart(7);
  const names = PATHS.flatMap((p) => [`${p} seal`, `${p} open`]);
  console.log(`\nAEAD paths, us per operation (warm: median of 9 back-to-back rounds; cold: p50 of ${COLD_SAMPLES} first operations after ${IDLE_MS} ms idle):`);
  console.log(`   bytes | warm: ${names.map((n) => n.padStart(11)).join(" ")} | cold: ${names.map((n) => n.padStart(11)).join(" ")}`);
  AEAD_SIZES.forEach((size, i) => {
    const row = (set: Samples) => names.map((n) => us(median(set[i].get(n)!)).padStart(11)).join(" ");
    console.log(`  ${String(size).padStart(6)} |       ${row(warm)} |       ${row(cold)}`);
  });
  console.log(`  small-datagram module up to: SMALL_AEAD_MAX = ${SMALL_AEAD_MAX} (node:crypto provider), SODIUM_SMALL_MAX = ${SODIUM_SMALL_MAX} (libsodium provider)`);
  if (perSize.every((p) => p.sink() === 0)) throw new Error("unreachable");
}

console.log(`node ${process.version}, one core; providers: node:crypto${sodium ? ", libsodium" : " (libsodium missing)"}\n`);
handshakes(2000);
for (const [name, provider] of providers) {
  dataPath(name, provider, 64, 200_000);
  dataPath(name, provider, 1400, 200_000);
}
await aeadPaths();
