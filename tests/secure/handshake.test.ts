import assert from "node:assert/strict";
import { test } from "node:test";
import { totalRejections } from "../../host/secure/counters.ts";
import { CONFIRM_LEN, HS_CHALLENGE, HS_CONFIRM, HS_INIT, INIT_LEN, OFF_KEY_ID, WIRE_VERSION } from "../../host/secure/handshake.ts";
import { bytes, established, ip, newKey, Node, pair, text } from "./harness.ts";

test("a pair completes the handshake and exchanges data both ways", () => {
  const { net, a, b } = pair();
  net.send(a, b, bytes("a1"));
  net.send(a, b, bytes("a2")); // queued behind the same handshake
  const init = net.inflight.filter((f) => f.data[1] === HS_INIT);
  assert.equal(init.length, 1, "one handshake for two datagrams");
  net.pump();
  assert.deepEqual(b.delivered.map(text), ["a1", "a2"]);
  net.send(b, a, bytes("b1"));
  net.send(a, b, bytes("a3"));
  net.pump();
  assert.deepEqual(a.delivered.map(text), ["b1"]);
  assert.deepEqual(b.delivered.map(text), ["a1", "a2", "a3"]);
  assert.equal(a.t.sessionCount(), 1);
  assert.equal(b.t.sessionCount(), 1);
  assert.equal(a.t.counters.sessions_initiated, 1);
  assert.equal(b.t.counters.sessions_responded, 1);
  assert.equal(a.t.counters.keepalives_received, 1, "the responder's keepalive confirmed the session");
  assert.equal(totalRejections(a.t.counters) + totalRejections(b.t.counters), 0);
});

test("a node with another key never gets a datagram delivered and the responder allocates nothing", () => {
  const { net, a, b } = established();
  const stranger = new Node("c", ip(3), 4789, newKey(), 0);
  net.add(stranger);
  const challengesBefore = b.t.counters.challenges_sent;
  for (let i = 0; i < 20; i++) {
    net.send(stranger, b, bytes(`x${i}`));
    net.now += 1000;
    net.tick(); // retransmits
    net.pump();
  }
  assert.equal(b.delivered.length, 1, "only A's hello");
  assert.equal(b.t.sessionCount(), 1, "only the session with A");
  assert.equal(b.t.peerCount(), 1);
  assert.ok(b.t.counters.unknown_key_id > 0);
  assert.equal(b.t.counters.challenges_sent, challengesBefore, "no answer to the stranger");
  assert.equal(stranger.t.sessionCount(), 0);
  assert.ok(stranger.t.counters.handshake_timeouts >= 1);
  assert.ok(a.t.sessionCount() === 1);
});

test("a node of the previous wire version (unsigned MAC claims) makes no session: every packet counted bad_version", () => {
  // Version 2 nodes speak the same handshake but gossip MAC claims a version 3 core refuses (and the
  // reverse): they must not get as far as a session. A version 2 node's packets look like ours with
  // byte 0 = 2; it drops ours the same way (its check is the same line).
  assert.equal(WIRE_VERSION, 3);
  const { net, a, b } = pair();
  const [init] = net.post(a, a.sent(a.t.outgoing(b.key, b.addr, bytes("x"), 0)));
  init.data[0] = WIRE_VERSION - 1;
  net.pump();
  assert.equal(b.t.counters.bad_version, 1);
  assert.equal(b.t.counters.challenges_sent, 0);
  assert.equal(b.t.sessionCount() + b.t.peerCount(), 0);
  net.send(b, a, bytes("y"));
  const [challengeOrInit] = net.take();
  assert.notEqual(challengeOrInit.data[1], HS_CHALLENGE);
  challengeOrInit.data[0] = WIRE_VERSION - 1;
  net.deliver(challengeOrInit);
  net.pump();
  assert.equal(a.t.counters.bad_version, 1);
  assert.equal(a.t.sessionCount(), 0);
});

