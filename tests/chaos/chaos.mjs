// `npm run chaos -- --nodes 30 --minutes 10 --seed S [--deno-every K] [--quiet-s Q] [--faults K,K]
// [--out DIR]`: many real nodes under faults (tests/chaos/run.mjs; docs/testing.md "Chaos and soak"),
// of every kind or only those --faults names (kill,partition,loss,rotate,move). Root; run it under
// `flock /run/lock/divs-bench.lock` on a shared machine. Writes DIR/chaos-report.json and DIR/chaos.svg,
// prints a summary; exit 0 when every invariant held, 1 when one did not, 77 when it cannot run here.
import { parseArgs } from "node:util";
import { skipReason } from "../e2e/harness.mjs";
import { FAULTS, runChaos } from "./run.mjs";

const { values } = parseArgs({
  options: {
    nodes: { type: "string", default: "30" }, minutes: { type: "string", default: "10" },
    seed: { type: "string", default: String(Date.now() % 100000) }, "deno-every": { type: "string", default: "4" },
    "quiet-s": { type: "string", default: "10" }, faults: { type: "string", default: FAULTS.join(",") }, out: { type: "string" },
  },
});
const skip = skipReason();
if (skip) {
  console.error(skip.replace("end-to-end tests need", "npm run chaos needs"));
  process.exit(77);
}
const seed = Number(values.seed);
const faults = values.faults.split(",");
const unknown = faults.filter((f) => !FAULTS.includes(f));
if (unknown.length > 0 || faults.length === 0) {
  console.error(`--faults: ${unknown.join(",") || "none"} unknown; choose from ${FAULTS.join(",")}`);
  process.exit(2);
}
const dir = values.out ?? `/tmp/divs-chaos-${seed}-${Date.now()}`;
const t0 = Date.now();
const report = await runChaos({
  nodes: Number(values.nodes), minutes: Number(values.minutes), seed, denoEvery: Number(values["deno-every"]),
  quietMs: Number(values["quiet-s"]) * 1000, faults, dir, log: (m) => console.error(`[chaos ${((Date.now() - t0) / 1000).toFixed(0)} s] ${m}`),
});
const conv = report.windows.map((w) => w.convergence_ms);
console.log(JSON.stringify({
  ok: report.ok, nodes: report.nodes, seed: report.seed, windows: report.windows.length,
  faults: Object.fromEntries(FAULTS.map((k) => [k, report.windows.filter((w) => w.kind === k).length])),
  convergence_bound_ms: report.convergence_bound_ms, convergence_max_ms: Math.max(0, ...conv),
  quiet_pings: report.pings.quiet, quiet_rtt_ms: report.pings.quiet_rtt_ms, crashes: report.crashes.length, violations: report.violations,
  report: `${dir}/chaos-report.json`, svg: `${dir}/chaos.svg`,
}, null, 2));
process.exit(report.ok ? 0 : 1);
