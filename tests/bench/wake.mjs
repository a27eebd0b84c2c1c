// UDP echo round trip on 127.0.0.1 after an idle gap: what a lone packet (a ping) pays from the
// kernel to our code and back, for three kinds of echo server (docs/performance.md "Latency"):
//   dgram    node:dgram on the main thread ('message' event, socket.send)
//   poll     a worker thread blocked in poll(2), koffi recvfrom/sendto: the data-plane thread's way
//   atomics  a worker blocked in koffi recvfrom hands each datagram to the main thread (Atomics.notify
//            -> Atomics.waitAsync), which sends the reply: the hop of the earlier TAP reader design
// One client thread measures all three, sleeping --idle ms before each request, in interleaved
// blocks so machine noise hits them alike. The scheduler decides per wake-up whether the woken thread
// runs on the waker's CPU (cheap) or wakes the other, idle one (~100 us more on this VM), so each
// thread hop is a chance to pay that; p50 and p90 often show the two cases.
//   npm run bench:wake [-- --rounds 200] [--idle 20] [--json]
import { once } from "node:events";
import dgram from "node:dgram";
import { parseArgs } from "node:util";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import koffi from "koffi";

const libc = koffi.load("libc.so.6");
const socket = libc.func("int socket(int domain, int type, int protocol)");
const bind = libc.func("int bind(int fd, const void *addr, unsigned int addrlen)");
const getsockname = libc.func("int getsockname(int fd, void *addr, void *addrlen)");
const close = libc.func("int close(int fd)");
const poll = libc.func("int poll(void *fds, unsigned long nfds, int timeout)");
const recvfrom = libc.func("long recvfrom(int fd, void *buf, unsigned long len, int flags, void *addr, void *addrlen)");
const sendto = libc.func("long sendto(int fd, const void *buf, unsigned long len, int flags, const void *addr, unsigned int addrlen)");

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOCKADDR_IN = 16;
const POLLIN = 1;
const EINTR = 4;
const LOOPBACK = 0x7f000001;
const REQUEST_BYTES = 64;
const MAX_DATAGRAM = 2048;
/** A reply later than this is counted lost; loopback answers in well under a millisecond. */
const REPLY_TIMEOUT_MS = 200;
/** Measured rounds per block; each kind's blocks are spread over the whole run. */
const BLOCK_ROUNDS = 20;
const KINDS = [
  { name: "dgram", label: "node:dgram, main thread" },
  { name: "poll", label: "worker blocked in poll(2), koffi" },
  { name: "atomics", label: "worker recvfrom -> Atomics -> main sendto" },
];
const BASE = 1; // ratios are to the data-plane thread's way
const PERCENTILES = { p50: 0.5, p90: 0.9, p99: 0.99 };
// The atomics relay's shared slot: published seq, consumed seq, length; then sockaddr_in, datagram.
const PUBLISHED = 0;
const CONSUMED = 1;
const LENGTH = 2;
const FROM_OFFSET = 16;
const DATA_OFFSET = 32;

/** struct sockaddr_in for 127.0.0.1:port. */
function sockaddrIn(port) {
  const addr = new Uint8Array(SOCKADDR_IN);
  const v = new DataView(addr.buffer);
  v.setUint16(0, AF_INET, true);
  v.setUint16(2, port, false);
  v.setUint32(4, LOOPBACK, false);
  return addr;
}

/** A UDP socket on 127.0.0.1 at a port the kernel picks (so no clash with anything running). */
function udpSocket(flags) {
  const fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | flags, 0);
  if (fd < 0) throw new Error(`socket: errno ${koffi.errno()}`);
  const addr = sockaddrIn(0);
  if (bind(fd, addr, SOCKADDR_IN) < 0 || getsockname(fd, addr, new Uint32Array([SOCKADDR_IN])) < 0) {
    const e = koffi.errno();
    close(fd);
    throw new Error(`bind/getsockname 127.0.0.1: errno ${e}`);
  }
  return { fd, port: new DataView(addr.buffer).getUint16(2, false) };
}

/** struct pollfd watching `fd` for input. */
function pollfdFor(fd) {
  const pollfd = new Uint8Array(8);
  const v = new DataView(pollfd.buffer);
  v.setInt32(0, fd, true);
  v.setInt16(4, POLLIN, true);
  return pollfd;
}

// An empty datagram (sent by the main thread at the end) stops each worker server.

