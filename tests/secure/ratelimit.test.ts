// The handshake rate limiter (host/secure/ratelimit.ts, docs/security.md "Rate limits and
// costs") under floods of spoofed sources: a legitimate handshake still completes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { addressKey, encodeAddress } from "../../host/net/address.ts";
import { HS_INIT, INIT_LEN, OFF_KEY_ID, WIRE_VERSION } from "../../host/secure/handshake.ts";
import { writeU32 } from "../../host/secure/bytes.ts";
import { keyIdOf } from "../../host/secure/keyring.ts";
import { sourceOf } from "../../host/secure/ratelimit.ts";
import { bytes, crypto, ip, Node, pair, text } from "./harness.ts";

/** 198.18.<n / 256>.<n % 256>: source n of a flood, in the test range. */
function spoofed(n: number): { key: number; addr: Uint8Array } {
  const v4 = ((198 << 24) | (18 << 16) | n) >>> 0;
  const addr = new Uint8Array(18);
  encodeAddress(v4, 4789, addr);
  return { key: addressKey(v4, 4789), addr };
}

/** A genuine HS_INIT from `from` to `to`, captured before delivery (what an on-path attacker replays). */
function capturedInit(from: Node, to: Node): Uint8Array {
  const init = from.sent(from.t.outgoing(to.key, to.addr, bytes("x"), 0)).find((tx) => tx.data[1] === HS_INIT)!;
  return Uint8Array.from(init.data);
}

test("a full table of spoofed sources does not lock out a newcomer: the least recently used is evicted", () => {
  const sources = 256;
  const { net, a, b, key } = pair({ rateLimitSources: sources });
  const init = capturedInit(a, b);
  for (let n = 0; n < sources + 200; n++) {
    const s = spoofed(n * 256); // one source per /24: every one takes a slot
    b.sent(b.t.incoming(s.key, s.addr, init, 0));
  }
  assert.equal(b.t.counters.challenges_sent, sources + 200, "every new network got its burst");
  const c = new Node("c", ((198 << 24) | (19 << 16) | (1 << 8) | 3) >>> 0, 4789, key, 0);
  net.add(c);
  net.send(c, b, bytes("from c"));
  net.pump();
  assert.deepEqual(b.delivered.map(text), ["from c"]);
  assert.equal(b.t.counters.rate_limited, 0);
});

test("junk with a bad MAC spends nobody's tokens: the address it claims still completes a handshake", () => {
  const { net, a, b, key } = pair();
  const junk = new Uint8Array(INIT_LEN);
  for (let i = 0; i < 1000; i++) {
    crypto.randomFill(junk);
    junk[0] = WIRE_VERSION;
    junk[1] = HS_INIT;
    writeU32(junk, OFF_KEY_ID, keyIdOf(crypto, key)); // the right key id, so only the MAC tells
    b.sent(b.t.incoming(a.key, a.addr, junk, 0));
  }
  assert.equal(b.t.counters.bad_mac, 1000);
  net.send(a, b, bytes("after the junk"));
  net.pump();
  assert.deepEqual(b.delivered.map(text), ["after the junk"]);
  assert.equal(b.t.counters.rate_limited, 0);
});

test("one /24 shares one budget: spoofing many addresses of a network buys no more answers", () => {
  const { a, b } = pair();
  const init = capturedInit(a, b);
  for (let n = 0; n < 250; n++) {
    const s = spoofed(5 * 256 + n); // 198.18.5.0 - 198.18.5.249
    b.sent(b.t.incoming(s.key, s.addr, init, 0));
  }
  assert.equal(b.t.counters.challenges_sent, 40, "one burst for the whole /24");
  assert.equal(b.t.counters.rate_limited, 210);
  // IPv6: one /64 (here 2001:db8:0:1::/64) is one source, whatever the interface id.
  const v6 = (iid: number) => {
    const addr = new Uint8Array(18);
    addr.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1]);
    addr[15] = iid;
    return addr;
  };
  assert.equal(sourceOf(v6(1)), sourceOf(v6(2)));
  assert.notEqual(sourceOf(spoofed(0).addr), sourceOf(spoofed(256).addr));
});

test("a peer with a live session is not charged: replays spoofed from its address do not stop its next handshake", () => {
  const { net, a, b, key } = pair();
  net.send(a, b, bytes("hello"));
  const init = Uint8Array.from(net.inflight[0].data);
  net.pump();
  assert.deepEqual(b.delivered.map(text), ["hello"]);
  for (let i = 0; i < 1000; i++) b.sent(b.t.incoming(a.key, a.addr, init, 0));
  assert.equal(b.t.counters.rate_limited, 0);
  // A restarts (no session on its side any more) and comes back at once from the same address.
  const restarted = new Node("a2", ip(1), 4789, key, 0);
  net.add(restarted);
  net.send(restarted, b, bytes("back"));
  net.pump();
  assert.equal(text(b.delivered.at(-1)!), "back");
});

test("with a budget per /24, a member whose network is flooded still rekeys (it is not charged)", () => {
  const { net, a, b } = pair();
  net.send(a, b, bytes("hello"));
  const init = Uint8Array.from(net.inflight[0].data);
  net.pump();
  for (let n = 10; n < 250; n++) {
    const addr = new Uint8Array(18);
    encodeAddress(ip(n), 4789, addr);
    b.sent(b.t.incoming(addressKey(ip(n), 4789), addr, init, 0)); // spoofed from 198.19.0.x: a's /24
  }
  assert.ok(b.t.counters.rate_limited > 0, "the /24 is over its budget");
  net.take(); // the challenges to the spoofed neighbours
  net.now = 130_000; // past rekeyAfterMs: a's next send starts a handshake
  net.send(a, b, bytes("rekeyed"));
  net.pump();
  assert.equal(text(b.delivered.at(-1)!), "rekeyed");
  assert.equal(b.t.counters.sessions_responded, 2, "a new session was made");
});
