// Path MTU discovery on the simulated network, as assertions (npm run test:sim), on the real core.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BASE_DATAGRAM, BLACK_HOLE_BOUND_MS, SEARCH_GRAIN, settledOk, simulateConvergence, simulateShrink } from "./pmtu.mjs";

// Symmetric per-pair limits: clean links, a PPPoE-like 1492-byte underlay (1492 - 58 = 1434 bytes
// of datagram), tunnels, and a path of exactly 1280 (the base).
const SIZES = [Infinity, 1434, 1400, 1372, 1300, 1250, BASE_DATAGRAM];
const limits = (a, b) => SIZES[(a * b + a + b) % SIZES.length];

test("every pair of nodes settles on its link's size, and membership neither loses a datagram nor suspects anyone", () => {
  const r = simulateConvergence({ nodes: 7, seconds: 40, seed: 21, limits });
  const wrong = [];
  for (let i = 0; i < 7; i++) {
    for (let j = 0; j < 7; j++) {
      if (i !== j && !settledOk(r.mtu[i][j], limits(i, j))) wrong.push(`${i}->${j}: ${r.mtu[i][j]} on a ${limits(i, j)}-byte link`);
    }
  }
  assert.deepEqual(wrong, []);
  assert.ok(r.droppedProbes > 0, "no probe was ever too big: the scenario tests nothing");
  assert.equal(r.droppedOther, 0, "a link dropped a datagram that was not a probe");
  assert.equal(r.suspicions, 0);
  assert.equal(r.deaths, 0);
});

test(`a link that shrinks under traffic, with no ICMP, drops large datagrams for at most ${BLACK_HOLE_BOUND_MS} ms; the others are untouched`, () => {
  const r = simulateShrink({ nodes: 4, seed: 5, shrinkAt: 20_000, shrinkTo: 1250, frameLen: 1300, everyMs: 20, seconds: 50 });
  assert.equal(r.mtuBefore, 1440);
  assert.notEqual(r.blackHoleMs, null, "the shrink never dropped anything: the scenario tests nothing");
  const slack = 50; // one-way latency of the simulated links, and a step
  assert.ok(r.blackHoleMs <= BLACK_HOLE_BOUND_MS + slack, `large datagrams dropped for ${r.blackHoleMs} ms`);
  assert.equal(r.blackHoles, 1);
  assert.ok(r.mtuAfter <= 1250 && r.mtuAfter > 1250 - SEARCH_GRAIN, `settled on ${r.mtuAfter}`);
  assert.deepEqual(r.mtuOthers, [1440, 1440]);
  assert.equal(r.suspicions, 0);
  assert.equal(r.deaths, 0);
});
