// Benchmark of the underlay socket's send batching on 127.0.0.1 (host/linux/udp.ts on koffi),
// one core: the time per datagram to send bursts of 45 datagrams of 1430 bytes (a 64 KB TSO frame cut
// for a 1500-byte path, sealed) to one peer
//   - one message per datagram, one sendmmsg call each (what sendto(2) per datagram costs),
//   - one sendmmsg call per burst, a message per datagram (GSO off),
//   - one sendmmsg call per burst, the burst as one UDP_SEGMENT message (GSO on),
// and what the receiver pays per datagram to drain them with recvmmsg (GRO on). Run: npm run bench:udp
import { LinuxUdpSocket } from "../../host/linux/udp.ts";
import type { DatagramSink } from "../../host/base/services.ts";
import { syscalls } from "../../host/node/udp.ts";

const BURST = 45;
const SIZE = 1430;
const BURSTS = 2000;
const ROUNDS = 5;

let received = 0;
const sink: DatagramSink = { datagram: () => void received++, batchEnd: () => {}, sendTooBig: () => {} };

function bind(): { socket: LinuxUdpSocket; port: number } {
  for (;;) {
    const port = 40000 + Math.floor(Math.random() * 20000);
    try {
      return { socket: LinuxUdpSocket.bind(syscalls, { host: "127.0.0.1", port }, sink), port };
    } catch {
      // port in use: another
    }
  }
}

const receiver = bind();
const sender = bind();
const to = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1, receiver.port >> 8, receiver.port & 0xff]);
const hasGso = sender.socket.gso;

interface Mode {
  name: string;
  gso: boolean;
  flushEach: boolean;
}
const MODES: Mode[] = [
  { name: "a call per datagram", gso: false, flushEach: true },
  { name: "sendmmsg per burst, GSO off", gso: false, flushEach: false },
  ...(hasGso ? [{ name: "sendmmsg per burst, GSO on", gso: true, flushEach: false }] : []),
];

/** Sends BURSTS bursts in `mode`, draining the receiver after each; ns per datagram each side. */
function run(mode: Mode): { send: number; receive: number } {
  sender.socket.gso = mode.gso;
  let sendNs = 0;
  let receiveNs = 0;
  for (let b = 0; b < BURSTS; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < BURST; i++) {
      const slot = sender.socket.reserve(SIZE);
      slot[0] = i;
      sender.socket.send(to, 0, slot);
      if (mode.flushEach) sender.socket.flush();
    }
    sender.socket.flush();
    const t1 = process.hrtime.bigint();
    while (receiver.socket.receive() > 0) {
      // drain
    }
    sendNs += Number(t1 - t0);
    receiveNs += Number(process.hrtime.bigint() - t1);
  }
  return { send: sendNs / (BURSTS * BURST), receive: receiveNs / (BURSTS * BURST) };
}

const best = MODES.map(() => ({ send: Infinity, receive: Infinity }));
for (let round = 0; round < ROUNDS; round++) {
  MODES.forEach((m, i) => {
    const r = run(m);
    best[i].send = Math.min(best[i].send, r.send);
    best[i].receive = Math.min(best[i].receive, r.receive);
  });
}
const sent = sender.socket.counters.datagrams_sent;
console.log(`node ${process.version}, 127.0.0.1, bursts of ${BURST} x ${SIZE} bytes, best of ${ROUNDS} rounds of ${BURSTS} bursts`);
console.log(`  ${"mode".padEnd(30)} send ns/datagram   receive ns/datagram (recvmmsg, GRO)`);
MODES.forEach((m, i) => console.log(`  ${m.name.padEnd(30)} ${best[i].send.toFixed(0).padStart(16)}   ${best[i].receive.toFixed(0).padStart(18)}`));
if (!hasGso) console.log("  (no UDP_SEGMENT on this kernel)");
console.log(`  received ${received} of ${sent} sent (loopback drops under load are the kernel's)`);
receiver.socket.close();
sender.socket.close();
