// A short chaos run inside npm test (issue 19): 5 real nodes (one under Deno), 1 minute of faults with a
// fixed seed, every kind of fault at least once, the same invariants as `npm run chaos`
// (tests/chaos/run.mjs): agreement on members and MAC tables within the bound after each window, quiet-
// spell pings >= 99 %, no crash, no fd leak. Root and /dev/net/tun, else skipped loudly.
import assert from "node:assert/strict";
import { test } from "node:test";
import { skipReason } from "../e2e/harness.mjs";
import { FAULTS, runChaos } from "./run.mjs";

const skip = skipReason();

test("chaos: 5 nodes, 1 minute, seed 7: every live node agrees after each fault, pings pass, nothing crashes or leaks", { skip: skip ?? false, timeout: 600_000 }, async () => {
  const dir = `/tmp/divs-chaos-test-${process.pid}`;
  const report = await runChaos({ nodes: 5, minutes: 1, seed: 7, denoEvery: 4, quietMs: 3000, dir, log: (m) => console.log(`# ${m}`) });
  console.log(`# report: ${dir}/chaos-report.json, ${dir}/chaos.svg`);
  assert.deepEqual(report.violations, []);
  assert.deepEqual(FAULTS.filter((kind) => !report.windows.some((w) => w.kind === kind)), [], "a kind of fault never ran");
  assert.ok(report.windows.every((w) => w.converged && w.convergence_ms <= report.convergence_bound_ms));
  assert.ok(report.pings.quiet.sent >= 20, `only ${report.pings.quiet.sent} quiet-spell pings`);
  assert.ok(Object.values(report.rss_kib).some((r) => r.runtime === "deno"), "no Deno node took part");
});
