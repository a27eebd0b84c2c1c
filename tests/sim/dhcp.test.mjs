// The distributed DHCP server on the real core in the simulator (npm run test:sim).
import assert from "node:assert/strict";
import { test } from "node:test";
import { simulateDhcp } from "./dhcp.mjs";

test("DHCP: 8 nodes, 40 clients, a partition, the minority replaced, a restart from the state directory, a death: no address twice, blocks re-owned and reclaimed", () => {
  const r = simulateDhcp({ nodes: 8, clients: 40, seed: 5, poolStart: "198.18.0.100", poolSize: 100, leaseS: 30 });
  const sorted = r.firstLease.filter((v) => v !== null).sort((a, b) => a - b);
  console.log(`# DHCP sim: ${r.clients} clients; first lease on the idle switch p50 ${sorted[sorted.length >> 1]} ms` +
    ` max ${sorted[sorted.length - 1]} ms (100 ms client steps); ${r.renewedInA}/${r.aClients} majority-side clients kept` +
    ` their address through the partition; range conflicts ${r.conflicts}; restarted node re-owned ${r.reowned} blocks,` +
    ` its ${r.keptOverRestart} clients kept their addresses`);
  assert.deepEqual(r.duplicates, []);
  assert.deepEqual(r.failures, []);
  assert.ok(sorted[sorted.length - 1] <= 1000, "a client took over 1 s for its first lease");
  assert.equal(r.renewedInA, r.aClients);
  assert.equal(r.conflicts, 0);
});
