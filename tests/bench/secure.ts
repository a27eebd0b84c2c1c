// Benchmark of the transport layer (host/common/secure on node:crypto), one core:
// - handshakes per second one responder answers (HS_INIT -> HS_CHALLENGE, HS_CONFIRM -> session),
//   and how fast it drops forged handshake packets;
// - seal+open per datagram for 64 and 1400 bytes, next to a plain Uint8Array copy and to bare
//   node:crypto ChaCha20-Poly1305 measured in the same run.
// Run: npm run bench:secure
import { addressKey, encodeAddress } from "../../host/common/address.ts";
import { Keyring } from "../../host/common/secure/keyring.ts";
import { SecureTransport } from "../../host/common/secure/transport.ts";
import { nodeCrypto as crypto } from "../../host/node/crypto.ts";

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
  // Bare node:crypto: the floor the transport builds on.
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
    { name: "bare node:crypto seal+open", ns: bare },
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

console.log(`node ${process.version}, one core\n`);
handshakes(2000);
dataPath(64, 200_000);
dataPath(1400, 200_000);
