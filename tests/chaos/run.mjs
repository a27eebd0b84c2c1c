// One chaos run (issue 19): start N real nodes, then fault windows: one of each kind, then more until
// the time is up. A window is one fault (kill -9 and restart, partition and heal, a loss burst, a key
// rotation, a MAC move), then the wait for every live node to agree on the live members and the MAC
// table (timed, against a bound derived from the membership config), then a quiet spell. Pings between
// random live pairs and a few bounded TCP streams run throughout; pings of the quiet spells must
// succeed (>= 99 %).
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../sim/rng.mjs";
import { deadBoundMs } from "../e2e/harness.mjs";
import { ChaosBed, fdCount, makeDir, sleep } from "./bed.mjs";
import { svgChart } from "./svg.mjs";

export const FAULTS = ["kill", "partition", "loss", "rotate", "move"];
const COLORS = { kill: "#d62728", partition: "#1f77b4", loss: "#ff7f0e", rotate: "#2ca02c", move: "#9467bd" };
/** Quiet-spell pings that must succeed, and fds a node may hold above its count after start. */
export const PING_OK_MIN = 0.99;
export const FD_SLACK = 3;

/**
 * Membership timings (docs/config.md): the LAN defaults, but a dead member is pinged for a reconnect
 * every 10 s instead of 30 s, so a partition that outlived the suspicion timeout heals within a window.
 * `fast` (small test runs) halves the probe interval and timeout, as the e2e tests do.
 */
export function membershipConfig(fast) {
  return {
    probe_interval_ms: fast ? 500 : 1000, probe_timeout_ms: fast ? 250 : 500, suspicion_mult: 4,
    suspicion_max_timeout_mult: 6, gossip_interval_ms: 200, reconnect_interval_ms: fast ? 5000 : 10_000,
  };
}

/**
 * The convergence bound after a window's last fault: the longer of (a) declaring a killed member dead
 * everywhere (tests/e2e/harness.mjs deadBoundMs: a full probe round, the probe timeout, Lifeguard's
 * longest suspicion timeout, a second of gossip) and (b) healing a partition whose sides declared each
 * other dead (a reconnect ping within reconnect_interval_ms, then a push-pull and a refutation spread
 * by gossip: two probe intervals and a second), plus 5 s for polling 30 nodes on a loaded machine.
 */
export function convergenceBoundMs(nodes, config) {
  const heal = config.reconnect_interval_ms + 2 * config.probe_interval_ms + 1000;
  return Math.round(Math.max(deadBoundMs(nodes, config), heal) + 5000);
}

