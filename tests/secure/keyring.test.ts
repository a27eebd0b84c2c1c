import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { formatKey, formatKeyId, generateKey, Keyring, parseKey, parseKeyId } from "../../host/secure/keyring.ts";
import { crypto } from "./harness.ts";

test("keys round-trip through base64url, base64 and hex; anything else is refused", () => {
  const key = generateKey(crypto);
  const text = formatKey(key);
  assert.match(text, /^[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(parseKey(text), key);
  assert.deepEqual(parseKey(Buffer.from(key).toString("base64")), key);
  assert.deepEqual(parseKey(Buffer.from(key).toString("hex")), key);
  assert.deepEqual(parseKey(`  ${text}\n`), key);
  for (const bad of ["", "abc", text.slice(1), text + "AA", "zz".repeat(32), "!".repeat(43)]) {
    assert.throws(() => parseKey(bad), /not a network key/);
  }
});

test("the key id is the first 4 bytes of SHA-256(\"divs key id\" || K)", () => {
  const key = generateKey(crypto);
  const ring = new Keyring(crypto, key);
  const digest = createHash("sha256").update("divs key id").update(key).digest();
  assert.equal(ring.primary.id, digest.readUInt32BE(0));
  assert.equal(parseKeyId(formatKeyId(ring.primary.id)), ring.primary.id);
});

test("install, use and remove; the primary and the last key cannot be removed", () => {
  const k1 = generateKey(crypto);
  const k2 = generateKey(crypto);
  const ring = new Keyring(crypto, k1);
  const id1 = ring.primary.id;
  assert.throws(() => ring.remove(id1), /primary/);
  const id2 = ring.install(k2);
  assert.equal(ring.install(k2), id2, "idempotent");
  assert.equal(ring.size, 2);
  assert.equal(ring.primary.id, id1, "installing does not change the primary");
  ring.use(id2);
  assert.equal(ring.primary.id, id2);
  ring.remove(id1);
  assert.equal(ring.has(id1), false);
  assert.throws(() => ring.remove(id2), /primary/, "the last key is the primary");
  assert.throws(() => ring.use(id1), /no key/);
  assert.deepEqual(ring.list(), [{ id: formatKeyId(id2), primary: true }]);
  assert.throws(() => ring.install(new Uint8Array(31)), /32 bytes/);
});
