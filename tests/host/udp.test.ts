// The underlay socket (host/linux/udp.ts on koffi, host/node/udp.ts) on 127.0.0.1, driven by a
// real poll loop: DF, batches of mixed sizes and destinations (sendmmsg, UDP_SEGMENT runs), sealing in
// place, recvmmsg/GRO batches, EMSGSIZE reported, the GSO fallback on EIO, an IPv4 socket refusing IPv6, bind
// errors, close. Needs no root (one test skips without it).
import assert from "node:assert/strict";
import { randomFillSync } from "node:crypto";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { DivsError, ExitCode } from "../../host/base/errors.ts";
import { IP_MTU_DISCOVER, IP_PMTUDISC_DO, IPPROTO_IP, LinuxUdpSocket } from "../../host/linux/udp.ts";
import type { DatagramSink } from "../../host/base/services.ts";
import * as libc from "../../host/node/libc.ts";
import { PollLoop } from "../../host/node/poll-loop.ts";
import { bindUdp, syscalls } from "../../host/node/udp.ts";
import { boundedLoop, runToEnd } from "./harness.ts";

const LOCALHOST = "127.0.0.1";
const EIO = 5;

interface Bound {
  socket: LinuxUdpSocket;
  port: number;
}

/** Binds 127.0.0.1 on a free high port (bind takes an explicit one): tries random ports. */
function bindFree(loop: PollLoop, sink: DatagramSink, bind = bindUdp): Bound {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 40000 + Math.floor(Math.random() * 20000);
    try {
      return { socket: bind({ host: LOCALHOST, port }, loop, sink), port };
    } catch (e) {
      if (!(e instanceof DivsError && e.exitCode === ExitCode.portInUse)) throw e;
    }
  }
  throw new Error("no free UDP port on 127.0.0.1 in 50 tries");
}

/** The core's 18-byte address of 127.0.0.1:port, written out by hand (IPv4-mapped, port big-endian). */
function loopbackAddress(port: number): Uint8Array {
  return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1, port >> 8, port & 0xff]);
}

interface Received {
  from: Uint8Array;
  data: Uint8Array;
}

/** A sink that copies what it gets (the socket reuses its buffers); `then` runs after each batch. */
function collector(then: (got: Received[]) => void = () => {}) {
  const got: Received[] = [];
  const batches: number[] = [];
  const tooBig: { to: Uint8Array; length: number }[] = [];
  let batch = 0;
  const sink: DatagramSink = {
    datagram(address, offset, datagram) {
      got.push({ from: address.slice(offset, offset + 18), data: datagram.slice() });
      batch++;
    },
    batchEnd() {
      batches.push(batch);
      batch = 0;
      then(got);
    },
    sendTooBig(address, offset, length) {
      tooBig.push({ to: address.slice(offset, offset + 18), length });
    },
  };
  return { got, batches, tooBig, sink };
}

const ignore = (): DatagramSink => collector().sink;
const openFds = () => readdirSync("/proc/self/fd").length;

test("the socket sets DF: IP_MTU_DISCOVER reads back IP_PMTUDISC_DO", () => {
  const loop = new PollLoop(() => performance.now());
  const { socket } = bindFree(loop, ignore());
  try {
    const value = new Int32Array(1);
    const length = new Uint32Array([4]);
    assert.equal(libc.getsockopt(socket.fd, IPPROTO_IP, IP_MTU_DISCOVER, value, length), 0);
    assert.equal(value[0], IP_PMTUDISC_DO);
  } finally {
    socket.close();
  }
});

test("datagrams of 0, 1, 1400 and 65000 bytes arrive intact with the sender's 18-byte address", async () => {
  const loop = boundedLoop();
  const payloads = [0, 1, 1400, 65000].map((n) => randomFillSync(new Uint8Array(n)));
  const { got, sink } = collector((g) => g.length === payloads.length && loop.stop());
  const receiver = bindFree(loop, sink);
  const sender = bindFree(loop, ignore());
  try {
    // The address sits at an offset inside a larger buffer, as in the core's output records.
    const records = new Uint8Array(7 + 18 + 5);
    records.set(loopbackAddress(receiver.port), 7);
    for (const p of payloads) sender.socket.send(records, 7, p);
    sender.socket.flush();
    assert.equal(sender.socket.sendErrors, 0);
    await runToEnd(loop);
    assert.deepEqual(got.map((g) => g.data), payloads);
    for (const g of got) assert.deepEqual(g.from, loopbackAddress(sender.port));
  } finally {
    receiver.socket.close();
    sender.socket.close();
  }
});

