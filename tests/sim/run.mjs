#!/usr/bin/env node
// npm run sim -- --nodes N --seconds S [--loss P] [--slow K] [--seed X] [--json]
// Runs the scenarios of scenarios.mjs and prints measured figures beside the expected ones.
// npm run sim -- --macs --nodes N [--loss P] [--seed X]: the MAC table scenarios of macs.mjs instead.
import { parseArgs } from "node:util";
import { expectedFigures } from "./expected.mjs";
import { simulateMacTable } from "./macs.mjs";
import { simulate } from "./scenarios.mjs";

const { values: a } = parseArgs({
  options: {
    nodes: { type: "string", default: "100" }, seconds: { type: "string", default: "120" },
    loss: { type: "string", default: "0" }, slow: { type: "string", default: "0" },
    seed: { type: "string", default: "1" }, json: { type: "boolean", default: false },
    macs: { type: "boolean", default: false },
  },
});
const opts = { nodes: Number(a.nodes), seconds: Number(a.seconds), loss: Number(a.loss), slow: Number(a.slow), seed: Number(a.seed) };
if (!(opts.nodes >= 2) || !(opts.seconds > 0) || !(opts.loss >= 0 && opts.loss < 1)) {
  console.error("usage: npm run sim -- --nodes N>=2 --seconds S [--loss 0..1) [--slow K] [--seed X] [--json]");
  process.exit(2);
}
if (a.macs) {
  const wall = performance.now();
  const { cluster, ...m } = simulateMacTable({ nodes: opts.nodes, loss: opts.loss, seed: opts.seed });
  const s = (ms) => (ms === null || ms === undefined ? "n/a" : `${(ms / 1000).toFixed(2)} s`);
  if (a.json) console.log(JSON.stringify(m, null, 2));
  else {
    console.log(`DiVS MAC table sim: N=${opts.nodes} loss=${opts.loss} seed=${opts.seed} (${((performance.now() - wall) / 1000).toFixed(1)} s wall)`);
    console.log(`learnt MAC in every table: p50 ${s(m.learnToAll?.p50)} p90 ${s(m.learnToAll?.p90)} max ${s(m.learnToAllMs)} (${m.learnToAll?.reached}/${m.learnToAll?.of} MACs)`);
    console.log(`crashed owner declared dead by all after ${s(m.dropOnDeathMs)} (its MACs gone where declared)`);
    console.log(`moved MAC converged everywhere after ${s(m.moveToAllMs)}`);
    console.log(`late joiner had all ${m.tableSize} entries after ${s(m.joinerTableMs)}`);
    for (const f of m.failures) console.log(`FAILED: ${f}`);
  }
  process.exit(m.failures.length ? 1 : 0);
}
const wall = performance.now();
const r = simulate(opts);
const wallMs = performance.now() - wall;
const e = expectedFigures(opts.nodes, opts.loss);
const { cluster, ...result } = r;
result.wallMs = Math.round(wallMs);
result.expected = e;
if (a.json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const f = (v, unit = "") => (v === null || v === undefined ? "n/a" : `${typeof v === "number" ? Math.round(v * 10) / 10 : v}${unit}`);
  const s = (ms) => (ms === null || ms === undefined ? "n/a" : `${(ms / 1000).toFixed(2)} s`);
  const d = r.disseminationMs ?? {};
  const rows = [
    ["join storm: all see all (after last join)", s(r.joinConvergeMs), `<= ${s(e.joinConvergeMs)}`],
    ["dissemination of one update p50", s(d.p50), s(e.disseminationP50Ms)],
    ["dissemination p99", s(d.p99), "-"],
    ["dissemination max", s(d.max), s(e.disseminationMaxMs)],
    ["crash detection, first member", s(r.detectFirstMs), s(e.detectFirstMs)],
    ["crash detection, all members", s(r.detectAllMs), s(e.detectAllMs)],
    ["restarted member seen by all", s(r.rejoinMs), "-"],
    ["partition (15 s) healed, all see all", s(r.partitionHealMs), "-"],
    ["false positives (healthy declared dead)", f(r.falsePositives), f(e.falsePositives)],
    ["suspicions of healthy members (refuted)", f(r.suspicionsOfHealthy), "-"],
    ["slow members declared dead", f(r.slowDeclaredDead), "-"],
    ["datagrams / member / s (steady)", f(r.datagramsPerMemberSec), f(e.datagramsPerMemberSec)],
    ["bytes / member / s (steady)", f(r.bytesPerMemberSec), f(e.bytesPerMemberSec)],
    ["datagrams / member / s (join storm)", f(r.joinStormDatagramsPerMemberSec), "-"],
  ];
  console.log(`DiVS membership sim: N=${opts.nodes} ${opts.seconds} s loss=${opts.loss} slow=${opts.slow} seed=${opts.seed}` +
    ` (simulated ${s(r.simulatedMs)} in ${(wallMs / 1000).toFixed(1)} s wall)`);
  const w = Math.max(...rows.map((x) => x[0].length));
  console.log(`${"figure".padEnd(w)}  ${"measured".padStart(10)}  ${"expected".padStart(10)}`);
  for (const [k, m, x] of rows) console.log(`${k.padEnd(w)}  ${m.padStart(10)}  ${x.padStart(10)}`);
  console.log(`steady window: ${r.steadyWindow}`);
}
