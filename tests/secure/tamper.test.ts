import assert from "node:assert/strict";
import { test } from "node:test";
import { totalRejections } from "../../host/secure/counters.ts";
import { HS_CHALLENGE, HS_CONFIRM, HS_INIT } from "../../host/secure/handshake.ts";
import { REPLAY_OK, REPLAY_WINDOW, ReplayWindow } from "../../host/secure/replay.ts";
import { addressKey, encodeAddress } from "../../host/net/address.ts";
import { bytes, established, ip, newKey, Node, pair, text } from "./harness.ts";

// Flip tests send hundreds of handshake packets from one source in an instant: lift the rate limit
// so each one reaches the check that should catch it (rate limiting has its own test).
const UNLIMITED = { rateLimitPerSecond: 1e9, rateLimitBurst: 1e9 };

/** Every single-bit flip of `packet`, each handed to `to` as if from `from`, must be rejected and counted. */
function assertEveryFlipRejected(from: Node, to: Node, packet: Uint8Array): void {
  const sessions = to.t.sessionCount();
  const pending = to.t.pendingCount();
  for (let i = 0; i < packet.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const flipped = Uint8Array.from(packet);
      flipped[i] ^= 1 << bit;
      const before = totalRejections(to.t.counters);
      const r = to.t.incoming(from.key, from.addr, flipped, 0);
      assert.equal(r.deliver, null, `byte ${i} bit ${bit} delivered`);
      assert.equal(to.sent().length, 0, `byte ${i} bit ${bit} answered`);
      assert.equal(totalRejections(to.t.counters), before + 1, `byte ${i} bit ${bit} not counted`);
    }
  }
  assert.equal(to.t.sessionCount(), sessions);
  assert.equal(to.t.pendingCount(), pending);
}

test("every bit flip of a sealed DATA packet is rejected and counted; the original still opens", () => {
  const { net, a, b } = established(UNLIMITED);
  for (const size of [0, 64, 1400]) {
    net.send(a, b, new Uint8Array(size).fill(7));
    const [sealed] = net.take();
    assertEveryFlipRejected(a, b, sealed.data);
    const r = b.t.incoming(a.key, a.addr, sealed.data, 0);
    assert.equal(r.deliver === null ? 0 : r.deliver.length, size === 0 ? 0 : size);
  }
  assert.ok(b.t.counters.decrypt_failed > 0 && b.t.counters.no_session > 0 && b.t.counters.bad_version > 0);
});

test("every bit flip of HS_INIT, HS_CHALLENGE and HS_CONFIRM is rejected and counted", () => {
  const { net, a, b } = pair(UNLIMITED);
  net.send(a, b, bytes("after the flips"));
  const [init] = net.take();
  assert.equal(init.data[1], HS_INIT);
  assertEveryFlipRejected(a, b, init.data);
  assert.equal(b.t.counters.challenges_sent, 0);

  net.deliver(init);
  const [challenge] = net.take();
  assert.equal(challenge.data[1], HS_CHALLENGE);
  assertEveryFlipRejected(b, a, challenge.data);
  assert.equal(a.t.sessionCount(), 0);

  net.deliver(challenge);
  const [confirm, queued] = net.take();
  assert.equal(confirm.data[1], HS_CONFIRM);
  assertEveryFlipRejected(a, b, confirm.data);
  assert.equal(b.t.sessionCount(), 0, "no flipped confirm made a session");

  net.deliver(confirm);
  net.deliver(queued);
  net.pump();
  assert.deepEqual(b.delivered.map(text), ["after the flips"]);
  for (const name of ["bad_mac", "bad_cookie", "bad_proof", "unknown_key_id", "unknown_handshake", "bad_type", "bad_length"] as const) {
    assert.ok(a.t.counters[name] + b.t.counters[name] > 0, `${name} never counted`);
  }
});

test("a replayed DATA packet, a replayed HS_CONFIRM and an old HS_CHALLENGE are rejected", () => {
  const { net, a, b } = pair();
  net.send(a, b, bytes("first"));
  net.deliver(net.inflight.shift()!); // INIT
  const challenge = net.inflight[0];
  net.deliver(net.inflight.shift()!); // CHALLENGE
  const confirm = net.inflight[0];
  const data = net.inflight[1];
  net.pump();
  assert.deepEqual(b.delivered.map(text), ["first"]);

  assert.equal(net.deliver(data), null);
  assert.equal(b.t.counters.replayed, 1);

  const r = b.t.incoming(a.key, a.addr, confirm.data, 0);
  assert.equal(b.sent().length, 0);
  assert.equal(b.t.counters.replayed_confirm, 1);
  assert.equal(b.t.sessionCount(), 1);

  const c = a.t.incoming(b.key, b.addr, challenge.data, 0);
  assert.equal(a.sent().length, 0);
  assert.equal(a.t.counters.unknown_handshake, 1);
  assert.equal(a.t.sessionCount(), 1);

  // Once the cookie periods have rotated out, the confirm is not even recognised.
  net.now = 2 * b.t.config.cookiePeriodMs + 1;
  net.tick();
  b.sent(b.t.incoming(a.key, a.addr, confirm.data, net.now));
  assert.equal(b.t.counters.bad_cookie, 1);
});

test("out-of-order delivery within the window is accepted, below it rejected", () => {
  const { net, a, b } = established();
  const sent: { data: Uint8Array }[] = [];
  for (let i = 0; i < 3000; i++) {
    net.send(a, b, bytes(String(i)));
    sent.push(net.take()[0]);
  }
  const deliver = (i: number) => b.t.incoming(a.key, a.addr, sent[i].data, 0).deliver;
  // Counter of datagram i is i + 1 (counter 0 carried the hello).
  assert.notEqual(deliver(2999), null);
  const inWindow = [];
  for (let i = 2999 - REPLAY_WINDOW + 1; i < 2999; i++) inWindow.push(i);
  shuffle(inWindow);
  for (const i of inWindow) assert.equal(text(deliver(i)!), String(i));
  assert.equal(deliver(2999 - REPLAY_WINDOW), null);
  assert.equal(b.t.counters.too_old, 1);
  assert.equal(deliver(inWindow[0]), null);
  assert.equal(b.t.counters.replayed, 1);
});

test("the replay window matches a reference model on random counter streams", () => {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  for (let round = 0; round < 50; round++) {
    const w = new ReplayWindow();
    const seen = new Set<number>();
    let top = -1;
    const base = round % 2 ? 2 ** 40 : 0; // high counters exercise the word arithmetic past 2^32
    for (let i = 0; i < 2000; i++) {
      const c = Math.max(base, top + rand(6000) - 4000);
      const expected = c > top ? true : top - c >= REPLAY_WINDOW ? false : !seen.has(c);
      assert.equal(w.check(c) === REPLAY_OK, expected, `round ${round} step ${i} counter ${c}`);
      if (expected) {
        w.accept(c);
        seen.add(c);
        top = Math.max(top, c);
      }
    }
  }
});

function shuffle<T>(xs: T[]): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
}

test("the peer map is bounded: datagrams for more addresses than maxPeers are dropped and counted", () => {
  const a = new Node("a", ip(1), 4789, newKey(), 0, { maxPeers: 8 });
  const addr = new Uint8Array(18);
  for (let port = 1; port <= 20; port++) {
    encodeAddress(ip(2), port, addr);
    a.sent(a.t.outgoing(addressKey(ip(2), port), addr, bytes("x"), 0));
  }
  assert.equal(a.t.peerCount(), 8);
  assert.equal(a.t.pendingCount(), 8);
  assert.equal(a.t.counters.too_many_peers, 12);
});
