// The libsodium provider (host/secure/sodium-aead.ts on koffi): the same bytes as node:crypto
// at every size on both sides of its small-datagram threshold, no plaintext from a forged datagram,
// and a transport on one provider talking to a transport on the other.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { SODIUM_SMALL_MAX } from "../../host/secure/sodium-aead.ts";
import { nodeCrypto } from "../../host/secure/node-crypto.ts";
import { bytes, ip, Net, newKey, Node, sodiumCrypto, text } from "./harness.ts";

const SIZES = [0, 1, 15, 16, 17, 63, 64, 65, SODIUM_SMALL_MAX - 1, SODIUM_SMALL_MAX, SODIUM_SMALL_MAX + 1, 512, 1400, 1440, 9000, 65000];

test("libsodium seals the same bytes as node:crypto and each opens the other's, inside a larger datagram", () => {
  for (const length of SIZES) {
    const raw = randomBytes(32);
    const nonce = randomBytes(12);
    const aad = randomBytes(14);
    const plaintext = randomBytes(length);
    const bySodium = new Uint8Array(14 + length + 16);
    const byNode = new Uint8Array(14 + length + 16);
    sodiumCrypto.seal(sodiumCrypto.aeadKey(raw), nonce, aad, plaintext, bySodium, 14);
    nodeCrypto.seal(nodeCrypto.aeadKey(raw), nonce, aad, plaintext, byNode, 14);
    assert.ok(Buffer.from(bySodium).equals(byNode), `${length} bytes: the sealed bytes differ`);
    const opened = sodiumCrypto.open(sodiumCrypto.aeadKey(raw), nonce, aad, byNode, 14, byNode.length);
    assert.ok(opened !== null && Buffer.from(opened).equals(plaintext), `${length} bytes: libsodium cannot open node:crypto's`);
    const back = nodeCrypto.open(nodeCrypto.aeadKey(raw), nonce, aad, bySodium, 14, bySodium.length);
    assert.ok(back !== null && Buffer.from(back).equals(plaintext), `${length} bytes: node:crypto cannot open libsodium's`);
  }
});

test("libsodium opens nothing forged: a flipped bit anywhere, the wrong key, nonce or aad, a short packet", () => {
  for (const length of [SODIUM_SMALL_MAX, SODIUM_SMALL_MAX + 1, 1400]) {
    const raw = randomBytes(32);
    const key = sodiumCrypto.aeadKey(raw);
    const nonce = randomBytes(12);
    const aad = randomBytes(14);
    const packet = new Uint8Array(length + 16);
    sodiumCrypto.seal(key, nonce, aad, randomBytes(length), packet, 0);
    for (let i = 0; i < packet.length; i += 7) {
      packet[i] ^= 0x10;
      assert.equal(sodiumCrypto.open(key, nonce, aad, packet, 0, packet.length), null, `${length} bytes: byte ${i} flipped, opened`);
      packet[i] ^= 0x10;
    }
    assert.equal(sodiumCrypto.open(sodiumCrypto.aeadKey(randomBytes(32)), nonce, aad, packet, 0, packet.length), null, "wrong key");
    assert.equal(sodiumCrypto.open(key, randomBytes(12), aad, packet, 0, packet.length), null, "wrong nonce");
    assert.equal(sodiumCrypto.open(key, nonce, randomBytes(14), packet, 0, packet.length), null, "wrong aad");
    assert.notEqual(sodiumCrypto.open(key, nonce, aad, packet, 0, packet.length), null, "the untouched packet opens");
  }
  assert.equal(sodiumCrypto.open(sodiumCrypto.aeadKey(randomBytes(32)), randomBytes(12), new Uint8Array(0), new Uint8Array(15), 0, 15), null);
});

test("a node:crypto transport and a libsodium transport handshake and carry data both ways, small and bulk", () => {
  const key = newKey();
  const net = new Net();
  // The harness alternates providers: a node:crypto node and a libsodium one, whatever came before.
  const a = new Node("a", ip(1), 4789, key, 0);
  const b = new Node("b", ip(2), 4789, key, 0);
  const providers = [a, b].map((n) => (n.t as unknown as { crypto: unknown }).crypto);
  assert.ok(providers.includes(nodeCrypto) && providers.includes(sodiumCrypto), "the pair must mix the providers");
  net.add(a, b);
  const big = "x".repeat(1400);
  net.send(a, b, bytes("hello"));
  net.send(a, b, bytes(big));
  net.pump();
  net.send(b, a, bytes(big));
  net.send(b, a, bytes("back"));
  net.pump();
  assert.deepEqual(b.delivered.map(text), ["hello", big]);
  assert.deepEqual(a.delivered.map(text), [big, "back"]);
});

test("open into a caller's buffer (the core's input region): both providers write there and return it, at every path", () => {
  for (const provider of [nodeCrypto, sodiumCrypto]) {
    for (const length of [0, 64, SODIUM_SMALL_MAX, SODIUM_SMALL_MAX + 1, 512, 513, 1400]) {
      const raw = randomBytes(32);
      const nonce = randomBytes(12);
      const aad = randomBytes(14);
      const plaintext = randomBytes(length);
      const packet = new Uint8Array(14 + length + 16);
      provider.seal(provider.aeadKey(raw), nonce, aad, plaintext, packet, 14);
      const region = new Uint8Array(length + 40).fill(0xee);
      const out = region.subarray(20, 20 + length);
      assert.equal(provider.open(provider.aeadKey(raw), nonce, aad, packet, 14, packet.length, out), out, `${length} bytes: not opened into out`);
      assert.ok(Buffer.from(out).equals(plaintext), `${length} bytes: wrong plaintext`);
      assert.ok(region.subarray(0, 20).every((b) => b === 0xee) && region.subarray(20 + length).every((b) => b === 0xee), "wrote outside out");
      packet[15] ^= 1;
      assert.equal(provider.open(provider.aeadKey(raw), nonce, aad, packet, 14, packet.length, out), null);
    }
  }
});