function pollServer() {
  const { fd, port } = udpSocket(SOCK_NONBLOCK);
  parentPort.postMessage({ port });
  const pollfd = pollfdFor(fd);
  const buffer = new Uint8Array(MAX_DATAGRAM);
  const from = new Uint8Array(SOCKADDR_IN);
  const fromLen = new Uint32Array(1);
  for (;;) {
    if (poll(pollfd, 1, -1) <= 0) continue; // EINTR
    for (;;) {
      fromLen[0] = SOCKADDR_IN;
      const n = Number(recvfrom(fd, buffer, MAX_DATAGRAM, 0, from, fromLen));
      if (n < 0) break; // EAGAIN: drained
      if (n === 0) return void close(fd);
      sendto(fd, buffer, n, 0, from, fromLen[0]);
    }
  }
}

/** Reads into one shared slot and waits for the main thread to send the reply before reusing it. */
function atomicsReader({ shared }) {
  const { fd, port } = udpSocket(0);
  parentPort.postMessage({ port, fd });
  const ctl = new Int32Array(shared, 0, 3);
  const from = new Uint8Array(shared, FROM_OFFSET, SOCKADDR_IN);
  const data = new Uint8Array(shared, DATA_OFFSET, MAX_DATAGRAM);
  const fromLen = new Uint32Array(1);
  for (let seq = 1; ; ) {
    fromLen[0] = SOCKADDR_IN;
    const n = Number(recvfrom(fd, data, MAX_DATAGRAM, 0, from, fromLen));
    if (n < 0) {
      if (koffi.errno() !== EINTR) throw new Error(`recvfrom: errno ${koffi.errno()}`);
      continue;
    }
    Atomics.store(ctl, LENGTH, n);
    Atomics.store(ctl, PUBLISHED, seq);
    Atomics.notify(ctl, PUBLISHED);
    if (n === 0) return void close(fd); // the main thread ends its relay on length 0
    while (Atomics.load(ctl, CONSUMED) !== seq) Atomics.wait(ctl, CONSUMED, seq - 1);
    seq++;
  }
}

/** The main thread's half of the atomics server. */
async function relay(shared, fd) {
  const ctl = new Int32Array(shared, 0, 3);
  const from = new Uint8Array(shared, FROM_OFFSET, SOCKADDR_IN);
  const data = new Uint8Array(shared, DATA_OFFSET, MAX_DATAGRAM);
  for (let seq = 1; ; seq++) {
    const waited = Atomics.waitAsync(ctl, PUBLISHED, seq - 1);
    if (waited.async) await waited.value;
    const n = Atomics.load(ctl, LENGTH);
    if (n === 0) return;
    sendto(fd, data, n, 0, from, SOCKADDR_IN);
    Atomics.store(ctl, CONSUMED, seq);
    Atomics.notify(ctl, CONSUMED);
  }
}

function client({ ports, rounds, idleMs }) {
  const { fd } = udpSocket(SOCK_NONBLOCK);
  const pollfd = pollfdFor(fd);
  const request = new Uint8Array(REQUEST_BYTES);
  const reply = new Uint8Array(MAX_DATAGRAM);
  const requestView = new DataView(request.buffer);
  const replyView = new DataView(reply.buffer);
  const targets = ports.map(sockaddrIn);
  const idle = new Int32Array(new SharedArrayBuffer(4)); // never notified: Atomics.wait is the sleep
  let seq = 0;

  /** Milliseconds from sendto to the matching reply, or undefined after REPLY_TIMEOUT_MS. */
  function roundTrip(target) {
    requestView.setUint32(0, ++seq);
    const start = performance.now();
    sendto(fd, request, REQUEST_BYTES, 0, target, SOCKADDR_IN);
    const deadline = start + REPLY_TIMEOUT_MS;
    while (performance.now() < deadline) {
      if (poll(pollfd, 1, Math.ceil(deadline - performance.now())) <= 0) continue; // timeout or EINTR
      let n;
      while ((n = Number(recvfrom(fd, reply, MAX_DATAGRAM, 0, null, null))) >= 0) {
        if (n === REQUEST_BYTES && replyView.getUint32(0) === seq) return performance.now() - start;
      } // anything else is a late reply to a round already counted lost
    }
    return undefined;
  }

  const rtts = KINDS.map(() => []);
  const lost = KINDS.map(() => 0);
  for (let cycle = 0; rtts.some((r, k) => r.length + lost[k] < rounds); cycle++) {
    for (let i = 0; i < KINDS.length; i++) {
      const k = (cycle + i) % KINDS.length; // rotate the order: each kind takes each place in a cycle
      const todo = Math.min(BLOCK_ROUNDS, rounds - rtts[k].length - lost[k]);
      if (todo === 0) continue;
      // Round -1 is not counted: its server sat through the other blocks, not --idle ms.
      for (let r = -1; r < todo; r++) {
        Atomics.wait(idle, 0, 0, idleMs);
        const rtt = roundTrip(targets[k]);
        if (r < 0) continue;
        if (rtt === undefined) lost[k]++;
        else rtts[k].push(rtt);
      }
    }
  }
  close(fd);
  parentPort.postMessage({ rtts, lost });
}

