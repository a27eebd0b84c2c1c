// The simulated scenarios, run one after another in one cluster: a join
// storm, one update disseminated, a crash (and restart), a partition that
// heals; throughout, loss and slow members as asked. Returns measured figures.
import { EVENT } from "./core.mjs";
import { Cluster } from "./cluster.mjs";

const CHECK_MS = 50;

function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * @param {object} o nodes, seconds, loss, slow, seed
 */
export function simulate(o) {
  const N = o.nodes, endMs = o.seconds * 1000;
  const r = {
    nodes: N, seconds: o.seconds, loss: o.loss ?? 0, slow: o.slow ?? 0, seed: o.seed ?? 1,
    joinConvergeMs: null, disseminationMs: null, detectFirstMs: null, detectAllMs: null, rejoinMs: null,
    partitionHealMs: null, falsePositives: 0, slowDeclaredDead: 0, suspicionsOfHealthy: 0,
    datagramsPerMemberSec: null, bytesPerMemberSec: null, joinStormDatagramsPerMemberSec: null,
  };
  // live[i]: members node i currently believes alive or suspect.
  const live = Array.from({ length: N }, () => new Set());
  const suspicions = new Set(); // distinct (member, incarnation) suspected while healthy
  let watch = null; // the current phase's per-event hook
  let crashed = -1, crashWindow = [Infinity, -Infinity];
  let partitionWindow = [Infinity, -Infinity];
  const cluster = new Cluster({
    nodes: N, seed: r.seed, loss: r.loss, slow: r.slow, slowLagMs: o.slowLagMs ?? 1000, config: o.config,
    onEvent(t, obs, kind, subj, incarnation) {
      if (kind === EVENT.DEAD || kind === EVENT.LEFT) live[obs].delete(subj);
      else live[obs].add(subj);
      const s = cluster.nodes[subj];
      const excused = subj === crashed && t >= crashWindow[0] && t <= crashWindow[1] ||
        t >= partitionWindow[0] && t <= partitionWindow[1];
      if (kind === EVENT.DEAD && s.up && !excused) {
        if (s.slow) r.slowDeclaredDead++;
        else r.falsePositives++;
      }
      // Merging two healed halves makes each suspect what the other declared dead (memberlist
      // mergeState); those suspicions are refuted and not counted.
      const settling = t >= partitionWindow[0] && t <= partitionWindow[1] + 30_000;
      if (kind === EVENT.SUSPECT && s.up && !s.slow && !excused && !settling) suspicions.add(`${subj}/${incarnation}`);
      if (watch) watch(t, obs, kind, subj);
    },
  });
  const nodes = cluster.nodes;
  const upList = () => nodes.filter((n) => n.up);
  const allSeeAll = () => {
    const up = upList();
    for (const n of up) {
      if (live[n.i].size !== up.length - 1) return false;
      for (const m of up) if (m !== n && !live[n.i].has(m.i)) return false;
    }
    return true;
  };
  /** Runs until `done()` holds (checked every CHECK_MS) or `capMs` passes; returns the time or null. */
  const runUntil = (done, capMs) => {
    const stop = Math.min(endMs, cluster.now + capMs);
    while (cluster.now < stop) {
      cluster.run(Math.min(stop, cluster.now + CHECK_MS));
      if (done()) return cluster.now;
    }
    return null;
  };
  const pick = (not) => {
    for (;;) {
      const i = 1 + cluster.rng.below(N - 1);
      if (!nodes[i].slow && nodes[i].up && !not.includes(i)) return i;
    }
  };

  // 1. Join storm: node 0 first, the others at random times within the window, all through node 0.
  const joinWindow = Math.min(10_000, 50 * N);
  const starts = nodes.map((n) => (n.i === 0 ? 0 : cluster.rng.next() * joinWindow)).map((t, i) => [t, i]);
  starts.sort((a, b) => a[0] - b[0]);
  for (const [t, i] of starts) {
    cluster.run(t);
    cluster.start(i, i === 0 ? [] : [0]);
  }
  const lastStart = cluster.now;
  const converged = runUntil(allSeeAll, endMs);
  if (converged !== null) r.joinConvergeMs = converged - lastStart;
  const joinedAt = cluster.now;
  const sentAtJoin = { ...cluster.sent };
  r.joinStormDatagramsPerMemberSec = cluster.sent.datagrams / N / Math.max(cluster.now / 1000, 1e-3);

  // 2. One update (node u renames itself): time until each member has seen it.
  if (converged !== null) {
    runUntil(() => false, 2000);
    const u = pick([]);
    const seen = new Map();
    watch = (t, obs, kind, subj) => { if (subj === u && kind === EVENT.UPDATE && !seen.has(obs)) seen.set(obs, t); };
    const t0 = cluster.now;
    cluster.rename(u, `n${u}-renamed`);
    const done = runUntil(() => upList().every((n) => n.i === u || seen.has(n.i)), 30_000);
    const lat = [...seen.values()].map((t) => t - t0).sort((a, b) => a - b);
    r.disseminationMs = { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: done === null ? null : lat[lat.length - 1], reached: lat.length };
    watch = null;

    // 3. A crash: time until the first and until every member declares it dead; then a restart.
    runUntil(() => false, 2000);
    crashed = pick([u]);
    crashWindow = [cluster.now, Infinity];
    const dead = new Set();
    let first = null;
    watch = (t, obs, kind, subj) => {
      if (subj === crashed && (kind === EVENT.DEAD) && !dead.has(obs)) { dead.add(obs); first ??= t; }
    };
    const tc = cluster.now;
    cluster.crash(crashed);
    const all = runUntil(() => upList().every((n) => dead.has(n.i)), 120_000);
    if (first !== null) r.detectFirstMs = first - tc;
    if (all !== null) r.detectAllMs = all - tc;
    watch = null;
    if (all !== null && cluster.now + 5000 < endMs) {
      runUntil(() => false, 5000);
      const tr = cluster.now;
      cluster.start(crashed, [pick([crashed])]);
      const back = runUntil(allSeeAll, 60_000);
      crashWindow[1] = cluster.now;
      if (back !== null) r.rejoinMs = back - tr;
    }

    // 4. A partition into two halves for 15 s, then healed: time until all see all again.
    if (cluster.now + 45_000 < endMs) {
      runUntil(() => false, 2000);
      const side = nodes.map(() => cluster.rng.below(2));
      partitionWindow = [cluster.now, Infinity];
      cluster.partition(side);
      runUntil(() => false, 15_000);
      cluster.heal();
      const th = cluster.now;
      const healed = runUntil(allSeeAll, endMs);
      partitionWindow[1] = cluster.now;
      if (healed !== null) r.partitionHealMs = healed - th;
    }
  }
  // 5. Steady state: traffic once the scenarios' updates have drained (or, short of time, since the join).
  let from = joinedAt, sentFrom = sentAtJoin;
  r.steadyWindow = "since the join storm converged, scenarios included";
  if (endMs - cluster.now >= 25_000) {
    runUntil(() => false, 10_000);
    from = cluster.now;
    sentFrom = { ...cluster.sent };
    r.steadyWindow = "quiet, after the scenarios";
  }
  runUntil(() => false, endMs);
  const secs = (cluster.now - from) / 1000;
  if (secs > 0) {
    r.datagramsPerMemberSec = (cluster.sent.datagrams - sentFrom.datagrams) / N / secs;
    r.bytesPerMemberSec = (cluster.sent.bytes - sentFrom.bytes) / N / secs;
  }
  r.suspicionsOfHealthy = suspicions.size;
  r.simulatedMs = cluster.now;
  r.cluster = cluster;
  return r;
}
