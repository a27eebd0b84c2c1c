// The membership scenarios as assertions (npm run test:sim), on the real core.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EVENT } from "./core.mjs";
import { Cluster } from "./cluster.mjs";
import { simulate } from "./scenarios.mjs";

const strip = ({ cluster, ...figures }) => figures;

test("N=100 at 5% loss for 10 simulated minutes: no false positives, every crash detected by all", () => {
  const r = simulate({ nodes: 100, seconds: 600, loss: 0.05, seed: 7 });
  assert.equal(r.falsePositives, 0);
  assert.notEqual(r.joinConvergeMs, null, "join storm never converged");
  assert.equal(r.disseminationMs.reached, 99, "the update did not reach every member");
  assert.notEqual(r.detectAllMs, null, "the crash was not detected by every member");
  assert.ok(r.detectFirstMs <= r.detectAllMs);
  assert.notEqual(r.rejoinMs, null, "the restarted member was not seen by all again");
  assert.notEqual(r.partitionHealMs, null, "the partition never healed");
});

test("Lifeguard: slow members do not get healthy ones declared dead, and awareness quiets them", () => {
  // Slow members handle their input up to 2 s late, so their own probes time out.
  const slow = { nodes: 50, seconds: 300, slow: 5, seed: 3, slowLagMs: 2000 };
  const lifeguard = simulate(slow);
  const noAwareness = simulate({ ...slow, config: { 110: 1 } }); // awareness_max_multiplier = 1
  assert.equal(lifeguard.falsePositives, 0);
  assert.notEqual(lifeguard.detectAllMs, null);
  assert.ok(lifeguard.suspicionsOfHealthy * 3 < noAwareness.suspicionsOfHealthy,
    `suspicions of healthy members: ${lifeguard.suspicionsOfHealthy} with awareness, ${noAwareness.suspicionsOfHealthy} without`);
});

test("a run is fully determined by its seed", () => {
  const a = simulate({ nodes: 30, seconds: 90, loss: 0.02, seed: 11 });
  const b = simulate({ nodes: 30, seconds: 90, loss: 0.02, seed: 11 });
  assert.deepEqual(strip(a), strip(b));
  assert.deepEqual(a.cluster.sent, b.cluster.sent);
  const c = simulate({ nodes: 30, seconds: 90, loss: 0.02, seed: 12 });
  assert.notDeepEqual(a.cluster.sent, c.cluster.sent);
});

test("a graceful leave reaches every member as LEFT, never as DEAD", () => {
  const seen = new Map();
  const cluster = new Cluster({
    nodes: 20, seed: 5,
    onEvent(t, obs, kind, subj) { if (subj === 7) seen.set(obs, kind); },
  });
  cluster.start(0);
  for (let i = 1; i < 20; i++) { cluster.run(i * 20); cluster.start(i, [0]); }
  cluster.run(5000);
  assert.ok([...seen.values()].every((k) => k === EVENT.JOIN), "everyone saw member 7 join");
  cluster.leave(7);
  const t0 = cluster.now;
  cluster.run(t0 + 3000);
  cluster.crash(7); // the host stops after its grace period
  cluster.run(t0 + 60_000);
  for (let i = 0; i < 20; i++) if (i !== 7) assert.equal(seen.get(i), EVENT.LEFT, `member ${i}`);
  // Nobody still lists it as alive.
  for (let i = 0; i < 20; i++) {
    if (i === 7) continue;
    const m = cluster.nodes[i].core.members().find((x) => x.id === cluster.nodes[7].id);
    assert.ok(m === undefined || m.state === 3, `member ${i} has 7 in state ${m?.state}`);
  }
});

test("a partition longer than gossip_to_the_dead_ms heals: each side tells the other it is dead, so it refutes", () => {
  // 6 nodes, halves apart for 60 s (twice the 30 s after which the dead are left out of push-pulls).
  const cluster = new Cluster({ nodes: 6, seed: 3, config: { 112: 1000 } }); // reconnect_interval_ms
  cluster.start(0);
  for (let i = 1; i < 6; i++) { cluster.run(cluster.now + 100); cluster.start(i, [0]); }
  const allAlive = () => cluster.nodes.every((n) => n.core.members().filter((m) => m.state === 0).length === 6);
  const runUntil = (done, ms) => {
    for (const end = cluster.now + ms; cluster.now < end;) {
      cluster.run(cluster.now + 250);
      if (done()) return true;
    }
    return false;
  };
  assert.ok(runUntil(allAlive, 30_000), "the join never converged");
  cluster.partition(cluster.nodes.map((n) => (n.i < 3 ? "A" : "B")));
  assert.ok(runUntil(() => cluster.nodes[0].core.members().filter((m) => m.state === 0).length === 3, 30_000), "the split was never seen");
  runUntil(() => false, 60_000);
  cluster.heal();
  const healedAt = cluster.now;
  assert.ok(runUntil(allAlive, 30_000), "the halves never merged back");
  console.log(`# halves apart for 60 s merged back ${((cluster.now - healedAt) / 1000).toFixed(1)} s after the heal`);
});
