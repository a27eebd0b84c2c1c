// NAT scenarios on the real core (docs/nat.md "Simulator"): two NATed nodes
// and a public one (time to a direct path through cone NATs, to a relayed one
// through symmetric NATs, the upgrade when the NATs change), and a cluster
// where a fraction of the nodes sit behind NATs at 5 % loss (false deaths).
import { EVENT, PATH_KIND } from "./core.mjs";
import { Cluster } from "./cluster.mjs";
import { NAT } from "./nat.mjs";
import { watchRelayLosses } from "./relaylosses.mjs";

const POLL_MS = 50;

/** Runs until `done()` (checked every POLL_MS) or until `capMs` passes; returns the time taken or null. */
function runUntil(cluster, done, capMs) {
  const t0 = cluster.now;
  while (cluster.now < t0 + capMs) {
    cluster.run(cluster.now + POLL_MS);
    if (done()) return cluster.now - t0;
  }
  return null;
}

/** Node a's path kind to node b (0 when it has none). */
export function pathKind(cluster, a, b) {
  return cluster.nodes[a].core.paths().get(cluster.nodes[b].id)?.kind ?? 0;
}

function both(cluster, a, b, kind) {
  return pathKind(cluster, a, b) === kind && pathKind(cluster, b, a) === kind;
}

/** Counts DEAD events about nodes that are up (false deaths) and suspicions of them. */
function deathWatch() {
  const w = { cluster: null, falseDeaths: 0, suspicions: 0 };
  w.onEvent = (t, obs, kind, subj) => {
    if (!w.cluster.nodes[subj].up) return;
    if (kind === EVENT.DEAD) w.falseDeaths++;
    if (kind === EVENT.SUSPECT) w.suspicions++;
  };
  return w;
}

/**
 * Node 0 public, nodes 1 and 2 behind `type` NATs, both joining through node 0.
 * `change`: after the path settled, both routers become this type at new public addresses, 20 s apart.
 */
export function natPair({ type, change = null, seed = 1, loss = 0, settleMs = 30_000, onPathsReport }) {
  const watch = deathWatch();
  const cluster = new Cluster({ nodes: 3, seed, loss, nat: (i) => (i === 0 ? NAT.NONE : type), onEvent: watch.onEvent, onPathsReport });
  watch.cluster = cluster;
  cluster.start(0);
  cluster.run(10);
  cluster.start(1, [0]);
  cluster.start(2, [0]);
  const want = type === NAT.SYMMETRIC ? PATH_KIND.RELAY : PATH_KIND.DIRECT;
  const r = { type, timeToPathMs: runUntil(cluster, () => both(cluster, 1, 2, want), settleMs), kind: want };
  runUntil(cluster, () => false, 10_000);
  r.steady = { kind12: pathKind(cluster, 1, 2), kind21: pathKind(cluster, 2, 1) };
  r.directDatagrams12 = (cluster.net.flows.get("1>2") ?? 0) + (cluster.net.flows.get("2>1") ?? 0);
  r.relayedDatagrams = cluster.net.relayed;
  r.nat1 = cluster.nodes[1].core.self().nat;
  if (change) {
    // Independent events: one router changes, then the other 20 s later; the path can go direct after the second.
    cluster.changeNat(1, change, 1);
    runUntil(cluster, () => false, 20_000);
    r.afterFirstChange = { kind12: pathKind(cluster, 1, 2), kind21: pathKind(cluster, 2, 1) };
    cluster.changeNat(2, change, 1);
    r.timeToUpgradeMs = runUntil(cluster, () => both(cluster, 1, 2, PATH_KIND.DIRECT), 180_000);
    runUntil(cluster, () => false, 10_000);
    r.afterChange = { kind12: pathKind(cluster, 1, 2), kind21: pathKind(cluster, 2, 1) };
  }
  r.falseDeaths = watch.falseDeaths;
  r.suspicions = watch.suspicions;
  r.cluster = cluster;
  r.watch = watch;
  return r;
}

/**
 * Nodes 1 and 2 behind cone NATs go direct through node 0; then the link between them is cut (each still
 * reaches node 0), and restored `cutMs` later. Times until both ends are relayed, then direct again.
 */
