// Path MTU scenarios on the simulated network, each link carrying datagrams up to its own size:
// the nodes must find every pair's limit, and when a link shrinks under frames in flight, stop
// sending what it drops within the bound of docs/pmtu.md. Membership must not notice any of it.
import { EVENT } from "./core.mjs";
import { Cluster } from "./cluster.mjs";

// assembly/pmtu.ts and assembly/pmtu-path.ts; the probe timeout is the LAN profile's.
export const BASE_DATAGRAM = 1202;
export const SEARCH_GRAIN = 8;
export const CONFIRM_ACTIVE_MS = 1000;
export const MAX_PROBES = 3;
export const PROBE_TIMEOUT_MS = 500;
/** How long a link that shrank under traffic can drop large datagrams, in the LAN profile. */
export const BLACK_HOLE_BOUND_MS = CONFIRM_ACTIVE_MS + MAX_PROBES * PROBE_TIMEOUT_MS;

const MAX_DATAGRAM = 1440; // what the host sets for a 1500-byte interface
const CONFIG = { 3: MAX_DATAGRAM }; // assembly/config.ts Key.MaxDatagram
const MSG_PMTU_PROBE = 0x30;

/** The path MTU node `i` uses toward node `j`, from its members dump. */
export function pathMtu(cluster, i, j) {
  const m = cluster.nodes[i].core.members().find((x) => x.id === cluster.nodes[j].id);
  return m ? m.maxDatagram : 0;
}

/** What a node should settle on for a link that carries `limit` bytes: the ceiling, or within the search grain under the limit. */
export function settledOk(mtu, limit) {
  if (limit >= MAX_DATAGRAM) return mtu === MAX_DATAGRAM;
  if (limit <= BASE_DATAGRAM) return mtu === BASE_DATAGRAM;
  return mtu <= limit && mtu > limit - SEARCH_GRAIN;
}

function startAll(cluster, n) {
  cluster.start(0);
  for (let i = 1; i < n; i++) { cluster.run(i * 50); cluster.start(i, [0]); }
}

/**
 * Nodes on links of different sizes (`limits(i, j)`, symmetric) for `seconds`: returns the path MTU
 * each node settled on for each other, the datagrams links dropped for their size by kind, and
 * membership's suspicions and deaths (there should be none).
 */
export function simulateConvergence({ nodes, seconds, seed, limits }) {
  const r = { mtu: [], droppedProbes: 0, droppedOther: 0, suspicions: 0, deaths: 0 };
  const cluster = new Cluster({
    nodes, seed, config: CONFIG,
    linkLimit: (a, b) => limits(a, b),
    onTooBig(t, from, to, data) { if (data[1] === MSG_PMTU_PROBE) r.droppedProbes++; else r.droppedOther++; },
    onEvent(t, obs, kind) {
      if (kind === EVENT.SUSPECT) r.suspicions++;
      if (kind === EVENT.DEAD) r.deaths++;
    },
  });
  startAll(cluster, nodes);
  cluster.run(seconds * 1000);
  for (let i = 0; i < nodes; i++) {
    r.mtu.push([]);
    for (let j = 0; j < nodes; j++) r.mtu[i].push(i === j ? 0 : pathMtu(cluster, i, j));
  }
  r.cluster = cluster;
  return r;
}

/**
 * Node 0 floods a `frameLen`-byte frame every `everyMs` to every peer over clean links; at `shrinkAt`
 * the link 0 <-> 1 drops to `shrinkTo` bytes with no ICMP. Returns how long that link went on
 * dropping node 0's non-probe datagrams, what node 0 then settled on, and what membership saw.
 */
export function simulateShrink({ nodes, seed, shrinkAt, shrinkTo, frameLen, everyMs, seconds }) {
  const r = { blackHoleMs: null, droppedOther: 0, mtuBefore: 0, mtuAfter: 0, mtuOthers: [], suspicions: 0, deaths: 0 };
  let limit = Infinity;
  let lastDrop = -Infinity;
  const cluster = new Cluster({
    nodes, seed, config: CONFIG,
    linkLimit: (a, b) => ((a === 0 && b === 1) || (a === 1 && b === 0) ? limit : Infinity),
    onTooBig(t, from, to, data) {
      if (data[1] === MSG_PMTU_PROBE) return; // the search looking upward, as it should
      r.droppedOther++;
      if (from === 0) lastDrop = t;
    },
    onEvent(t, obs, kind) {
      if (kind === EVENT.SUSPECT) r.suspicions++;
      if (kind === EVENT.DEAD) r.deaths++;
    },
  });
  startAll(cluster, nodes);
  for (let t = cluster.now; t < seconds * 1000; t += everyMs) {
    if (t >= shrinkAt && limit === Infinity) {
      r.mtuBefore = pathMtu(cluster, 0, 1);
      limit = shrinkTo;
    }
    cluster.run(t);
    cluster.frame(0, "0200000000a1", 0, frameLen);
  }
  cluster.run(seconds * 1000);
  if (lastDrop >= shrinkAt) r.blackHoleMs = lastDrop - shrinkAt;
  r.mtuAfter = pathMtu(cluster, 0, 1);
  for (let j = 2; j < nodes; j++) r.mtuOthers.push(pathMtu(cluster, 0, j));
  r.blackHoles = cluster.nodes[0].core.stats().pmtu_black_holes;
  r.cluster = cluster;
  return r;
}
