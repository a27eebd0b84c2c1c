// Coming back from dead in the simulated cluster (issue 19): a partition long enough for each side to
// declare the other dead, then healed; a member crashed long enough to be declared dead, then
// restarted under the same id. Measured: the time until every node lists every member alive, and
// until every MAC table again maps each node's MAC to it.
import { Cluster } from "./cluster.mjs";
import { CHECK_MS, key, macOf } from "./macs.mjs";

/** A cluster of `o.nodes`, each with one MAC learnt on its TAP, agreed on members and MACs; null if it never agrees. */
function agreedCluster(o) {
  const cluster = new Cluster({ nodes: o.nodes, seed: o.seed ?? 1, loss: o.loss ?? 0, config: o.config });
  const nodes = cluster.nodes;
  cluster.start(0);
  for (let i = 1; i < o.nodes; i++) { cluster.run(i * 20); cluster.start(i, [0]); }
  cluster.run(5000);
  for (const n of nodes) cluster.frame(n.i, macOf(n.i, 0));
  const allMembers = () => nodes.every((n) => n.core.members().filter((m) => m.state <= 1).length === o.nodes);
  const allMacs = () => nodes.every((n) => {
    const t = n.core.macs();
    return nodes.every((m) => t.get(key(macOf(m.i, 0)))?.owner === m.id);
  });
  const runUntil = (done, capMs) => cluster.runUntil(done, capMs, CHECK_MS);
  const ready = runUntil(() => allMembers() && allMacs(), 30_000) !== null;
  return ready ? { cluster, nodes, allMembers, allMacs, runUntil } : null;
}

/** After `disrupt` ends (returning the failures so far), the time until members and then MAC tables agree. */
function timeRecovery(c, capMs, r) {
  const t0 = c.cluster.now;
  c.runUntil(() => {
    if (r.membersMs === null && c.allMembers()) r.membersMs = c.cluster.now - t0;
    if (r.macsMs === null && c.allMacs()) r.macsMs = c.cluster.now - t0;
    return r.membersMs !== null && r.macsMs !== null;
  }, capMs);
  if (r.membersMs === null) r.failures.push(`members did not all see each other alive within ${capMs} ms`);
  if (r.macsMs === null) r.failures.push(`MAC tables did not agree within ${capMs} ms`);
  return r;
}

/** Nodes [0, sideA) against the rest for `holdMs`, then healed. */
export function simulatePartitionHeal(o) {
  const r = { failures: [], membersMs: null, macsMs: null };
  const c = agreedCluster(o);
  if (c === null) return { ...r, failures: ["no agreement before the partition"] };
  c.cluster.partition(c.nodes.map((n) => (n.i < o.sideA ? 0 : 1)));
  c.runUntil(() => false, o.holdMs);
  if (c.allMembers()) r.failures.push("nobody was declared dead during the partition");
  c.cluster.heal();
  return timeRecovery(c, o.capMs, r);
}

/** Node `o.victim` crashes, stays down `o.downMs`, restarts under the same id joining through node 0. */
export function simulateRestartSameId(o) {
  const r = { failures: [], membersMs: null, macsMs: null };
  const c = agreedCluster(o);
  if (c === null) return { ...r, failures: ["no agreement before the crash"] };
  c.cluster.crash(o.victim);
  c.runUntil(() => false, o.downMs);
  const victimId = c.nodes[o.victim].id;
  const declared = c.nodes.filter((n) => n.up).every((n) => n.core.members().find((m) => m.id === victimId)?.state === 2);
  if (!declared) r.failures.push("the crashed node was not declared dead by every member");
  c.cluster.start(o.victim, [0]);
  c.cluster.frame(o.victim, macOf(o.victim, 0)); // its TAP sees its MAC again
  return timeRecovery(c, o.capMs, r);
}