export function natCut({ seed = 1, cutMs = 30_000 } = {}) {
  const r = natPair({ type: NAT.CONE, seed });
  const { cluster } = r;
  const deaths = r.watch.falseDeaths;
  cluster.cutLink(1, 2);
  r.timeToRelayMs = runUntil(cluster, () => both(cluster, 1, 2, PATH_KIND.RELAY), cutMs);
  runUntil(cluster, () => false, cutMs - (r.timeToRelayMs ?? cutMs));
  r.whileCut = { kind12: pathKind(cluster, 1, 2), kind21: pathKind(cluster, 2, 1) };
  cluster.healLinks();
  r.timeToDirectMs = runUntil(cluster, () => both(cluster, 1, 2, PATH_KIND.DIRECT), 90_000);
  r.falseDeathsAfterCut = r.watch.falseDeaths - deaths;
  return r;
}

/** The e2e membership timings (tests/e2e/harness.mjs MEMBERSHIP) by config key: probe 500 ms, timeout 250 ms, gossip 200 ms, suspicion 4 x 6. */
const E2E_MEMBERSHIP = { 100: 500, 101: 250, 103: 200, 107: 4, 108: 6 };

/**
 * The bed of tests/nat/nat.test.mjs: node 0 public, 1 and 2 behind cone NATs, 3 and 4 behind symmetric
 * ones, with the e2e's fast membership timings; 0 starts, the others join through it 30 ms apart.
 * Returns when every node saw all five alive, 1 <-> 2 direct and 3 <-> 4 relayed both ways (null: not
 * within `capMs`), and the false deaths and suspicions until `capMs`.
 */
export function natBed({ seed = 1, capMs = 30_000 }) {
  const watch = deathWatch();
  const type = (i) => (i === 0 ? NAT.NONE : i <= 2 ? NAT.CONE : NAT.SYMMETRIC);
  const cluster = new Cluster({ nodes: 5, seed, config: E2E_MEMBERSHIP, nat: type, onEvent: watch.onEvent });
  watch.cluster = cluster;
  cluster.start(0);
  cluster.run(500);
  for (let i = 1; i < 5; i++) {
    cluster.start(i, [0]);
    cluster.run(cluster.now + 30);
  }
  const allAlive = () => cluster.nodes.every((n) => n.core.members().filter((m) => m.state === 0).length === 5);
  const done = () => allAlive() && both(cluster, 1, 2, PATH_KIND.DIRECT) && both(cluster, 3, 4, PATH_KIND.RELAY);
  const convergedMs = runUntil(cluster, done, capMs);
  if (convergedMs !== null) runUntil(cluster, () => false, capMs - convergedMs);
  return { seed, convergedMs, falseDeaths: watch.falseDeaths, suspicions: watch.suspicions, stats: cluster.nodes.map((n) => n.core.stats()) };
}

/**
 * N nodes at `loss`; node 0 and every third node public, the others behind cone or symmetric NATs
 * (alternately), all joining through node 0 over `joinMs`. Counts false deaths over `seconds`.
 */
export function natCluster({ nodes = 30, seconds = 180, loss = 0.05, seed = 7, joinMs = 5000 }) {
  const watch = deathWatch();
  const type = (i) => (i % 3 === 0 ? NAT.NONE : i % 3 === 1 ? NAT.SYMMETRIC : NAT.CONE);
  const cluster = new Cluster({ nodes, seed, loss, nat: type, onEvent: watch.onEvent });
  watch.cluster = cluster;
  cluster.start(0);
  for (let i = 1; i < nodes; i++) {
    cluster.run(Math.round((i * joinMs) / nodes));
    cluster.start(i, [0]);
  }
  // A path may be searching again at any one instant (5% loss ends one now and then): a pair counts as
  // unproven only when it had no path at any of the last 10 one-second samples, and as relayed when
  // it was relayed at one of them (and direct at none: counted below).
  cluster.run((seconds - 10) * 1000);
  const proven = new Set();
  const relayedOnce = new Set();
  for (let t = seconds - 9; t <= seconds; t++) {
    cluster.run(t * 1000);
    for (const a of cluster.nodes) {
      for (const [id, p] of a.core.paths()) {
        if (p.kind !== 0) proven.add(`${a.i}>${id}`);
        if (p.kind === PATH_KIND.RELAY) relayedOnce.add(`${a.i}>${id}`);
      }
    }
  }
  let unproven = 0;
  for (const a of cluster.nodes) for (const [id] of a.core.paths()) if (!proven.has(`${a.i}>${id}`)) unproven++;
  const kinds = { direct: 0, relay: 0, none: 0 };
  let symmetricPairsRelayed = 0, symmetricPairs = 0;
  for (const a of cluster.nodes) {
    for (const [id, p] of a.core.paths()) {
      kinds[p.kind === PATH_KIND.DIRECT ? "direct" : p.kind === PATH_KIND.RELAY ? "relay" : "none"]++;
      const b = cluster.idIndex.get(id);
      if (type(a.i) === NAT.SYMMETRIC && type(b) === NAT.SYMMETRIC) {
        symmetricPairs++;
        if (p.kind !== PATH_KIND.DIRECT && relayedOnce.has(`${a.i}>${id}`)) symmetricPairsRelayed++;
      }
    }
  }
  const alive = cluster.nodes.every((n) => n.core.members().filter((m) => m.state <= 1).length === nodes);
  return {
    nodes, seconds, loss, falseDeaths: watch.falseDeaths, suspicions: watch.suspicions, paths: kinds, unproven,
    symmetricPairs, symmetricPairsRelayed, allSeeAll: alive, relayedDatagrams: cluster.net.relayed, cluster,
  };
}

