// `npm run soak -- --hours 1 [--nodes 10] [--sample-s 10] [--seed S] [--out DIR]` (or --minutes M): a
// switch of real nodes (a quarter under Deno) with steady traffic (pings between random pairs, an
// iperf3 stream of 10 s at 20 Mbit/s every 30 s) and no faults; RSS, CPU and fds of every node sampled.
// Memory must stay flat: each node's RSS at the end (mean of the last tenth of the samples) within
// 10 % of its RSS after warm-up (mean of the samples in the tenth after the first fifth), fds no more
// than 3 above. Writes DIR/soak-report.json and DIR/soak.svg; exit 0 when flat, 1 when not, 77 when it
// cannot run here. Root; run it under `flock /run/lock/divs-bench.lock` on a shared machine.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { skipReason } from "../e2e/harness.mjs";
import { Rng } from "../sim/rng.mjs";
import { ChaosBed, makeDir, sleep } from "./bed.mjs";
import { FD_SLACK, Pinger, Streams, membershipConfig } from "./run.mjs";
import { svgChart } from "./svg.mjs";

const GROWTH_MAX = 0.1;

const { values } = parseArgs({
  options: {
    hours: { type: "string" }, minutes: { type: "string" }, nodes: { type: "string", default: "10" },
    "sample-s": { type: "string", default: "10" }, seed: { type: "string", default: "1" }, out: { type: "string" },
  },
});
const skip = skipReason();
if (skip) {
  console.error(skip.replace("end-to-end tests need", "npm run soak needs"));
  process.exit(77);
}
const minutes = values.minutes !== undefined ? Number(values.minutes) : Number(values.hours ?? 1) * 60;
const nodes = Number(values.nodes);
const sampleMs = Number(values["sample-s"]) * 1000;
const dir = makeDir(values.out ?? `/tmp/divs-soak-${Date.now()}`);
const log = (m) => console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${m}`);

const bed = new ChaosBed({ nodes, denoEvery: 4, config: membershipConfig(false), dir });
const rng = new Rng(Number(values.seed));
const pinger = new Pinger(bed, rng);
const streams = new Streams(bed, rng, 30_000);
const samples = []; // { t_s, nodes: { name: { rssKib, cpuTicks, fds } } }
const report = { nodes, minutes, sample_s: sampleMs / 1000, growth_max: GROWTH_MAX, per_node: {}, violations: [], ok: false };
try {
  await bed.setup();
  const [first, ...rest] = bed.names;
  await bed.start(first, null);
  for (const name of rest) await bed.start(name, first);
  log(`${nodes} nodes up`);
  pinger.start();
  await streams.start();
  const t0 = Date.now();
  while (Date.now() - t0 < minutes * 60_000) {
    samples.push({ t_s: (Date.now() - t0) / 1000, nodes: bed.sample() });
    await sleep(sampleMs);
  }
  await pinger.stop();
  report.tcp = await streams.stop();
} finally {
  await pinger.stop();
  await streams.stop();
  await bed.teardown();
}
report.crashes = bed.crashes;
for (const c of bed.crashes) report.violations.push(`${c.name} exited by itself (code ${c.code}, signal ${c.signal})`);
const hz = 100; // USER_HZ
const mean = (list) => list.reduce((a, b) => a + b, 0) / list.length;
const tenth = Math.max(1, Math.floor(samples.length / 10));
for (const name of bed.names) {
  const series = samples.map((s) => ({ t: s.t_s, ...s.nodes[name] })).filter((s) => s.rssKib !== undefined);
  if (series.length < 10) {
    report.violations.push(`${name}: ${series.length} samples, too few to judge`);
    continue;
  }
  const warm = series.slice(2 * tenth, 3 * tenth);
  const last = series.slice(-tenth);
  const rssWarm = mean(warm.map((s) => s.rssKib));
  const rssEnd = mean(last.map((s) => s.rssKib));
  const growth = (rssEnd - rssWarm) / rssWarm;
  const cpuPct = (100 * (series.at(-1).cpuTicks - series[0].cpuTicks) / hz) / (series.at(-1).t - series[0].t);
  report.per_node[name] = {
    runtime: series[0].runtime, rss_warm_kib: Math.round(rssWarm), rss_end_kib: Math.round(rssEnd), rss_growth: +growth.toFixed(4),
    peak_kib: Math.max(...series.map((s) => s.hwmKib)), pss_end_kib: Math.round(mean(last.map((s) => s.pssKib))), fds_warm: warm[0].fds, fds_end: series.at(-1).fds, cpu_pct: +cpuPct.toFixed(2),
  };
  if (growth > GROWTH_MAX) report.violations.push(`${name}: RSS grew ${(growth * 100).toFixed(1)} % after warm-up`);
  if (series.at(-1).fds > warm[0].fds + FD_SLACK) report.violations.push(`${name}: ${series.at(-1).fds} fds at the end, ${warm[0].fds} after warm-up`);
}
report.pings = countAll(pinger.results);
report.ok = report.violations.length === 0;
writeFileSync(join(dir, "soak-report.json"), JSON.stringify({ ...report, samples }, null, 2) + "\n");
const colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const series = (field, scale) => bed.names.map((name, i) => ({
  name, color: colors[i % colors.length],
  points: samples.filter((s) => s.nodes[name]).map((s) => [s.t_s / 60, s.nodes[name][field] * scale]),
}));
writeFileSync(join(dir, "soak.svg"), svgChart(`DiVS soak: ${nodes} nodes, ${minutes} min (Deno: every 4th node)`, [
  { title: "RSS per node, MiB", series: series("rssKib", 1 / 1024), xLabel: "minutes", yLabel: "MiB" },
  { title: "open fds per node", series: series("fds", 1), xLabel: "minutes", yLabel: "fds" },
  { title: "CPU time per node, s", series: series("cpuTicks", 1 / hz), xLabel: "minutes", yLabel: "s" },
]));
console.log(JSON.stringify({ ok: report.ok, per_node: report.per_node, pings: report.pings, violations: report.violations, report: `${dir}/soak-report.json`, svg: `${dir}/soak.svg` }, null, 2));
process.exit(report.ok ? 0 : 1);

function countAll(results) {
  const ok = results.filter((r) => r.ok).length;
  return { sent: results.length, lost: results.length - ok };
}