test("a stranger using a valid key id without the key fails the INIT mac before any work", () => {
  const { net, b } = pair();
  const stranger = new Node("c", ip(3), 4789, newKey(), 0);
  net.add(stranger);
  const [init] = net.post(stranger, stranger.sent(stranger.t.outgoing(b.key, b.addr, bytes("x"), 0)));
  init.data.set(b.t.keyring.primary.id === 0 ? [0, 0, 0, 0] : idBytes(b.t.keyring.primary.id), OFF_KEY_ID);
  net.pump();
  assert.equal(b.t.counters.bad_mac, 1);
  assert.equal(b.t.counters.challenges_sent, 0);
  assert.equal(b.t.sessionCount(), 0);
  assert.equal(b.t.peerCount(), 0);
});

test("a forged HS_CONFIRM from someone without the key allocates no session", () => {
  const { net, a, b } = pair();
  net.send(a, b, bytes("hi"));
  net.deliver(net.inflight.shift()!); // INIT -> CHALLENGE
  const challenge = net.take()[0];
  // The stranger saw the challenge on the path and answers it with a made-up proof.
  const forged = new Uint8Array(CONFIRM_LEN);
  forged.set(net.post(a, a.sent(a.t.incoming(b.key, b.addr, challenge.data, 0)))[0].data);
  net.take();
  forged[CONFIRM_LEN - 1] ^= 1;
  const r = b.t.incoming(a.key, a.addr, forged, 0);
  assert.equal(r.deliver, null);
  assert.equal(b.sent().length, 0);
  assert.equal(b.t.counters.bad_proof, 1);
  assert.equal(b.t.sessionCount(), 0);
});

test("rate limiting drops a flood of HS_INIT from one source while another source completes", () => {
  const { net, a, b, key } = pair();
  const c = new Node("c", ((198 << 24) | (19 << 16) | (1 << 8) | 3) >>> 0, 4789, key, 0); // another /24: another budget
  net.add(c);
  net.send(a, b, bytes("flood"));
  const [init] = net.take();
  for (let i = 0; i < 1000; i++) b.sent(b.t.incoming(a.key, a.addr, init.data, 0));
  assert.equal(b.t.counters.challenges_sent, 40, "the burst");
  assert.equal(b.t.counters.rate_limited, 960);
  net.send(c, b, bytes("from c"));
  net.pump();
  assert.deepEqual(b.delivered.map(text), ["from c"]);
  // One second later A's source has 20 tokens again.
  net.now = 1000;
  let answered = 0;
  for (let i = 0; i < 100; i++) answered += b.sent(b.t.incoming(a.key, a.addr, init.data, net.now)).length;
  assert.equal(answered, 20);
});

test("simultaneous handshakes from both sides end with one session each", () => {
  const { net, a, b } = pair();
  net.send(a, b, bytes("from a"));
  net.send(b, a, bytes("from b"));
  net.pump();
  assert.deepEqual(a.delivered.map(text), ["from b"]);
  assert.deepEqual(b.delivered.map(text), ["from a"]);
  assert.equal(a.t.counters.handshake_collisions + b.t.counters.handshake_collisions, 1);
  assert.equal(a.t.sessionCount(), 1);
  assert.equal(b.t.sessionCount(), 1);
  assert.equal(a.t.pendingCount() + b.t.pendingCount(), 0);
});

test("a lost CHALLENGE is recovered by retransmitting HS_INIT with backoff", () => {
  const { net, a, b } = pair();
  net.send(a, b, bytes("late"));
  net.pump((f) => f.data[1] === 0x82);
  assert.equal(b.delivered.length, 0);
  assert.ok(a.t.pollTimeout() <= 1000);
  net.now = a.t.pollTimeout();
  net.tick();
  net.pump();
  assert.deepEqual(b.delivered.map(text), ["late"]);
  assert.equal(a.t.counters.handshake_retransmits, 1);
});

