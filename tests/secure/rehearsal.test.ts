// The latency wake's rehearsal (host/common/secure/rehearsal.ts): two in-memory transports pass one
// datagram per run, through the same sealing and opening path as real pings, for as long as a node
// runs (handshake, rekeying, expiry) without growing.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_SECURE_CONFIG } from "../../host/common/secure/config.ts";
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
  assert.equal(rehearsal.run(), true, "the first run handshakes, then delivers");
  assert.ok(keys.length > 0 && keys.every((k) => k.some((b) => b !== 0)), "session keys, none all zero");
  calls.length = 0;
  for (let i = 0; i < 3; i++) assert.equal(rehearsal.run(), true);
  assert.equal(calls.length, 6, `one seal and one open per run: ${calls.join(", ")}`);
  const sealed = Number(calls[0].split(" ")[1]);
  assert.ok(sealed > 0 && sealed <= SMALL_AEAD_MAX, "the path small datagrams take");
  assert.deepEqual(calls.slice(0, 2), [`seal ${sealed}`, `open ${sealed}`]);
});

test("keeps delivering across rekeys and expiry, with a bounded number of sessions", () => {
  let now = 0;
  const rehearsal = new TransportRehearsal(nodeCrypto, { now: () => now });
  let most = 0;
  // 20 minutes of wakes every 5 s of simulated time: several rekeys and expiries.
  for (; now <= 20 * 60_000; now += 5_000) {
    assert.equal(rehearsal.run(), true, `delivered at ${now} ms`);
    most = Math.max(most, rehearsal.sessionCount());
  }
  const perSide = DEFAULT_SECURE_CONFIG.maxSessionsPerPeer;
  assert.ok(most <= 2 * perSide, `at most ${perSide} sessions a side, saw ${most} in all`);
});
