// The data-plane thread's UDP socket (host/node/udp.ts) on 127.0.0.1, driven by a real poll loop:
// payload and source address bytes, bursts, the IPv6 refusal, bind errors, close. Needs no root.
import assert from "node:assert/strict";
import { randomFillSync } from "node:crypto";
import { closeSync, readdirSync } from "node:fs";
import { test } from "node:test";
import { DivsError, ExitCode } from "../../host/common/errors.ts";
import type { DatagramSink } from "../../host/common/platform.ts";
import { PollLoop } from "../../host/node/poll-loop.ts";
import { UdpSocket } from "../../host/node/udp.ts";
import { boundedLoop, runToEnd } from "./harness.ts";

const LOCALHOST = "127.0.0.1";

interface Bound {
  socket: UdpSocket;
  port: number;
}

/** Binds 127.0.0.1 on a free high port (UdpSocket.bind takes an explicit one): tries random ports. */
function bindFree(loop: PollLoop, sink: DatagramSink): Bound {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 40000 + Math.floor(Math.random() * 20000);
    try {
      return { socket: UdpSocket.bind({ host: LOCALHOST, port }, loop, sink), port };
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

/** A sink that copies what it gets (the socket reuses its buffers) and calls `then` after each. */
function collector(then: (got: Received[]) => void = () => {}): { got: Received[]; sink: DatagramSink } {
  const got: Received[] = [];
  const sink: DatagramSink = (address, offset, datagram) => {
    got.push({ from: address.slice(offset, offset + 18), data: datagram.slice() });
    then(got);
  };
  return { got, sink };
}

const openFds = () => readdirSync("/proc/self/fd").length;

test("datagrams of 1, 1400 and 65000 bytes arrive intact with the sender's 18-byte address", async () => {
  const loop = boundedLoop();
  const payloads = [1, 1400, 65000].map((n) => randomFillSync(new Uint8Array(n)));
  const { got, sink } = collector((g) => g.length === payloads.length && loop.stop());
  const receiver = bindFree(loop, sink);
  const sender = bindFree(loop, () => assert.fail("the sender got a datagram"));
  try {
    // The address sits at an offset inside a larger buffer, as in the core's output records.
    const records = new Uint8Array(7 + 18 + 5);
    records.set(loopbackAddress(receiver.port), 7);
    for (const p of payloads) sender.socket.send(records, 7, p);
    assert.equal(sender.socket.sendErrors, 0);
    await runToEnd(loop);
    assert.deepEqual(got.map((g) => g.data), payloads);
    for (const g of got) assert.deepEqual(g.from, loopbackAddress(sender.port));
  } finally {
    receiver.socket.close();
    sender.socket.close();
  }
});

test("a burst of 500 datagrams all arrives, read in batches of at most 64 per readiness", async () => {
  const loop = boundedLoop();
  const count = 500; // 4-byte datagrams: all fit in the receive buffer even at the default rmem_max
  const batches: number[] = [];
  let batch = 0;
  const { got, sink } = collector((g) => {
    // One deferred call per batch, as the driver defers its process() call.
    if (batch++ === 0) loop.defer(() => {
      batches.push(batch);
      batch = 0;
      if (g.length === count) loop.stop();
    });
  });
  const receiver = bindFree(loop, sink);
  const sender = bindFree(loop, () => {});
  try {
    const to = loopbackAddress(receiver.port);
    for (let i = 0; i < count; i++) sender.socket.send(to, 0, new Uint8Array(new Uint32Array([i]).buffer));
    assert.equal(sender.socket.sendErrors, 0);
    await runToEnd(loop);
    assert.deepEqual(got.map((g) => new Uint32Array(g.data.buffer)[0]), [...Array(count).keys()]);
    assert.equal(batches.reduce((a, b) => a + b, 0), count);
    assert.ok(Math.max(...batches) <= 64, `batches ${batches.join(",")}`);
    assert.ok(batches.length >= Math.ceil(count / 64) && batches.length < count, `batches ${batches.join(",")}`);
  } finally {
    receiver.socket.close();
    sender.socket.close();
  }
});

test("sending to an IPv6 (not IPv4-mapped) address counts a sendError and sends nothing", async () => {
  const loop = boundedLoop();
  const { got, sink } = collector(() => loop.stop());
  const receiver = bindFree(loop, sink);
  const sender = bindFree(loop, () => {});
  try {
    // Both carry 127.0.0.1 and the receiver's port in the last 6 bytes: only the prefix is wrong.
    const ipv4Compatible = loopbackAddress(receiver.port);
    ipv4Compatible.fill(0, 10, 12); // ::127.0.0.1
    const nat64 = loopbackAddress(receiver.port);
    nat64.set([0x00, 0x64, 0xff, 0x9b], 0); // 64:ff9b::ffff:127.0.0.1
    sender.socket.send(ipv4Compatible, 0, Uint8Array.of(1));
    sender.socket.send(nat64, 0, Uint8Array.of(2));
    assert.equal(sender.socket.sendErrors, 2);
    // Loopback keeps order: if either had gone out it would arrive before this one.
    sender.socket.send(loopbackAddress(receiver.port), 0, Uint8Array.of(3));
    await runToEnd(loop);
    assert.deepEqual(got.map((g) => [...g.data]), [[3]]);
    assert.equal(sender.socket.sendErrors, 2);
  } finally {
    receiver.socket.close();
    sender.socket.close();
  }
});

test("a datagram sendto(2) refuses (65508 bytes, over the IPv4 limit) counts a sendError", async () => {
  const loop = boundedLoop();
  const { got, sink } = collector(() => loop.stop());
  const receiver = bindFree(loop, sink);
  const sender = bindFree(loop, () => {});
  try {
    sender.socket.send(loopbackAddress(receiver.port), 0, new Uint8Array(65508));
    assert.equal(sender.socket.sendErrors, 1);
    sender.socket.send(loopbackAddress(receiver.port), 0, new Uint8Array(65507));
    await runToEnd(loop);
    assert.deepEqual(got.map((g) => g.data.length), [65507]);
    assert.equal(sender.socket.sendErrors, 1);
  } finally {
    receiver.socket.close();
    sender.socket.close();
  }
});

test("bind to a port in use fails with portInUse, to an address not on this host with usage, leaking no fd", () => {
  const loop = new PollLoop(() => performance.now(), () => {});
  const taken = bindFree(loop, () => {});
  try {
    const fdsBefore = openFds();
    assert.throws(() => UdpSocket.bind({ host: LOCALHOST, port: taken.port }, loop, () => {}),
      (e) => e instanceof DivsError && e.exitCode === ExitCode.portInUse && e.message.includes(`${taken.port}`));
    assert.throws(() => UdpSocket.bind({ host: "198.18.255.254", port: taken.port }, loop, () => {}),
      (e) => e instanceof DivsError && e.exitCode === ExitCode.usage && e.message.includes("198.18.255.254"));
    assert.equal(openFds(), fdsBefore, "a failed bind left its socket open");
  } finally {
    taken.socket.close();
    closeSync(loop.wakeupFd);
  }
});

test("close() unwatches: the socket's handler is never called again", async () => {
  const loop = boundedLoop();
  // Count calls of the receiver's readiness handler, the one the socket gives the loop.
  let receiverCalls = 0;
  const watch = loop.watch.bind(loop);
  const { got: ended, sink: endSink } = collector(() => loop.stop());
  const end = bindFree(loop, endSink);
  const sender = bindFree(loop, () => {});
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
  });
  receiver = bindFree(loop, sink);
  loop.watch = watch;
  try {
    sender.socket.send(loopbackAddress(receiver.port), 0, Uint8Array.of(1));
    sender.socket.send(loopbackAddress(receiver.port), 0, Uint8Array.of(1));
    await runToEnd(loop);
    assert.equal(got.length, 1, "the receiver's sink ran after close()");
    assert.equal(ended.length, 1);
    assert.equal(callsAtClose, 1);
    assert.equal(receiverCalls, callsAtClose, "the closed socket's handler was called again");
  } finally {
    receiver.socket.close();
    end.socket.close();
    sender.socket.close();
  }
});

test("a second close() leaves alone a new socket that got the same fd number", async () => {
  const loop = boundedLoop();
  const first = bindFree(loop, () => {});
  first.socket.close();
  const { got, sink } = collector(() => loop.stop());
  const second = bindFree(loop, sink); // socket(2) takes the lowest free fd: the one first just closed
  first.socket.close();
  const sender = bindFree(loop, () => {});
  try {
    sender.socket.send(loopbackAddress(second.port), 0, Uint8Array.of(7));
    await runToEnd(loop);
    assert.deepEqual(got.map((g) => [...g.data]), [[7]]);
  } finally {
    second.socket.close();
    sender.socket.close();
  }
});

test("closed sockets give their loop slot back: more binds and closes than the loop has slots", () => {
  const loop = new PollLoop(() => performance.now(), () => {});
  try {
    for (let i = 0; i < 20; i++) bindFree(loop, () => {}).socket.close();
  } finally {
    closeSync(loop.wakeupFd);
  }
});
