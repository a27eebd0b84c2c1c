// The distributed DHCP server on the real core in the simulator (npm run test:sim).
import assert from "node:assert/strict";
import { test } from "node:test";
import { simulateDhcp } from "./dhcp.mjs";

/** The scenario's shared checks; returns the figures line. */
function check(r) {
  const sorted = r.firstLease.filter((v) => v !== null).sort((a, b) => a - b);
  assert.deepEqual(r.duplicates, []);
  assert.deepEqual(r.failures, []);
  assert.ok(sorted[sorted.length - 1] <= 1000, "a client took over 1 s for its first lease");
  assert.equal(r.renewedInA, r.aClients);
  assert.equal(r.conflicts, 0);
  // The dead node's blocks: not before the bound, and soon after it (its detection, a rule tick, gossip).
  assert.ok(r.reclaimMs >= r.reclaimAfterMs && r.reclaimMs <= r.reclaimAfterMs + 15_000, `reclaimed ${r.reclaimMs} ms after the death`);
  return `${r.clients} clients; first lease on the idle switch p50 ${sorted[sorted.length >> 1]} ms max ${sorted[sorted.length - 1]} ms` +
    ` (100 ms client steps); ${r.renewedInA}/${r.aClients} majority-side clients kept their address through the partition;` +
    ` range conflicts ${r.conflicts}; restarted node re-owned ${r.reowned} blocks, its ${r.keptOverRestart} clients kept their addresses;` +
    ` the dead node's blocks reclaimed ${(r.reclaimMs / 1000).toFixed(0)} s after its death (bound ${r.reclaimAfterMs / 1000} s)`;
}

test("DHCP: 8 nodes, 40 clients, a partition, the minority replaced, a restart from the state directory, a death: no address twice, blocks re-owned and reclaimed", () => {
  const r = simulateDhcp({ nodes: 8, clients: 40, seed: 5, poolStart: "198.18.0.100", poolSize: 100, leaseS: 30 });
  console.log(`# DHCP sim, 8 nodes: ${check(r)}`);
});

test("DHCP: the same with 32 nodes, 96 clients and a pool of 1000", () => {
  const r = simulateDhcp({ nodes: 32, clients: 96, seed: 11, poolStart: "198.18.0.2", poolSize: 1000, leaseS: 30 });
  console.log(`# DHCP sim, 32 nodes: ${check(r)}`);
});

