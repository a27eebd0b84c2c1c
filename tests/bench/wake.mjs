// Thread wake-up latency on this machine: how long after a reader thread signals does the main
// thread run? Two ways a TAP reader can signal: Atomics.notify (main thread in Atomics.waitAsync,
// what host/common/ring.ts does) and a 1-byte write to a pipe (main thread in libuv's epoll).
// The reader sleeps 20 ms between signals, as an idle TAP does between pings.
// Usage: node tests/bench/wake.mjs [--rounds N]
import net from "node:net";
import { Worker } from "node:worker_threads";
import koffi from "koffi";

const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1]) || 100;
const libc = koffi.load("libc.so.6");
const pipe = libc.func("int pipe(_Out_ int *fds)");

const READER = `
const { workerData } = require("node:worker_threads");
const koffi = require(workerData.koffi);
const write = koffi.load("libc.so.6").func("long write(int fd, const void *buf, unsigned long count)");
const flag = new Int32Array(workerData.sab, 0, 4);
const stamp = new Float64Array(workerData.sab, 16, 1);
const one = new Uint8Array([1]);
for (let seq = 1; seq <= workerData.rounds; seq++) {
  Atomics.wait(flag, 3, 0, 20);
  stamp[0] = performance.timeOrigin + performance.now();
  if (workerData.pipeFd >= 0) write(workerData.pipeFd, one, 1);
  else { Atomics.store(flag, 0, seq); Atomics.notify(flag, 0); }
}`;

function percentiles(lat) {
  lat.sort((x, y) => x - y);
  const at = (p) => (lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] * 1000).toFixed(0);
  return `p50 ${at(0.5)} us, p90 ${at(0.9)} us, max ${at(1)} us`;
}

function reader(sab, pipeFd) {
  const koffiPath = new URL(import.meta.resolve("koffi")).pathname;
  return new Worker(READER, { eval: true, workerData: { sab, pipeFd, rounds, koffi: koffiPath } });
}

async function viaAtomics() {
  const sab = new SharedArrayBuffer(32);
  const flag = new Int32Array(sab, 0, 4);
  const stamp = new Float64Array(sab, 16, 1);
  const worker = reader(sab, -1);
  const lat = [];
  for (let i = 1; i <= rounds; i++) {
    const r = Atomics.waitAsync(flag, 0, i - 1);
    if (r.async) await r.value;
    lat.push(performance.timeOrigin + performance.now() - stamp[0]);
  }
  await worker.terminate();
  return percentiles(lat);
}

async function viaPipe() {
  const fds = [0, 0];
  if (pipe(fds) !== 0) throw new Error("pipe() failed");
  const sab = new SharedArrayBuffer(32);
  const stamp = new Float64Array(sab, 16, 1);
  const worker = reader(sab, fds[1]);
  const lat = [];
  const socket = new net.Socket({ fd: fds[0], readable: true, writable: false });
  await new Promise((resolve) => {
    socket.on("data", (chunk) => {
      for (let i = 0; i < chunk.length; i++) lat.push(performance.timeOrigin + performance.now() - stamp[0]);
      if (lat.length >= rounds) resolve();
    });
  });
  socket.destroy();
  await worker.terminate();
  return percentiles(lat);
}

console.log(`wake-up latency, ${rounds} rounds, 20 ms apart`);
console.log(`Atomics.notify -> Atomics.waitAsync: ${await viaAtomics()}`);
console.log(`pipe write -> epoll (net.Socket):    ${await viaPipe()}`);
