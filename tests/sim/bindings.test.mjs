// IP bindings travel with MAC gossip (npm run test:sim).
import assert from "node:assert/strict";
import { test } from "node:test";
import { simulateBindings } from "./bindings.mjs";

for (const [nodes, loss] of [[3, 0], [20, 0.05]]) {
  test(`N=${nodes} loss=${loss}: a binding reaches every table, reaches a late joiner, follows a move within 2 s, and dies with its owner`, () => {
    const r = simulateBindings({ nodes, loss, seed: 7 });
    console.log(`# bindings N=${nodes} loss=${loss}: learnt everywhere ${r.learnToAllMs} ms, move followed ${r.moveToAllMs} ms, late joiner ${r.joinerMs} ms,` +
      ` gone after the owner crashed ${r.goneMs} ms, conflicts counted ${r.conflicts}`);
    assert.deepEqual(r.failures, []);
    assert.ok(r.moveToAllMs <= 2000, `the move took ${r.moveToAllMs} ms`);
    assert.equal(r.conflicts, 0);
  });
}