/**
 * 300 datagrams to three receivers, interleaved in runs: equal sizes to one address (GSO runs, a short
 * last one), a size change inside a run, single datagrams, some sealed in place through reserve().
 */
function mixedBatch(ports: number[]): { to: number; data: Uint8Array; reserved: boolean }[] {
  const out: { to: number; data: Uint8Array; reserved: boolean }[] = [];
  let n = 0;
  for (let round = 0; out.length < 300; round++) {
    const to = round % ports.length;
    const size = [1400, 100, 1430, 64, 900][round % 5];
    const run = 1 + (round * 7) % 50;
    for (let i = 0; i < run && out.length < 300; i++) {
      const length = i === run - 1 && round % 2 === 0 ? 1 + (round % size) : size;
      const data = new Uint8Array(length);
      randomFillSync(data);
      data[0] = n & 0xff; // a sequence byte, checked below with the rest of the bytes
      n++;
      out.push({ to, data, reserved: (round + i) % 3 !== 0 });
    }
  }
  return out;
}

async function sendMixed(gso: boolean): Promise<void> {
  const loop = boundedLoop();
  const expected = 300;
  let total = 0;
  const receivers = [0, 1, 2].map(() => {
    const c = collector((g) => {
      total = g.length;
      // All three collectors count: stop once every datagram has arrived somewhere.
      if (receivers.reduce((sum, r) => sum + r.c.got.length, 0) === expected) loop.stop();
    });
    return { c, bound: bindFree(loop, c.sink) };
  });
  const sender = bindFree(loop, ignore());
  sender.socket.gso &&= gso;
  try {
    const batch = mixedBatch(receivers.map((r) => r.bound.port));
    for (const d of batch) {
      const to = loopbackAddress(receivers[d.to].bound.port);
      if (d.reserved) {
        const slot = sender.socket.reserve(d.data.length);
        slot.set(d.data);
        sender.socket.send(to, 0, slot);
      } else {
        sender.socket.send(to, 0, d.data);
      }
    }
    sender.socket.flush();
    const counters = sender.socket.counters;
    assert.equal(sender.socket.sendErrors, 0);
    assert.equal(counters.datagrams_sent, expected);
    assert.ok(counters.send_calls <= 3, `${counters.send_calls} sendmmsg calls for one batch`);
    if (sender.socket.gso) assert.ok(counters.gso_messages > 0, "no UDP_SEGMENT run in the batch");
    else assert.equal(counters.gso_messages, 0);
    await runToEnd(loop);
    receivers.forEach((r, i) => {
      const want = batch.filter((d) => d.to === i).map((d) => d.data);
      assert.deepEqual(r.c.got.map((g) => g.data), want, `receiver ${i}: datagrams differ or arrived out of order`);
      for (const g of r.c.got) assert.deepEqual(g.from, loopbackAddress(sender.port));
    });
    assert.ok(total > 0);
  } finally {
    for (const r of receivers) r.bound.socket.close();
    sender.socket.close();
  }
}

test("a batch of 300 datagrams of mixed sizes to three addresses arrives intact, in order per address (GSO runs)", () => sendMixed(true));

test("the same batch with GSO off: plain sendmmsg, the same datagrams", () => sendMixed(false));

test("a kernel that answers EIO to UDP_SEGMENT: GSO turns off and the run goes out one datagram at a time", async () => {
  const loop = boundedLoop();
  const { got, sink } = collector((g) => g.length === 10 && loop.stop());
  const receiver = bindFree(loop, sink);
  // A sendmmsg that fails a first message carrying a cmsg (UDP_SEGMENT) as a kernel without it would.
  let refused = 0;
  let errno = 0;
  const noGso = { ...syscalls };
  noGso.sendmmsg = (fd, messages, count, flags) => {
    if (new DataView(messages.buffer, messages.byteOffset).getUint32(40, true) !== 0) {
      refused++;
      errno = EIO;
      return -1;
    }
    errno = 0;
    return syscalls.sendmmsg(fd, messages, count, flags);
  };
  noGso.errno = () => errno || syscalls.errno();
  const sender = bindFree(loop, ignore(), (listen, l, s) => {
    const socket = LinuxUdpSocket.bind(noGso, listen, s);
    l.watch(socket.fd, () => socket.receive());
    socket.onClose = () => l.unwatch(socket.fd);
    return socket;
  });
  try {
    if (!sender.socket.gso) return; // a kernel without UDP_SEGMENT: nothing to fall back from
    const payloads = Array.from({ length: 10 }, (_, i) => new Uint8Array(1000).fill(i));
    for (const p of payloads) sender.socket.send(loopbackAddress(receiver.port), 0, p);
    sender.socket.flush();
    assert.equal(refused, 1);
    assert.equal(sender.socket.gso, false);
    assert.equal(sender.socket.counters.datagrams_sent, 10);
    await runToEnd(loop);
    assert.deepEqual(got.map((g) => g.data), payloads);
  } finally {
    receiver.socket.close();
    sender.socket.close();
  }
});

