// The dual-stack underlay socket (host/linux/udp.ts bound to an IPv6 host): DF on both
// families read back, datagrams over ::1 and over 127.0.0.1 (IPv4 peers as ::ffff:a.b.c.d), a GSO run
// over IPv6, EMSGSIZE over IPv6. Needs no root.
import assert from "node:assert/strict";
import { randomFillSync } from "node:crypto";
import { test } from "node:test";
import { addressBytes } from "../../host/net/address.ts";
import { DivsError, ExitCode } from "../../host/base/errors.ts";
import {
  IP_MTU_DISCOVER, IP_PMTUDISC_DO, IPPROTO_IP, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO, type LinuxUdpSocket,
} from "../../host/linux/udp.ts";
import type { DatagramSink } from "../../host/base/services.ts";
import * as libc from "../../host/node/libc.ts";
import type { PollLoop } from "../../host/node/poll-loop.ts";
import { bindUdp } from "../../host/node/udp.ts";
import { boundedLoop, runToEnd } from "./harness.ts";

const IPV6_V6ONLY = 26;

interface Bound {
  socket: LinuxUdpSocket;
  port: number;
}

/** Binds `host` on a free high port (bind takes an explicit one): tries random ports. */
function bindFree(host: string, loop: PollLoop, sink: DatagramSink): Bound {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 40000 + Math.floor(Math.random() * 20000);
    try {
      return { socket: bindUdp({ host, port }, loop, sink), port };
    } catch (e) {
      if (!(e instanceof DivsError && e.exitCode === ExitCode.portInUse)) throw e;
    }
  }
  throw new Error(`no free UDP port on ${host} in 50 tries`);
}

interface Received {
  from: Uint8Array;
  data: Uint8Array;
}

function collector(then: (got: Received[]) => void = () => {}) {
  const got: Received[] = [];
  const tooBig: { to: Uint8Array; length: number }[] = [];
  const sink: DatagramSink = {
    datagram: (address, offset, datagram) => void got.push({ from: address.slice(offset, offset + 18), data: datagram.slice() }),
    batchEnd: () => then(got),
    sendTooBig: (address, offset, length) => void tooBig.push({ to: address.slice(offset, offset + 18), length }),
  };
  return { got, tooBig, sink };
}

const ignore = (): DatagramSink => collector().sink;

function readInt(fd: number, level: number, name: number): number {
  const value = new Int32Array(1);
  assert.equal(libc.getsockopt(fd, level, name, value, new Uint32Array([4])), 0);
  return value[0];
}

test("listening on [::]: IPV6_V6ONLY is off and DF is set for both families (read back)", async () => {
  const loop = boundedLoop();
  const { socket } = bindFree("::", loop, ignore());
  try {
    assert.equal(socket.ipv6, true);
    assert.equal(readInt(socket.fd, IPPROTO_IPV6, IPV6_V6ONLY), 0);
    assert.equal(readInt(socket.fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER), IPV6_PMTUDISC_DO);
    assert.equal(readInt(socket.fd, IPPROTO_IP, IP_MTU_DISCOVER), IP_PMTUDISC_DO);
  } finally {
    socket.close();
    loop.stop();
    await runToEnd(loop);
  }
});

test("a [::] socket sends to and receives from ::1 and 127.0.0.1 (as ::ffff:127.0.0.1), runs included", async () => {
  const loop = boundedLoop();
  const expected = 2 + 2 + 5;
  const dual = collector((g) => g.length === 2 && maybeStop());
  const v6 = collector(() => maybeStop());
  const v4 = collector(() => maybeStop());
  const maybeStop = () => dual.got.length + v6.got.length + v4.got.length === expected && loop.stop();
  const hub = bindFree("::", loop, dual.sink);
  const on6 = bindFree("::1", loop, v6.sink);
  const on4 = bindFree("127.0.0.1", loop, v4.sink);
  try {
    const run = Array.from({ length: 5 }, () => randomFillSync(new Uint8Array(1200)));
    hub.socket.send(addressBytes({ host: "::1", port: on6.port }), 0, Uint8Array.of(6));
    for (const d of run) hub.socket.send(addressBytes({ host: "::1", port: on6.port }), 0, d); // one GSO run
    hub.socket.send(addressBytes({ host: "127.0.0.1", port: on4.port }), 0, Uint8Array.of(4));
    hub.socket.flush();
    on6.socket.send(addressBytes({ host: "::1", port: hub.port }), 0, Uint8Array.of(66));
    on6.socket.flush();
    on4.socket.send(addressBytes({ host: "127.0.0.1", port: hub.port }), 0, Uint8Array.of(44));
    on4.socket.flush();
    assert.equal(hub.socket.sendErrors + on6.socket.sendErrors + on4.socket.sendErrors, 0);
    assert.equal(hub.socket.counters.gso_messages, hub.socket.gso ? 1 : 0, "the run went as one UDP_SEGMENT message");
    await runToEnd(loop);
    assert.deepEqual(v6.got.map((g) => g.data), [Uint8Array.of(6), ...run]);
    for (const g of v6.got) assert.deepEqual(g.from, addressBytes({ host: "::1", port: hub.port }));
    assert.deepEqual(v4.got, [{ from: addressBytes({ host: "127.0.0.1", port: hub.port }), data: Uint8Array.of(4) }]);
    const byByte = new Map(dual.got.map((g) => [g.data[0], g.from]));
    assert.deepEqual(byByte.get(66), addressBytes({ host: "::1", port: on6.port }));
    // The IPv4 peer in the core's form: ::ffff:127.0.0.1.
    assert.deepEqual(byByte.get(44), Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1, on4.port >> 8, on4.port & 255]));
  } finally {
    for (const b of [hub, on6, on4]) b.socket.close();
  }
});

test("IPv6 DF: a datagram that would need fragments over ::1 is refused (EMSGSIZE, told to the sink), the rest goes out", async () => {
  const loop = boundedLoop();
  const { got, sink } = collector((g) => g.length === 2 && loop.stop());
  const receiver = bindFree("::1", loop, sink);
  const sent = collector();
  const sender = bindFree("::", loop, sent.sink);
  try {
    // 65508 + 8 + 40 bytes is over lo's 65536 MTU yet a legal IPv6 payload: without IPV6_PMTUDISC_DO the
    // kernel would send it as two fragments.
    const to = addressBytes({ host: "::1", port: receiver.port });
    sender.socket.send(to, 0, Uint8Array.of(1));
    sender.socket.send(to, 0, sender.socket.reserve(65508));
    sender.socket.send(to, 0, Uint8Array.of(2));
    sender.socket.flush();
    assert.deepEqual(sent.tooBig, [{ to, length: 65508 }]);
    assert.equal(sender.socket.counters.send_too_big, 1);
    await runToEnd(loop);
    assert.deepEqual(got.map((g) => [...g.data]), [[1], [2]]);
  } finally {
    receiver.socket.close();
    sender.socket.close();
  }
});
