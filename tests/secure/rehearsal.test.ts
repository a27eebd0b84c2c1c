// The latency wake's rehearsal (host/common/secure/rehearsal.ts): two in-memory transports pass one
// datagram per run, through the same sealing and opening path as real pings, after one handshake at
// construction and none later.
import assert from "node:assert/strict";
import { test } from "node:test";
import { TransportRehearsal } from "../../host/common/secure/rehearsal.ts";
import { nodeCrypto, SMALL_AEAD_MAX } from "../../host/node/crypto.ts";

test("each run seals and opens one small datagram under a random key of its own", () => {
  const calls: string[] = [];
  const keys: Uint8Array[] = [];
  const spy = {
    ...nodeCrypto,
    aeadKey(raw: Uint8Array) {
      keys.push(Uint8Array.from(raw));
      return nodeCrypto.aeadKey(raw);
    },
    seal(...a: Parameters<typeof nodeCrypto.seal>) {
      calls.push(`seal ${a[3].length}`);
      nodeCrypto.seal(...a);
    },
    open(...a: Parameters<typeof nodeCrypto.open>) {
      calls.push(`open ${a[5] - a[4] - 16}`);
      return nodeCrypto.open(...a);
    },
  };
  const clock = { now: () => 1000 };
  const rehearsal = new TransportRehearsal(spy, clock);
  assert.equal(rehearsal.run(), true);
  assert.ok(keys.length > 0 && keys.every((k) => k.some((b) => b !== 0)), "session keys, none all zero");
  calls.length = 0;
  for (let i = 0; i < 3; i++) assert.equal(rehearsal.run(), true);
  assert.equal(calls.length, 6, `one seal and one open per run: ${calls.join(", ")}`);
  const sealed = Number(calls[0].split(" ")[1]);
  assert.ok(sealed > 0 && sealed <= SMALL_AEAD_MAX, "the path small datagrams take");
  assert.deepEqual(calls.slice(0, 2), [`seal ${sealed}`, `open ${sealed}`]);
});

test("one handshake at construction, then none however long it runs", () => {
  let now = 0;
  let handshakes = 0;
  const spy = {
    ...nodeCrypto,
    hkdfSha256(...a: Parameters<typeof nodeCrypto.hkdfSha256>) {
      handshakes++; // session keys are derived once per handshake and side
      return nodeCrypto.hkdfSha256(...a);
    },
  };
  const rehearsal = new TransportRehearsal(spy, { now: () => now });
  const atStart = handshakes;
  assert.ok(atStart > 0, "the constructor handshakes");
  assert.equal(rehearsal.sessionCount(), 2);
  // Two hours of wakes, one every 5 s of simulated time: well past every rekey and expiry time.
  for (now = 5_000; now <= 2 * 3600_000; now += 5_000) assert.equal(rehearsal.run(), true, `delivered at ${now} ms`);
  assert.equal(handshakes, atStart, "no wake pays for a handshake");
  assert.equal(rehearsal.sessionCount(), 2);
});