test("a burst of 500 datagrams all arrives, each batch at most 64 recvmmsg buffers, then batchEnd", async () => {
  const loop = boundedLoop();
  const count = 500; // 4-byte datagrams: all fit in the receive buffer even at the default rmem_max
  const { got, batches, sink } = collector((g) => g.length === count && loop.stop());
  const receiver = bindFree(loop, sink);
  const sender = bindFree(loop, ignore());
  try {
    const to = loopbackAddress(receiver.port);
    for (let i = 0; i < count; i++) sender.socket.send(to, 0, new Uint8Array(new Uint32Array([i]).buffer));
    sender.socket.flush();
    assert.equal(sender.socket.sendErrors, 0);
    await runToEnd(loop);
    assert.deepEqual(got.map((g) => new Uint32Array(g.data.buffer)[0]), [...Array(count).keys()]);
    assert.equal(batches.reduce((a, b) => a + b, 0), count);
    const c = receiver.socket.counters;
    assert.equal(c.datagrams_received, count);
    assert.ok(c.recv_calls < count / 8, `${c.recv_calls} recvmmsg calls for ${count} datagrams`);
  } finally {
    receiver.socket.close();
    sender.socket.close();
  }
});

test("EMSGSIZE is reported to the sink with the address and length (once per size and address in a batch), the rest goes out", async () => {
  const loop = boundedLoop();
  const { got, sink } = collector((g) => g.length === 2 && loop.stop());
  const receiver = bindFree(loop, sink);
  const sent = collector();
  const sender = bindFree(loop, sent.sink);
  try {
    // 65508 bytes is over the IPv4 limit: the kernel answers EMSGSIZE, as for a datagram above the
    // path MTU with DF set (a lowered path MTU needs root; tests/e2e cover that).
    const to = loopbackAddress(receiver.port);
    sender.socket.send(to, 0, Uint8Array.of(1));
    for (let i = 0; i < 2; i++) sender.socket.send(to, 0, sender.socket.reserve(65508));
    sender.socket.send(to, 0, Uint8Array.of(2));
    sender.socket.flush();
    assert.deepEqual(sent.tooBig, [{ to, length: 65508 }]);
    assert.equal(sender.socket.counters.send_too_big, 2);
    await runToEnd(loop);
    assert.deepEqual(got.map((g) => [...g.data]), [[1], [2]]);
  } finally {
    receiver.socket.close();
    sender.socket.close();
  }
});

test("with the arena held by reserved buffers, a copied datagram goes out at once, after what was queued", async (t) => {
  // 2 MB arrive in one burst: only root's SO_RCVBUFFORCE (4 MB) holds them past a stock rmem_max.
  if (process.getuid?.() !== 0) return t.skip("needs root for a 4 MB receive buffer");
  const loop = boundedLoop();
  const { got, sink } = collector((g) => g.length === 34 && loop.stop());
  const receiver = bindFree(loop, sink);
  const sender = bindFree(loop, ignore());
  try {
    const to = loopbackAddress(receiver.port);
    sender.socket.send(to, 0, Uint8Array.of(0)); // queued first
    // 32 x 65000 bytes reserved and not yet sent (as a transport sealing a queue) fill the 2 MB arena.
    const held = Array.from({ length: 32 }, (_, i) => {
      const slot = sender.socket.reserve(65000);
      slot.fill(i + 1);
      return slot;
    });
    const copied = new Uint8Array(20000).fill(0xcc);
    sender.socket.send(to, 0, copied);
    for (const slot of held) sender.socket.send(to, 0, slot);
    sender.socket.flush();
    assert.equal(sender.socket.sendErrors, 0);
    await runToEnd(loop);
    assert.deepEqual(got.map((g) => [g.data.length, g.data[0]]), [[1, 0], [20000, 0xcc], ...held.map((_, i) => [65000, i + 1])]);
  } finally {
    receiver.socket.close();
    sender.socket.close();
  }
});

