import assert from "node:assert/strict";
import { test } from "node:test";
import { totalRejections } from "../../host/secure/counters.ts";
import { DATA, HS_INIT, OFF_KEY_ID } from "../../host/secure/handshake.ts";
import { readU32 } from "../../host/secure/bytes.ts";
import { bytes, established, ip, newKey, Node, type Net, text } from "./harness.ts";

/** Both sides send one numbered datagram every `stepMs` until `untilMs`, ticking as a host would. */
function traffic(net: Net, a: Node, b: Node, untilMs: number, stepMs = 250, between?: (now: number) => void): number {
  let n = 0;
  for (; net.now < untilMs; net.now += stepMs) {
    between?.(net.now);
    net.tick();
    net.send(a, b, bytes(`a${n}`));
    net.send(b, a, bytes(`b${n}`));
    n++;
    net.pump();
  }
  return n;
}

function assertAllDelivered(node: Node, prefix: string, count: number, skip = 0): void {
  const got = node.delivered.slice(skip).map(text);
  assert.deepEqual(got, Array.from({ length: count }, (_, i) => `${prefix}${i}`));
}

test("rekeying keeps data flowing both ways with no loss across several switch-overs and expiries", () => {
  const { net, a, b } = established();
  const n = traffic(net, a, b, 400_000);
  assertAllDelivered(b, "a", n, 1);
  assertAllDelivered(a, "b", n);
  const made = a.t.counters.sessions_initiated + a.t.counters.sessions_responded;
  assert.ok(made >= 3, `only ${made} sessions in 400 s`);
  assert.equal(totalRejections(a.t.counters) + totalRejections(b.t.counters), 0);
  assert.ok(a.t.sessionCount() <= 2 && b.t.sessionCount() <= 2, "old sessions are cleaned up");
});

test("packets sealed on the old session still open during its grace period, not after", () => {
  const { net, a, b } = established();
  net.now = a.t.config.rekeyAfterMs;
  net.send(a, b, bytes("old"));
  const [oldData, init] = net.take();
  assert.equal(oldData.data[1], DATA);
  assert.equal(init.data[1], HS_INIT);
  const late = net.post(a, a.sent(a.t.outgoing(b.key, b.addr, bytes("old too"), net.now))); // kept back below
  net.take();
  net.inflight.push(init);
  net.pump(); // INIT, CHALLENGE, CONFIRM, keepalive: both sides on the new session
  net.send(a, b, bytes("new"));
  net.pump();
  assert.deepEqual(b.delivered.map(text), ["hello", "new"]);
  assert.equal(net.deliver(oldData)!.length, 3, "in flight across the switch-over");
  net.now += a.t.config.oldSessionGraceMs;
  net.tick();
  assert.equal(net.deliver(late[0]), null);
  assert.equal(b.t.counters.no_session, 1);
});

test("rekeying after a number of datagrams keeps every datagram", () => {
  const { net, a, b } = established({ rekeyAfterMessages: 100 });
  const n = traffic(net, a, b, 200, 1); // 200 datagrams each way in 200 ms
  assertAllDelivered(b, "a", n, 1);
  assertAllDelivered(a, "b", n);
  assert.ok(a.t.counters.handshakes_started + b.t.counters.handshakes_started >= 3);
});

test("an idle pair's sessions expire and the next datagram makes a new one", () => {
  const { net, a, b } = established();
  net.now = a.t.config.expireAfterMs;
  net.tick();
  assert.equal(a.t.sessionCount() + b.t.sessionCount(), 0);
  assert.equal(a.t.peerCount() + b.t.peerCount(), 0);
  net.send(b, a, bytes("again"));
  net.pump();
  assert.deepEqual(a.delivered.map(text), ["again"]);
});

test("key rotation on a running pair loses nothing and new handshakes use the new key", () => {
  const { net, a, b, key } = established();
  const k2 = newKey();
  const steps: [number, () => void][] = [
    [10_000, () => { a.t.keyring.install(k2); b.t.keyring.install(k2); }],
    [20_000, () => a.t.keyring.use(a.t.keyring.install(k2))],
    [30_000, () => b.t.keyring.use(b.t.keyring.install(k2))],
    [40_000, () => { a.t.keyring.remove(idOf(a, key)); }],
    [50_000, () => { b.t.keyring.remove(idOf(b, key)); }],
  ];
  const oldId = idOf(a, key);
  const n = traffic(net, a, b, 100_000, 250, (now) => {
    for (const [at, step] of steps) if (now === at) step();
  });
  assertAllDelivered(b, "a", n, 1);
  assertAllDelivered(a, "b", n);
  const newId = a.t.keyring.primary.id;
  assert.notEqual(newId, oldId);
  for (const s of [...a.t.sessions(net.now), ...b.t.sessions(net.now)]) assert.equal(s.keyId, newId);
  assert.equal(totalRejections(a.t.counters) + totalRejections(b.t.counters), 0);

  const c = new Node("c", ip(3), 4789, k2, net.now);
  net.add(c);
  net.send(c, a, bytes("from c"));
  assert.equal(readU32(net.inflight[0].data, OFF_KEY_ID), newId);
  net.pump();
  assert.equal(text(a.delivered.at(-1)!), "from c");

  const stale = new Node("d", ip(4), 4789, key, net.now);
  net.add(stale);
  net.send(stale, a, bytes("old key"));
  net.pump();
  assert.equal(text(a.delivered.at(-1)!), "from c", "the removed key no longer gets in");
  assert.ok(a.t.counters.unknown_key_id > 0);
});

test("divs key remove evicts the sessions made with that key at once, without losing data", () => {
  const { net, a, b, key } = established();
  const k2 = newKey();
  for (const n of [a, b]) n.t.keyring.use(n.t.keyring.install(k2));
  const oldId = idOf(b, key);
  b.t.keyring.remove(oldId);
  net.post(b, b.sent(b.t.handleTimeout(net.now))); // what the driver does on a keyring change
  assert.equal(b.t.counters.sessions_evicted, 1);
  assert.equal(b.t.counters.handshakes_started, 1, "a new session is started at once, not on the next send");
  net.pump();
  net.send(a, b, bytes("to b"));
  net.send(b, a, bytes("to a"));
  net.pump();
  assert.equal(text(b.delivered.at(-1)!), "to b");
  assert.equal(text(a.delivered.at(-1)!), "to a");
  net.now += b.t.config.removedKeyGraceMs;
  net.tick();
  assert.deepEqual(b.t.sessions(net.now).map((s) => s.keyId), [idOf(b, k2)], "no session under the removed key is left");
  assert.equal(totalRejections(a.t.counters) + totalRejections(b.t.counters), 0);
});

function idOf(n: Node, key: Uint8Array): number {
  const id = n.t.keyring.install(key); // idempotent: returns the id of an installed key
  return id;
}
