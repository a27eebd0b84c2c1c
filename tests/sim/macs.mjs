// The distributed MAC table in the simulated cluster (docs/mactable.md): MACs
// learnt on a few nodes spread to every table; a crashed owner's MACs vanish
// where it is declared dead; a MAC moving between nodes converges everywhere
// with a higher version; a late joiner gets the whole table by push-pull.
// Every figure is measured by reading each node's macs_dump.
import { EVENT } from "./core.mjs";
import { Cluster } from "./cluster.mjs";

export const CHECK_MS = 100;

export const macOf = (node, k) => `02${node.toString(16).padStart(6, "0")}${k.toString(16).padStart(4, "0")}`;
export const key = (mac, vlan = 0) => `${mac}/${vlan}`;

/** push_pull_interval_ms (LAN default 30 s) scaled as the core does beyond 32 members (memberlist pushPullScale). */
export function pushPullMs(n, base = 30_000) {
  return n <= 32 ? base : base * (Math.ceil(Math.log2(n) - 5) + 1);
}

/** Sorted quantile; null for an empty list. */
function quantile(sorted, q) {
  return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * @param {object} o nodes, seed, loss, learners (nodes that learn MACs), macsPerLearner, config
 * @returns measured figures and `failures` (strings; empty when every check held)
 */
export function simulateMacTable(o) {
  const N = o.nodes, learners = Math.min(o.learners ?? 5, N - 2), perLearner = o.macsPerLearner ?? 3;
  const r = {
    nodes: N, seed: o.seed ?? 1, loss: o.loss ?? 0, macs: learners * perLearner,
    learnToAllMs: null, dropOnDeathMs: null, moveToAllMs: null, joinerTableMs: null, failures: [],
  };
  const dead = new Map(); // observer -> time it declared the crashed node dead
  let crashedIdx = -1;
  const cluster = new Cluster({
    nodes: N, seed: r.seed, loss: r.loss, config: o.config,
    onEvent(t, obs, kind, subj) {
      if (subj === crashedIdx && kind === EVENT.DEAD && !dead.has(obs)) dead.set(obs, t);
    },
  });
  const nodes = cluster.nodes;
  const late = N - 1; // joins after everything else happened
  const up = () => nodes.filter((n) => n.up);
  const tables = () => new Map(up().map((n) => [n.i, n.core.macs()]));
  const fail = (msg) => r.failures.push(msg);
  /** Runs until done() (checked every CHECK_MS) or capMs passes; returns the elapsed ms or null. */
  const runUntil = (done, capMs) => cluster.runUntil(done, capMs, CHECK_MS);

  // Everyone but the late joiner joins through node 0; wait until each lists all as members.
  cluster.start(0);
  for (let i = 1; i < late; i++) { cluster.run(i * 20); cluster.start(i, [0]); }
  const allMembers = () => up().every((n) => n.core.members().filter((m) => m.state <= 1).length === up().length);
  if (runUntil(allMembers, 60_000) === null) { fail("the cluster never converged"); return r; }
  runUntil(() => false, 2000);

  // 1. A few nodes learn MACs from their TAP; time until every table has each with its owner.
  const learnt = [];
  const t0 = cluster.now;
  for (let l = 1; l <= learners; l++) {
    for (let k = 0; k < perLearner; k++) { cluster.frame(l, macOf(l, k)); learnt.push([key(macOf(l, k)), l]); }
  }
  // Pairs (node, MAC) still to see; a table is read once per check, only while it lacks something.
  const reached = new Map(); // MAC -> time its last table got it
  const pending = new Map(learnt.map(([k, owner]) => [k, { owner, nodes: new Set(up().map((n) => n.i)) }]));
  const cap = 1.5 * pushPullMs(N) + 5000; // gossip reaches nearly all; anti-entropy the rest
  runUntil(() => {
    const dumps = new Map();
    for (const [k, p] of pending) {
      for (const i of p.nodes) {
        if (!dumps.has(i)) dumps.set(i, nodes[i].core.macs());
        const e = dumps.get(i).get(k);
        if (e && e.owner === nodes[p.owner].id && e.version === 1) p.nodes.delete(i);
      }
      if (p.nodes.size === 0) { reached.set(k, cluster.now - t0); pending.delete(k); }
    }
    return pending.size === 0;
  }, cap);
  const times = [...reached.values()].sort((a, b) => a - b);
  r.learnToAll = {
    p50: quantile(times, 0.5), p90: quantile(times, 0.9), max: times.at(-1) ?? null, reached: reached.size, of: learnt.length,
  };
  r.boundMs = cap;
  r.learnToAllMs = reached.size === learnt.length ? times.at(-1) : null;
  if (r.learnToAllMs === null) fail(`only ${reached.size} of ${learnt.length} MACs reached every table`);
  // Every table agrees on every entry.
  const agree = () => {
    const all = tables();
    const ref = all.get(0);
    for (const [i, t] of all) {
      if (t.size !== ref.size) return `node ${i} has ${t.size} entries, node 0 ${ref.size}`;
      for (const [k, e] of t) {
        const f = ref.get(k);
        if (!f || f.owner !== e.owner || f.version !== e.version) return `node ${i} and node 0 differ on ${k}`;
      }
    }
    return null;
  };
  const disagreement = agree();
  if (disagreement) fail(disagreement);

  // 2. A learner crashes: wherever it is declared dead its MACs are gone by the next check.
  crashedIdx = 1;
  const crashedId = nodes[crashedIdx].id;
  const tc = cluster.now;
  cluster.crash(crashedIdx);
  let leftover = null;
  const checked = new Set();
  const allDeclared = runUntil(() => {
    for (const [obs] of dead) {
      if (checked.has(obs)) continue;
      checked.add(obs); // the first check after it declared the node dead
      for (const e of nodes[obs].core.macs().values()) if (e.owner === crashedId) leftover ??= `node ${obs} kept a MAC of the dead node`;
    }
    return up().every((n) => dead.has(n.i));
  }, 120_000);
  if (allDeclared === null) fail("the crash was not detected by every member");
  else r.dropOnDeathMs = Math.max(...dead.values()) - tc;
  if (leftover) fail(leftover);
  for (const [i, t] of tables()) {
    for (const e of t.values()) if (e.owner === crashedId) { fail(`node ${i} still lists a MAC of the crashed node`); break; }
  }

  // 3. A MAC moves from learner 2 to node 3+learners (a VM migrating): every table follows, version 2.
  const from = 2, to = learners + 2;
  const moved = key(macOf(from, 0));
  cluster.frame(to, macOf(from, 0));
  const behind = new Set(up().map((n) => n.i));
  r.moveToAllMs = runUntil(() => {
    for (const i of behind) {
      const e = nodes[i].core.macs().get(moved);
      if (e && e.owner === nodes[to].id && e.version === 2) behind.delete(i);
    }
    return behind.size === 0;
  }, cap);
  if (r.moveToAllMs === null) fail("the moved MAC did not converge to its new owner everywhere");
  const atOld = nodes[from].core.macs().get(moved);
  if (!atOld || atOld.kind !== 2) fail("the old owner did not give the moved MAC up");

  // 4. A late joiner: its join push-pull brings the whole table (no refresh is due this soon).
  runUntil(() => false, 5000);
  const seedTable = nodes[0].core.macs();
  cluster.start(late, [0]);
  r.joinerTableMs = runUntil(() => {
    const t = nodes[late].core.macs();
    if (t.size !== seedTable.size) return false;
    for (const [k, e] of seedTable) {
      const f = t.get(k);
      if (!f || f.owner !== e.owner || f.version !== e.version) return false;
    }
    return true;
  }, 2000);
  if (r.joinerTableMs === null) fail(`the late joiner did not get the whole table (${nodes[late].core.macs().size} of ${seedTable.size}) within 2 s`);
  r.tableSize = seedTable.size;
  r.cluster = cluster;
  return r;
}

/**
 * Refresh and ageing: MACs kept alive on their owner's TAP survive many ageing
 * times through refreshes; a MAC its owner stops seeing disappears from every
 * table within about two ageing times, push-pull copies notwithstanding.
 */
export function simulateAgeing(o) {
  const N = o.nodes, ageing = o.ageingMs;
  const r = { failures: [], goneEverywhereMs: null };
  const cluster = new Cluster({ nodes: N, seed: o.seed ?? 1, loss: o.loss ?? 0, config: { 1: ageing, ...(o.config ?? {}) } });
  const nodes = cluster.nodes;
  cluster.start(0);
  for (let i = 1; i < N; i++) { cluster.run(i * 20); cluster.start(i, [0]); }
  cluster.run(10_000);
  const kept = macOf(1, 1), stopped = macOf(2, 1);
  const keep = () => cluster.frame(1, kept);
  keep();
  cluster.frame(2, stopped);
  const t0 = cluster.now;
  const has = (n, mac) => n.core.macs().has(key(mac));
  // Run 6 ageing times, the kept MAC seen on TAP every ageing/4.
  const step = 5 * CHECK_MS;
  for (let t = t0; t < t0 + 6 * ageing; t += step) {
    if (Math.floor((t - t0) / (ageing / 4)) !== Math.floor((t + step - t0) / (ageing / 4))) keep();
    cluster.run(t + step);
    if (t - t0 > ageing / 2) {
      for (const n of nodes) if (!has(n, kept)) { r.failures.push(`node ${n.i} lost a refreshed MAC at ${Math.round(t - t0)} ms`); return r; }
    }
    if (r.goneEverywhereMs === null && nodes.every((n) => !has(n, stopped))) r.goneEverywhereMs = cluster.now - t0;
    if (r.goneEverywhereMs !== null && nodes.some((n) => has(n, stopped))) { r.failures.push("the stopped MAC came back"); return r; }
  }
  if (r.goneEverywhereMs === null) r.failures.push(`a MAC no longer seen stayed past ${6 * ageing} ms`);
  return r;
}