/** `faults`: the kinds to draw from (all of FAULTS unless given: one kind's effect alone, e.g. rotations). */
export async function runChaos({ nodes, minutes, seed, denoEvery = 4, quietMs = 10_000, faults = FAULTS, dir, log = () => {} }) {
  // Faults draw from their own stream, so a seed fixes the sequence of faults (kinds, victims, hold
  // times); the pings and streams draw as often as the machine's speed lets them, from theirs.
  const rng = new Rng(seed);
  const trafficRng = new Rng(seed ^ 0x5eed);
  const config = membershipConfig(nodes <= 10);
  const boundMs = convergenceBoundMs(nodes, config);
  makeDir(dir);
  const bed = new ChaosBed({ nodes, denoEvery, config, dir });
  const report = {
    nodes, minutes, seed, denoEvery, faults, config, convergence_bound_ms: boundMs, startup: null, windows: [],
    pings: null, tcp: [], crashes: bed.crashes, fds: {}, rss_kib: {}, violations: [], ok: false,
  };
  const pinger = new Pinger(bed, trafficRng);
  const streams = new Streams(bed, trafficRng);
  try {
    await bed.setup();
    const t0 = Date.now();
    const [first, ...rest] = bed.names;
    await bed.start(first, null);
    for (const name of rest) await bed.start(name, first);
    const startup = await converge(bed, boundMs * 2);
    report.startup = { ms: Date.now() - t0, converge_ms: startup.ms, ok: startup.ok, disagreement: startup.disagreement };
    log(`${nodes} nodes up in ${report.startup.ms} ms, agreed ${startup.ok ? `after ${startup.ms} ms` : `NOT: ${startup.disagreement}`}`);
    if (!startup.ok) report.violations.push(`startup: no agreement within ${boundMs * 2} ms: ${startup.disagreement}`);

    pinger.start();
    await streams.start();
    const end = Date.now() + minutes * 60_000;
    // every kind once, in an order of the seed's, even past the end; then at random until the end
    const order = shuffled(rng, faults);
    for (let w = 0; w < order.length || Date.now() < end; w++) {
      const kind = w < order.length ? order[w] : faults[rng.below(faults.length)];
      pinger.window = w;
      pinger.phase = "fault";
      const window = { index: w, kind, started_ms: Date.now() - t0, ...(await inject(bed, rng, kind, w)) };
      window.last_fault_ms = Date.now() - t0;
      const c = await converge(bed, boundMs);
      Object.assign(window, { converged: c.ok, convergence_ms: c.ms, disagreement: c.disagreement });
      if (!c.ok) report.violations.push(`window ${w} (${kind}): no agreement within ${boundMs} ms: ${c.disagreement}`);
      pinger.phase = "quiet";
      await sleep(quietMs);
      pinger.phase = "between";
      report.windows.push(window);
      log(`window ${w} ${kind} ${JSON.stringify(window.detail)}: ${c.ok ? `agreed after ${c.ms} ms` : `NO agreement: ${c.disagreement}`}`);
    }
    await pinger.stop();
    report.tcp = await streams.stop();
    for (const [name, e] of bed.live) {
      const now = fdCount(e.pid);
      report.fds[name] = { after_start: e.fds0, end: now, restarts: e.restarts };
      if (now > e.fds0 + FD_SLACK) report.violations.push(`${name}: ${now} fds at the end, ${e.fds0} after start`);
    }
    for (const [name, s] of Object.entries(bed.sample())) report.rss_kib[name] = { runtime: s.runtime, rss: s.rssKib, peak: s.hwmKib, pss: s.pssKib };
  } finally {
    await pinger.stop();
    await streams.stop();
    await bed.teardown();
  }
  report.pings = pinger.summary(report.windows.length);
  for (const w of report.windows) w.pings = report.pings.per_window[w.index];
  if (report.pings.quiet.sent > 0 && report.pings.quiet.ok_ratio < PING_OK_MIN) {
    report.violations.push(`quiet-spell pings: ${(report.pings.quiet.ok_ratio * 100).toFixed(2)} % answered (< ${PING_OK_MIN * 100} %)`);
  }
  for (const c of bed.crashes) report.violations.push(`${c.name} exited by itself (code ${c.code}, signal ${c.signal})`);
  report.ok = report.violations.length === 0;
  writeFileSync(join(dir, "chaos-report.json"), JSON.stringify(report, null, 2) + "\n");
  writeFileSync(join(dir, "chaos.svg"), chart(report));
  return report;
}

/** Polls the invariant once a second until it holds or `boundMs` passes. */
async function converge(bed, boundMs) {
  const t0 = Date.now();
  let disagreement = null;
  for (;;) {
    disagreement = await bed.disagreement();
    if (disagreement === null) return { ok: true, ms: Date.now() - t0, disagreement };
    if (Date.now() - t0 > boundMs) return { ok: false, ms: Date.now() - t0, disagreement };
    await sleep(1000);
  }
}