test("a lost HS_CONFIRM is recovered after the confirm timeout", () => {
  const { net, a, b } = pair();
  net.send(a, b, bytes("one"));
  net.pump((f) => f.data[1] === 0x83);
  assert.equal(b.t.sessionCount(), 0);
  net.now = 5000;
  net.tick();
  net.pump();
  assert.equal(a.t.counters.confirm_timeouts, 1);
  net.send(a, b, bytes("two"));
  net.pump();
  assert.deepEqual(b.delivered.map(text), ["two"]);
});

test("INIT sizes follow the documented layout", () => {
  const { net, a, b } = pair();
  net.send(a, b, bytes("x"));
  assert.equal(net.inflight[0].data.length, INIT_LEN);
});

function idBytes(id: number): number[] {
  return [id >>> 24, (id >>> 16) & 255, (id >>> 8) & 255, id & 255];
}

test("datagrams waiting for a handshake are bounded, and dropped when it gives up", () => {
  const { net, a, b } = pair();
  for (let i = 0; i < 20; i++) net.send(a, b, bytes(`q${i}`));
  assert.equal(a.t.counters.queue_full, 4, "16 queued, 4 refused");
  net.take(); // B is unreachable
  for (net.now = 0; net.now <= a.t.config.handshakeTimeoutMs; net.now = a.t.pollTimeout()) {
    net.tick();
    net.take();
  }
  assert.equal(a.t.counters.handshake_timeouts, 1);
  assert.equal(a.t.counters.queue_dropped, 16);
  assert.ok(a.t.counters.handshake_retransmits >= 3, "1 s, 2 s, 4 s, 8 s backoff");
  assert.equal(a.t.peerCount(), 0, "nothing left behind");
  net.send(a, b, bytes("later"));
  net.pump();
  assert.deepEqual(b.delivered.map(text), ["later"]);
});

test("a node's own handshake bounced back to it is dropped: no session with itself (reflection)", () => {
  const { a, b } = pair();
  // An on-path attacker returns everything A sends toward B to A, as if from B.
  let packets = a.sent(a.t.outgoing(b.key, b.addr, bytes("x"), 0)).map((tx) => Uint8Array.from(tx.data));
  for (let round = 0; round < 5 && packets.length > 0; round++) {
    packets = packets.flatMap((p) => a.sent(a.t.incoming(b.key, b.addr, p, 0)).map((tx) => Uint8Array.from(tx.data)));
  }
  assert.equal(a.t.counters.reflected, 1);
  assert.equal(a.t.counters.challenges_sent, 0);
  assert.equal(a.t.sessionCount(), 0, "no session with itself");
});

test("an HS_CONFIRM held back past the confirm window is refused: it cannot cut the responder's direction", () => {
  const { net, a, b } = pair();
  net.send(a, b, bytes("x"));
  // An on-path attacker holds A's confirm (and the data behind it): A's session times out unconfirmed.
  const held: typeof net.inflight = [];
  net.pump((f) => f.from === a && f.data[1] !== HS_INIT && held.push(f) > 0);
  assert.equal(held[0].data[1], HS_CONFIRM);
  net.now = a.t.config.confirmTimeoutMs;
  net.tick();
  net.pump(); // A's new handshake: a session both hold
  net.send(b, a, bytes("before"));
  net.pump();
  assert.deepEqual(a.delivered.map(text), ["before"]);
  // A minute later the held packets arrive: B must not make (and send on) a session A no longer holds.
  net.now = 60_000;
  for (const f of held) net.deliver(f);
  assert.equal(b.t.counters.bad_cookie, 1);
  net.send(b, a, bytes("after"));
  net.pump();
  assert.deepEqual(a.delivered.map(text), ["before", "after"]);
  // A confirm within the window is still taken (a round trip of almost two windows).
  const late = pair();
  late.net.send(late.a, late.b, bytes("slow"));
  late.net.pump((f) => {
    if (f.data[1] === HS_CONFIRM) late.net.now = 2 * late.b.t.config.confirmWindowMs - 1;
    return false;
  });
  assert.deepEqual(late.b.delivered.map(text), ["slow"]);
});
