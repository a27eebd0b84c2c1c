// Two nodes in this process, each a real core, transport layer (one on node:crypto, one on libsodium)
// and underlay socket on 127.0.0.1, driven by one poll loop; their TAPs are arrays. Checks the batch
// path end to end: a burst of frames from A's TAP leaves in few sendmmsg calls (UDP_SEGMENT runs),
// sealed in the socket's arena, and reaches B's TAP intact and in order, opened into B's core input.
// Needs no root (no TAP, no namespace).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { CONFIG_KEYS, CORE_TAP_VNET_HDR } from "../../host/core/config.ts";
import { Core } from "../../host/core/core.ts";
import { Driver } from "../../host/engine/driver.ts";
import { DivsError, ExitCode } from "../../host/base/errors.ts";
import type { LinuxUdpSocket } from "../../host/linux/udp.ts";
import type { DriverServices } from "../../host/engine/driver.ts";
import { claimCrypto } from "../../host/secure/claims.ts";
import { Identity } from "../../host/secure/identity.ts";
import { Keyring } from "../../host/secure/keyring.ts";
import { withSodiumAead } from "../../host/secure/sodium-aead.ts";
import { SecureTransport } from "../../host/secure/transport.ts";
import { nodeCrypto } from "../../host/secure/node-crypto.ts";
import type { PollLoop } from "../../host/node/poll-loop.ts";
import { loadSodium } from "../../host/node/sodium.ts";
import { bindUdp } from "../../host/node/udp.ts";
import { boundedLoop, runToEnd } from "./harness.ts";

/** npm runs the tests from the project root, after `npm run build`. */
const CORE_WASM = "build/divs-core.wasm";
const LOCAL_PROFILE = 2; // membership timings for one host (docs/config.md)

interface TestNode {
  driver: Driver;
  socket: LinuxUdpSocket;
  port: number;
  tapFrames: Uint8Array[];
}

async function startNode(loop: PollLoop, name: string, provider: typeof nodeCrypto, key: Uint8Array, seed: number | null): Promise<TestNode> {
  const core = await Core.load(readFileSync(CORE_WASM));
  core.configSet(CORE_TAP_VNET_HDR, 0);
  core.configSet(CONFIG_KEYS.membership_profile, LOCAL_PROFILE);
  core.configSet(CONFIG_KEYS.max_datagram, 1440);
  const identity = Identity.generate(provider);
  core.useClaims(claimCrypto(provider, identity));
  const secure = new SecureTransport(provider, new Keyring(provider, key), identity, performance.now());
  const services: DriverServices = {
    clock: { now: () => performance.now() },
    timers: loop,
    random: { fill: (b) => provider.randomFill(b) },
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    latencyWakes: () => 0,
  };
  let driver: Driver | null = null;
  const sink = {
    datagram: (a: Uint8Array, o: number, d: Uint8Array) => driver?.datagramIn(a, o, d),
    batchEnd: () => driver?.datagramBatchEnd(),
    sendTooBig: (a: Uint8Array, o: number, l: number) => driver?.sendTooBig(a, o, l),
  };
  let socket: LinuxUdpSocket | null = null;
  let port = 0;
  for (let attempt = 0; socket === null; attempt++) {
    port = 40000 + Math.floor(Math.random() * 20000);
    try {
      socket = bindUdp({ host: "127.0.0.1", port }, loop, sink);
    } catch (e) {
      if (!(e instanceof DivsError && e.exitCode === ExitCode.portInUse) || attempt > 50) throw e;
    }
  }
  secure.sealInto((length) => socket.reserve(length));
  const advertise = { host: "127.0.0.1", port };
  driver = new Driver(core, { nodeId: identity.nodeId, name, advertise }, secure, services);
  const tapFrames: Uint8Array[] = [];
  const tap = { name: `tap-${name}`, mtu: 1400, write: (f: Uint8Array) => void tapFrames.push(f.slice()), close: () => {} };
  driver.start(tap, socket, seed === null ? [] : [{ host: "127.0.0.1", port: seed }]);
  return { driver, socket, port, tapFrames };
}

/** A broadcast Ethernet frame (flooded to every member) of `length` bytes carrying `seq`. */
function frame(seq: number, length: number): Uint8Array {
  const f = new Uint8Array(length);
  f.fill(0xff, 0, 6);
  f.set([0x02, 0, 0, 0, 0, 0x0a], 6);
  f.set([0x88, 0xb5], 12); // local experimental ethertype
  new DataView(f.buffer).setUint32(14, seq);
  for (let i = 18; i < length; i++) f[i] = (seq + i) & 0xff;
  return f;
}

test("a burst of 120 frames crosses two drivers over loopback in few sendmmsg calls, intact and in order", async () => {
  const calls = loadSodium();
  if (typeof calls === "string") throw new Error(`needs libsodium (Debian libsodium23): ${calls}`);
  const loop = boundedLoop();
  const key = new Uint8Array(32).fill(7);
  const a = await startNode(loop, "a", nodeCrypto, key, null);
  const b = await startNode(loop, "b", withSodiumAead(nodeCrypto, calls), key, a.port);
  const burst = Array.from({ length: 120 }, (_, i) => frame(i, i % 10 === 9 ? 200 : 1200));
  let sendCallsForBurst = 0;
  let datagramsForBurst = 0;
  const check = () => {
    // Wait until B is a member and A's path MTU search toward it has passed 1200-byte frames (until then
    // frames are sized for the 1202-byte base and a 1203-byte FRAME datagram would not be sent).
    const peer = a.driver.members().find((m) => !m.self && m.state === "alive");
    if (peer === undefined || peer.maxDatagram < 1203) return loop.set(check, 20);
    // Then send the burst as one TAP batch.
    const before = { ...a.socket.counters };
    for (const f of burst) a.driver.frameIn(f);
    a.driver.flush();
    sendCallsForBurst = a.socket.counters.send_calls - before.send_calls;
    datagramsForBurst = a.socket.counters.datagrams_sent - before.datagrams_sent;
    const done = () => (b.tapFrames.length >= burst.length ? loop.stop() : loop.set(done, 10));
    done();
  };
  loop.set(check, 20);
  try {
    await runToEnd(loop);
    assert.deepEqual(b.tapFrames.slice(0, burst.length), burst);
    // The core packs the small frames with their neighbours: fewer datagrams than frames.
    assert.ok(datagramsForBurst >= 100, `${datagramsForBurst} datagrams for 120 frames`);
    assert.ok(sendCallsForBurst >= 1 && sendCallsForBurst <= 2, `${sendCallsForBurst} sendmmsg calls for ${datagramsForBurst} datagrams`);
    if (a.socket.gso) assert.ok(a.socket.counters.gso_messages > 0, "no UDP_SEGMENT run");
  } finally {
    a.driver.stop();
    b.driver.stop();
    a.socket.close();
    b.socket.close();
  }
});