/** Carries out one fault; resolves after its last action (the restart, the heal, the end of the burst). */
async function inject(bed, rng, kind, w) {
  const live = bed.liveNames();
  const pick = () => live[rng.below(live.length)];
  switch (kind) {
    case "kill": {
      const victim = pick();
      const downMs = 2000 + rng.below(6000);
      await bed.kill9(victim);
      await sleep(downMs);
      const via = bed.liveNames()[rng.below(bed.liveNames().length)];
      await bed.start(victim, via);
      return { detail: { victim, down_ms: downMs, rejoined_via: via } };
    }
    case "partition": {
      const order = shuffled(rng, live);
      const cut = 1 + rng.below(order.length - 1);
      // long runs also hold partitions past gossip_to_the_dead_ms (30 s), the case that never healed before
      const holdMs = 5000 + rng.below(bed.names.length > 10 ? 40_000 : 20_000);
      await bed.partition(order.slice(0, cut), order.slice(cut));
      await sleep(holdMs);
      await bed.heal();
      return { detail: { sides: [cut, order.length - cut], held_ms: holdMs } };
    }
    case "loss": {
      const hit = shuffled(rng, live).slice(0, Math.max(1, Math.ceil(live.length / 3)));
      const percent = 20 + rng.below(21);
      const holdMs = 5000 + rng.below(10_000);
      await bed.loss(hit, percent);
      await sleep(holdMs);
      await bed.lossEnd();
      return { detail: { nodes: hit.length, percent, held_ms: holdMs } };
    }
    case "rotate": {
      const { newId } = await bed.rotateKey();
      return { detail: { new_key: newId } };
    }
    case "move": {
      const [from, to] = shuffled(rng, live);
      const mac = await bed.moveMac(from, to, w + 1);
      return { detail: { mac, from, to } };
    }
  }
  throw new Error(`unknown fault ${kind}`);
}

function shuffled(rng, list) {
  const a = [...list];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** `ip netns exec NS cmd...`; resolves with the exit code and what it printed. */
function inNs(ns, args, timeoutMs) {
  return new Promise((resolve) => {
    const p = spawn("ip", ["netns", "exec", ns, ...args], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out });
    });
  });
}

/** Busy and total jiffies of the whole machine (/proc/stat), for the CPU share used meanwhile. */
function machineTicks() {
  const [, ...v] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
  const idle = v[3] + v[4];
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * One ping at a time between random live pairs, every 250 ms; each result is tagged with its window and
 * phase, its time and RTT. For a lost one it keeps what the two ends counted meanwhile (core and
 * transport counters that moved) and how busy the machine was: a lost ping's post-mortem.
 */
export class Pinger {
  window = -1;
  phase = "between";
  results = [];
  running = null;
  stopped = false;

  constructor(bed, rng) {
    this.bed = bed;
    this.rng = rng;
  }

  start() {
    const t0 = Date.now();
    this.running = (async () => {
      while (!this.stopped) {
        const live = this.bed.liveNames();
        if (live.length >= 2) {
          const from = live[this.rng.below(live.length)];
          const others = live.filter((n) => n !== from);
          const to = others[this.rng.below(others.length)];
          const [window, phase, a, b] = [this.window, this.phase, this.bed.live.get(from), this.bed.live.get(to)];
          const before = await Promise.all([this.bed.counters(from), this.bed.counters(to)]);
          const ticks = machineTicks();
          const at = Date.now() - t0;
          // -W 2: on 2 shared cores with 30 nodes an answer can take over a second; lost is lost, slow is not
          const { code, out } = await inNs(this.bed.tb.node(from).ns, ["ping", "-n", "-q", "-c", "1", "-W", "2", this.bed.tb.node(to).overlay], 4000);
          // a ping whose phase changed under it, or whose ends were killed meanwhile, counts for nothing
          if (phase === this.phase && window === this.window && this.bed.live.get(from) === a && this.bed.live.get(to) === b) {
            const rtt = /= [\d.]+\/([\d.]+)\//.exec(out)?.[1];
            const result = { window, phase, from, to, ok: code === 0, at_ms: at, rtt_ms: rtt === undefined ? null : Number(rtt) };
            if (!result.ok) result.evidence = await this.evidence(from, to, before, ticks);
            this.results.push(result);
          }
        }
        await sleep(250);
      }
    })();
  }

  /** What moved at both ends during a lost ping, and the machine's CPU use (of all cores) meanwhile. */
  async evidence(from, to, before, ticks) {
    const now = machineTicks();
    const after = await Promise.all([this.bed.counters(from), this.bed.counters(to)]);
    const moved = (x, y) => x === null || y === null ? null : Object.fromEntries(Object.entries(y).filter(([k, v]) => v !== (x[k] ?? 0)).map(([k, v]) => [k, v - (x[k] ?? 0)]));
    return {
      machine_busy: Number(((now.busy - ticks.busy) / Math.max(1, now.total - ticks.total)).toFixed(2)),
      [from]: moved(before[0], after[0]), [to]: moved(before[1], after[1]),
    };
  }

  async stop() {
    this.stopped = true;
    await this.running;
  }

  summary(windows) {
    const count = (list) => {
      const ok = list.filter((r) => r.ok).length;
      return { sent: list.length, lost: list.length - ok, ok_ratio: list.length ? ok / list.length : 1 };
    };
    const perWindow = Array.from({ length: windows }, (_, w) => ({
      fault: count(this.results.filter((r) => r.window === w && r.phase === "fault")),
      quiet: count(this.results.filter((r) => r.window === w && r.phase === "quiet")),
    }));
    const quiet = this.results.filter((r) => r.phase === "quiet");
    const rtts = quiet.filter((r) => r.ok && r.rtt_ms !== null).map((r) => r.rtt_ms).sort((x, y) => x - y);
    const pct = (p) => (rtts.length ? rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] : null);
    return {
      quiet: count(quiet), fault: count(this.results.filter((r) => r.phase === "fault")), per_window: perWindow,
      quiet_rtt_ms: { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: rtts.at(-1) ?? null },
      quiet_losses: quiet.filter((r) => !r.ok).map(({ window, from, to, at_ms, evidence }) => ({ window, from, to, at_ms, evidence })),
    };
  }
}

