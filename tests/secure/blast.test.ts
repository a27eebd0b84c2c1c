import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { encodeAddress, addressKey } from "../../host/net/address.ts";
import { writeU32 } from "../../host/secure/bytes.ts";
import { CONFIRM_LEN, DATA, HS_CHALLENGE, HS_CONFIRM, HS_INIT, INIT_LEN, OFF_DATA_IDX, OFF_KEY_ID, WIRE_VERSION } from "../../host/secure/handshake.ts";
import { bytes, crypto, established, ip, newKey, Node, text } from "./harness.ts";

function snapshot(n: Node) {
  return { sessions: n.t.sessionCount(), peers: n.t.peerCount(), pending: n.t.pendingCount(), info: JSON.stringify(n.t.sessions(0)) };
}

test("a bounded blast of random datagrams and handshake attempts never throws, delivers or changes state", () => {
  const { net, a, b } = established();
  net.send(b, a, bytes("warm")); // b's session is used in both directions
  net.pump();
  const before = snapshot(b);
  const liveIdx = readIdx(net, a, b);
  const rnd = new Uint8Array(256);
  const addr = new Uint8Array(18);
  let transmits = 0;
  const fire = (packet: Uint8Array, i: number, sources: number) => {
    const src = ip(10 + (i % sources));
    encodeAddress(src, 1000 + (i % 7), addr);
    const r = b.t.incoming(addressKey(src, 1000 + (i % 7)), addr, packet, net.now);
    assert.equal(r.deliver, null);
    transmits += b.sent().length;
  };
  const keyId = b.t.keyring.primary.id;
  for (let i = 0; i < 100_000; i++) {
    crypto.randomFill(rnd);
    const mode = i % 8;
    // Steer most packets past the first checks so every path is exercised.
    const len = mode === 6 ? INIT_LEN : mode === 7 ? CONFIRM_LEN : mode >= 4 ? 30 + (rnd[0] % 170) : rnd[0] % 200;
    const p = rnd.slice(1, 1 + len);
    if (mode >= 1 && len > 1) p[0] = WIRE_VERSION;
    if (mode >= 2 && len > 1) p[1] = [DATA, HS_INIT, HS_CHALLENGE, HS_CONFIRM][rnd[255] % 4];
    if (mode === 4 || mode === 5) {
      p[1] = DATA;
      writeU32(p, OFF_DATA_IDX, liveIdx);
      writeU32(p, 6, 0); // a plausible counter, so decryption is attempted
    }
    if (mode >= 6) {
      p[1] = mode === 6 ? HS_INIT : HS_CONFIRM;
      writeU32(p, OFF_KEY_ID, keyId);
    }
    if (mode === 5) {
      // Spoofing A's address, the forgery reaches decryption.
      const r = b.t.incoming(a.key, a.addr, p, net.now);
      assert.equal(r.deliver, null);
      transmits += b.sent().length;
    } else {
      fire(p, i, 200);
    }
    if (i % 1000 === 0) net.now += 10;
  }
  const stranger = new Node("s", ip(250), 1, newKey(), net.now);
  for (let i = 0; i < 10_000; i++) {
    let p: Uint8Array;
    if (i % 3 === 0) {
      // A genuine HS_INIT made with another key.
      p = stranger.sent(stranger.t.outgoing(addressKey(ip(2), 1 + i), b.addr, bytes("x"), net.now))[0].data;
    } else {
      p = new Uint8Array(i % 3 === 1 ? INIT_LEN : CONFIRM_LEN);
      crypto.randomFill(p);
      p[0] = WIRE_VERSION;
      p[1] = i % 3 === 1 ? HS_INIT : HS_CONFIRM;
      writeU32(p, OFF_KEY_ID, keyId); // right key id, random everything else
    }
    fire(p, i, 20);
    if (i % 100 === 0) net.now += 10;
  }
  assert.equal(transmits, 0, "nothing answered");
  assert.deepEqual(snapshot(b), before);
  assert.deepEqual(b.delivered.map(text), ["hello", "peek"], "nothing from the blast");
  const c = b.t.counters;
  assert.ok(c.bad_mac > 0 && c.bad_cookie > 0 && c.unknown_key_id > 0 && c.decrypt_failed > 0, JSON.stringify(c));
  assert.equal(c.rate_limited, 0, "junk fails its MAC before the rate limiter: it spends nobody's tokens");
  net.send(a, b, bytes("still up"));
  net.send(b, a, bytes("still up"));
  net.pump();
  assert.equal(text(b.delivered.at(-1)!), "still up");
  assert.equal(text(a.delivered.at(-1)!), "still up");
});

test("any byte string handed to incoming() is dropped and counted, never thrown or delivered", () => {
  const { a, b } = established();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1600 }), fc.boolean(), (packet, steer) => {
      if (steer && packet.length > 1) packet[0] = WIRE_VERSION;
      const r = b.t.incoming(a.key, a.addr, packet, 0);
      return r.deliver === null && b.sent().length === 0;
    }),
    { numRuns: 5000 },
  );
  assert.equal(b.t.sessionCount(), 1);
});

/** The index B gave its session with A: the receiver index on A's DATA. */
function readIdx(net: ReturnType<typeof established>["net"], a: Node, b: Node): number {
  net.send(a, b, bytes("peek"));
  const [f] = net.take();
  const idx = ((f.data[2] << 24) | (f.data[3] << 16) | (f.data[4] << 8) | f.data[5]) >>> 0;
  net.deliver(f);
  return idx;
}
