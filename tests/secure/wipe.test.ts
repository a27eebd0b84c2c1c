// Key material is overwritten when done (best effort, docs/security.md "Wiping"): the AEAD routine's
// scratch after every message, a removed network key, the keys of a session that ends.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as chacha from "../../host/secure/chacha20poly1305.ts";
import { Identity } from "../../host/secure/identity.ts";
import { Keyring } from "../../host/secure/keyring.ts";
import type { AeadKey, CryptoProvider } from "../../host/secure/provider.ts";
import { SecureTransport } from "../../host/secure/transport.ts";
import { addressKey, encodeAddress } from "../../host/net/address.ts";
import { bytes, crypto, ip, newKey } from "./harness.ts";

test("the small-datagram AEAD leaves no keystream or Poly1305 state behind, after a seal, an open and a failed open", () => {
  const key = new chacha.ChaChaKey(newKey());
  const nonce = new Uint8Array(12).fill(3);
  const aad = bytes("aad");
  const sealed = new Uint8Array(5 + 16);
  chacha.seal(key, nonce, aad, bytes("hello"), sealed, 0);
  assert.ok(chacha.scratchIsClear(), "after seal");
  const out = new Uint8Array(5);
  assert.ok(chacha.open(key, nonce, aad, sealed, 0, sealed.length, out, 0));
  assert.ok(chacha.scratchIsClear(), "after open");
  sealed[0] ^= 1;
  assert.equal(chacha.open(key, nonce, aad, sealed, 0, sealed.length, out, 0), false);
  assert.ok(chacha.scratchIsClear(), "after a failed open");
});

test("a key removed from the keyring is overwritten", () => {
  const ring = new Keyring(crypto, newKey());
  const id = ring.install(newKey());
  const held = ring.get(id)!.key;
  ring.remove(id);
  assert.ok(held.every((v) => v === 0));
});

test("a session's keys are disposed of when it ends; derived bytes are wiped once prepared", () => {
  const disposed: AeadKey[] = [];
  const prepared: Uint8Array[] = [];
  const recording: CryptoProvider = {
    ...crypto,
    aeadKey: (raw) => {
      prepared.push(raw);
      return crypto.aeadKey(raw);
    },
    disposeAeadKey: (k) => {
      disposed.push(k);
      crypto.disposeAeadKey(k);
    },
  };
  const key = newKey();
  const node = (last: number) => {
    const addr = new Uint8Array(18);
    encodeAddress(ip(last), 4789, addr);
    const t = new SecureTransport(recording, new Keyring(recording, key), Identity.generate(crypto), 0);
    const outbox: Uint8Array[] = [];
    t.transmitTo((_addrKey, _addr, data) => outbox.push(Uint8Array.from(data)));
    return { key: addressKey(ip(last), 4789), addr, t, sent: (_call?: unknown) => outbox.splice(0) };
  };
  const a = node(1);
  const b = node(2);
  let flights = a.sent(a.t.outgoing(b.key, b.addr, bytes("x"), 0)).map((data) => ({ to: b, from: a, data }));
  for (let i = 0; i < 10 && flights.length > 0; i++) {
    flights = flights.flatMap((f) => f.to.sent(f.to.t.incoming(f.from.key, f.from.addr, f.data, 0))
      .map((data) => ({ to: f.from, from: f.to, data })));
  }
  assert.equal(a.t.sessionCount() + b.t.sessionCount(), 2);
  assert.equal(prepared.length, 4);
  assert.ok(prepared.every((raw) => raw.every((v) => v === 0)), "the derived bytes are wiped once the provider has its copy");
  const end = a.t.config.expireAfterMs;
  a.sent(a.t.handleTimeout(end));
  b.sent(b.t.handleTimeout(end));
  assert.equal(a.t.sessionCount() + b.t.sessionCount(), 0);
  assert.equal(disposed.length, 4, "both directions of both sessions");
});