test("an IPv4 socket (listening on an IPv4 address): sending to an IPv6 (not IPv4-mapped) address counts a sendError and sends nothing", async () => {
  const loop = boundedLoop();
  const { got, sink } = collector(() => loop.stop());
  const receiver = bindFree(loop, sink);
  const sender = bindFree(loop, ignore());
  try {
    // Both carry 127.0.0.1 and the receiver's port in the last 6 bytes: only the prefix is wrong.
    const ipv4Compatible = loopbackAddress(receiver.port);
    ipv4Compatible.fill(0, 10, 12); // ::127.0.0.1
    const nat64 = loopbackAddress(receiver.port);
    nat64.set([0x00, 0x64, 0xff, 0x9b], 0); // 64:ff9b::ffff:127.0.0.1
    sender.socket.send(ipv4Compatible, 0, Uint8Array.of(1));
    sender.socket.send(nat64, 0, Uint8Array.of(2));
    assert.equal(sender.socket.sendErrors, 2);
    sender.socket.send(loopbackAddress(receiver.port), 0, Uint8Array.of(3));
    sender.socket.flush();
    await runToEnd(loop);
    assert.deepEqual(got.map((g) => [...g.data]), [[3]]);
    assert.equal(sender.socket.sendErrors, 2);
  } finally {
    receiver.socket.close();
    sender.socket.close();
  }
});

test("a copied datagram over the IPv4 limit (65508 bytes) counts a sendError", async () => {
  const loop = boundedLoop();
  const { got, sink } = collector(() => loop.stop());
  const receiver = bindFree(loop, sink);
  const sender = bindFree(loop, ignore());
  try {
    sender.socket.send(loopbackAddress(receiver.port), 0, new Uint8Array(65508));
    assert.equal(sender.socket.sendErrors, 1);
    sender.socket.send(loopbackAddress(receiver.port), 0, new Uint8Array(65507));
    sender.socket.flush();
    await runToEnd(loop);
    assert.deepEqual(got.map((g) => g.data.length), [65507]);
    assert.equal(sender.socket.sendErrors, 1);
  } finally {
    receiver.socket.close();
    sender.socket.close();
  }
});

test("bind to a port in use fails with portInUse, to an address not on this host with usage, leaking no fd", () => {
  const loop = new PollLoop(() => performance.now());
  const taken = bindFree(loop, ignore());
  try {
    const fdsBefore = openFds();
    assert.throws(() => bindUdp({ host: LOCALHOST, port: taken.port }, loop, ignore()),
      (e) => e instanceof DivsError && e.exitCode === ExitCode.portInUse && e.message.includes(`${taken.port}`));
    assert.throws(() => bindUdp({ host: "198.18.255.254", port: taken.port }, loop, ignore()),
      (e) => e instanceof DivsError && e.exitCode === ExitCode.usage && e.message.includes("198.18.255.254"));
    assert.equal(openFds(), fdsBefore, "a failed bind left its socket open");
  } finally {
    taken.socket.close();
  }
});

test("close() unwatches: the socket's handler is never called again", async () => {
  const loop = boundedLoop();
  let receiverCalls = 0;
  const watch = loop.watch.bind(loop);
  const ended = collector(() => loop.stop());
  const end = bindFree(loop, ended.sink);
  const sender = bindFree(loop, ignore());
  let callsAtClose = -1;
  let receiver: Bound | undefined;
  loop.watch = (fd, onReadable) => watch(fd, () => {
    receiverCalls++;
    onReadable();
  });
  const { got, sink } = collector(() => {
    receiver!.socket.close();
    receiver!.socket.close(); // idempotent
    callsAtClose = receiverCalls;
    // The loop polls again before this arrives: a closed fd still watched would be reported (POLLNVAL).
    sender.socket.send(loopbackAddress(end.port), 0, Uint8Array.of(2));
    sender.socket.flush();
  });
  receiver = bindFree(loop, sink);
  loop.watch = watch;
  try {
    // Two datagrams of different sizes: never one GRO buffer, so at least two receive batches.
    sender.socket.send(loopbackAddress(receiver.port), 0, Uint8Array.of(1));
    sender.socket.flush();
    sender.socket.send(loopbackAddress(receiver.port), 0, Uint8Array.of(1, 1));
    sender.socket.flush();
    await runToEnd(loop);
    assert.ok(got.length >= 1, "the receiver got nothing");
    assert.equal(ended.got.length, 1);
    assert.equal(callsAtClose, 1);
    assert.equal(receiverCalls, callsAtClose, "the closed socket's handler was called again");
  } finally {
    receiver.socket.close();
    end.socket.close();
    sender.socket.close();
  }
});