/** Nearest-rank percentile of sorted milliseconds, in microseconds. */
const percentileUs = (sorted, p) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] * 1000;

function spawn(role, data) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { role, ...data } });
  worker.on("error", (e) => {
    console.error(`bench:wake: the ${role} thread failed:`, e);
    process.exit(1);
  });
  return worker;
}

const firstMessage = async (worker) => (await once(worker, "message"))[0];

async function main() {
  const { values: opts } = parseArgs({
    options: {
      rounds: { type: "string", default: "200" },
      idle: { type: "string", default: "20" },
      json: { type: "boolean", default: false },
    },
  });
  const rounds = Number(opts.rounds);
  const idleMs = Number(opts.idle);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100_000 || !Number.isInteger(idleMs) || idleMs < 0 || idleMs > 1000) {
    console.error("usage: node tests/bench/wake.mjs [--rounds 1..100000] [--idle 0..1000 (ms)] [--json]");
    process.exit(2);
  }
  // Bound the run: every round is --idle ms plus well under a millisecond, so twice that plus slack.
  const limitMs = 2 * KINDS.length * (rounds + Math.ceil(rounds / BLOCK_ROUNDS)) * (idleMs + 2) + 30_000;
  setTimeout(() => {
    console.error(`bench:wake: no result after ${limitMs} ms, giving up`);
    process.exit(1);
  }, limitMs).unref();

  const dgramServer = dgram.createSocket("udp4");
  dgramServer.on("message", (msg, from) => dgramServer.send(msg, from.port, from.address));
  dgramServer.bind(0, "127.0.0.1");
  await once(dgramServer, "listening");

  const pollWorker = spawn("poll");
  const shared = new SharedArrayBuffer(DATA_OFFSET + MAX_DATAGRAM);
  const atomicsWorker = spawn("atomics", { shared });
  // Both listeners before either await: a worker's message with no listener yet is dropped.
  const [pollUp, atomicsUp] = await Promise.all([firstMessage(pollWorker), firstMessage(atomicsWorker)]);
  const relayed = relay(shared, atomicsUp.fd);

  const ports = [dgramServer.address().port, pollUp.port, atomicsUp.port];
  const { rtts, lost } = await firstMessage(spawn("client", { ports, rounds, idleMs }));

  for (const port of [pollUp.port, atomicsUp.port]) {
    await new Promise((resolve) => dgramServer.send(new Uint8Array(0), port, "127.0.0.1", resolve));
  }
  await Promise.all([relayed, once(pollWorker, "exit"), once(atomicsWorker, "exit")]);
  dgramServer.close();

  const silent = KINDS.filter((_, k) => rtts[k].length === 0).map((kind) => kind.name);
  if (silent.length > 0) {
    console.error(`bench:wake: no reply within ${REPLY_TIMEOUT_MS} ms in any round from: ${silent.join(", ")}`);
    process.exit(1);
  }
  const us = rtts.map((r) => {
    const sorted = r.sort((a, b) => a - b);
    return Object.fromEntries(Object.entries(PERCENTILES).map(([key, p]) => [key, percentileUs(sorted, p)]));
  });
  const servers = KINDS.map((kind, k) => ({
    kind: kind.name,
    label: kind.label,
    us: Object.fromEntries(Object.keys(PERCENTILES).map((key) => [key, Math.round(us[k][key])])),
    vsPoll: Object.fromEntries(Object.keys(PERCENTILES).map((key) => [key, +(us[k][key] / us[BASE][key]).toFixed(2)])),
    lost: lost[k],
  }));
  if (opts.json) {
    console.log(JSON.stringify({ rounds, idleMs, blockRounds: BLOCK_ROUNDS, requestBytes: REQUEST_BYTES, servers }, null, 2));
    return;
  }
  console.log(`UDP echo round trip on 127.0.0.1, ${REQUEST_BYTES}-byte datagrams, ${idleMs} ms idle before each,`);
  console.log(`${rounds} rounds per server in interleaved blocks of ${BLOCK_ROUNDS}`);
  const row = (cells) => cells[0].padEnd(44) + cells.slice(1).map((c, i) => c.padStart(i === 4 ? 22 : 8)).join("");
  console.log(row(["server", "p50 us", "p90 us", "p99 us", "lost", "vs poll p50/p90/p99"]));
  for (const s of servers) {
    const ratios = Object.values(s.vsPoll).map((r) => r.toFixed(2)).join(" / ");
    console.log(row([s.label, ...Object.values(s.us).map(String), String(s.lost), ratios]));
  }
}

if (isMainThread) await main();
else ({ poll: pollServer, atomics: atomicsReader, client })[workerData.role](workerData);