/**
 * Keepalives: a cone pair that goes direct, then an idle minute with membership quietened (probes and
 * push-pull once an hour), then `divs ping` from node 1 to node 2. `keepaliveMs` 0 turns them off.
 * Returns the pong (or null within 1 s) and the datagrams the routers filtered meanwhile.
 */
export function natIdle({ keepaliveMs, seed = 1, idleMs = 60_000 }) {
  const config = { 100: 3_600_000, 109: 3_600_000, 200: keepaliveMs }; // probe, push-pull interval; keepalive_ms
  let pong = null;
  const cluster = new Cluster({
    nodes: 3, seed, config, nat: (i) => (i === 0 ? NAT.NONE : NAT.CONE),
    onPong(t, node, p) { if (node === 1 && p.seq === 7) pong = { ...p, at: t }; },
  });
  cluster.start(0);
  cluster.run(10);
  cluster.start(1, [0]);
  cluster.start(2, [0]);
  const direct = runUntil(cluster, () => both(cluster, 1, 2, PATH_KIND.DIRECT), 30_000);
  runUntil(cluster, () => false, idleMs);
  const filtered = cluster.net.filtered;
  const t0 = cluster.now;
  cluster.ping(1, 2, 7);
  runUntil(cluster, () => pong !== null, 1000);
  return {
    direct: direct !== null, pong: pong && { kind: pong.kind, rtt: pong.rtt, afterMs: pong.at - t0 },
    filteredDuringPing: cluster.net.filtered - filtered,
    keepalives: cluster.nodes[1].core.stats().path_keepalives + cluster.nodes[2].core.stats().path_keepalives,
  };
}

/**
 * Four public nodes; the link between 1 and 2 is cut, so they are relayed (by 0 or 3). Then the relay
 * crashes and restarts at once under its id (joining through the other public node): its grants are
 * gone with its process, and nobody declared it dead. Watches `watchMs` from the restart: for each end,
 * its last envelope the relay refused (`lostUntilMs`; null: none) and its first datagram that reached
 * the other end along its route after that (`resumedMs`).
 */
export function relayRestart({ seed = 1, watchMs = 30_000 } = {}) {
  const cluster = new Cluster({ nodes: 4, seed });
  cluster.start(0);
  for (let i = 1; i < 4; i++) { cluster.run(cluster.now + 20); cluster.start(i, [0]); }
  runUntil(cluster, () => false, 10_000);
  cluster.cutLink(1, 2);
  const relayedMs = runUntil(cluster, () => both(cluster, 1, 2, PATH_KIND.RELAY), 30_000);
  if (relayedMs === null) return { failures: ["1 and 2 were not relayed after the cut"] };
  runUntil(cluster, () => false, 5000);
  const relayAddr = cluster.nodes[1].core.paths().get(cluster.nodes[2].id).relay;
  const relay = cluster.ownerOf(relayAddr);
  cluster.crash(relay);
  cluster.start(relay, [relay === 0 ? 3 : 0]);
  const losses = watchRelayLosses(cluster);
  runUntil(cluster, () => false, watchMs);
  const ends = ["1>2", "2>1"].map(losses.pair);
  return { failures: [], relay, ends };
}