/** A few bounded TCP streams (iperf3, 10 s at 20 Mbit/s) between random live pairs, one every `everyMs`. */
export class Streams {
  servers = [];
  results = [];
  running = null;
  stopped = false;

  constructor(bed, rng, everyMs = 20_000) {
    this.bed = bed;
    this.rng = rng;
    this.everyMs = everyMs;
  }

  async start() {
    // servers on up to three nodes; they outlive their node's restarts (the namespace stays)
    for (const name of this.bed.names.slice(0, 3)) {
      this.servers.push(spawn("ip", ["netns", "exec", this.bed.tb.node(name).ns, "iperf3", "-s", "-p", "5201"], { stdio: "ignore" }));
    }
    this.running = (async () => {
      while (!this.stopped) {
        await sleep(this.everyMs);
        if (this.stopped) break;
        const to = this.bed.names[this.rng.below(Math.min(3, this.bed.names.length))];
        const from = this.bed.liveNames().filter((n) => n !== to)[0];
        if (!from) continue;
        const t = Date.now();
        const { code } = await inNs(this.bed.tb.node(from).ns, ["iperf3", "-c", this.bed.tb.node(to).overlay, "-t", "10", "-b", "20M", "--connect-timeout", "3000"], 20_000);
        this.results.push({ from, to, at_ms: t, ok: code === 0 });
      }
    })();
  }

  async stop() {
    this.stopped = true;
    await this.running;
    for (const s of this.servers) s.kill("SIGKILL");
    this.servers = [];
    return this.results;
  }
}

function chart(report) {
  const label = (w) => `${w.index} ${w.kind}`;
  return svgChart(`DiVS chaos: ${report.nodes} nodes, ${report.minutes} min, seed ${report.seed}`, [
    {
      title: "convergence after the last fault of each window, s (red: the bound)",
      bars: report.windows.map((w) => ({ label: label(w), values: [w.convergence_ms / 1000], colors: [w.converged ? COLORS[w.kind] : "black"] })),
      line: { value: report.convergence_bound_ms / 1000, label: `bound ${report.convergence_bound_ms / 1000} s` },
      legend: Object.entries(COLORS),
      yLabel: "s",
    },
    {
      title: "pings lost per window: during the fault (light) and in the quiet spell after agreement (dark)",
      bars: report.windows.map((w) => ({ label: label(w), values: [w.pings.fault.lost, w.pings.quiet.lost], colors: ["#aaa", "#333"] })),
      yLabel: "pings lost",
    },
  ]);
}
