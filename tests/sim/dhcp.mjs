// The distributed DHCP server on the real core in the simulator: clients (a
// small RFC 2131 state machine) behind nodes' TAPs, partitions, heals and a
// crash, and a check on every ACK that no other client holds that address.
import { Cluster } from "./cluster.mjs";
import { IN_DHCP_RESTORE, IN_FRAME, OUT_DHCP_LEASE, OUT_DHCP_RANGE, OUT_DHCP_STATE } from "./core.mjs";
import { get32, ipText, ipv4, requestFrame } from "../fixtures/dhcp-frames.mjs";

export { ipv4 };

export const DHCP_KEYS = { start: 300, size: 301, leaseS: 302, seed: 308, reclaimAfterMs: 309 };
const DISCOVER = 1, OFFER = 2, REQUEST = 3, ACK = 5, NAK = 6;
/** dhcp_reclaim_after_ms; the bound is at least twice the lease time (docs/dhcp.md "Bounds"). */
const RECLAIM_AFTER_MS = 1000;

/** The DHCP reply in a frame a node wrote to its TAP, or null. */
export function parseReply(f) {
  if (f.length < 42 + 240 || f[12] !== 0x08 || f[13] !== 0 || f[14 + 9] !== 17) return null;
  const d = 42;
  if (f[d] !== 2) return null;
  const r = { xid: get32(f, d + 4), yiaddr: get32(f, d + 16), chaddr: f.slice(d + 28, d + 34), type: 0, leaseS: 0, serverId: 0 };
  for (let o = d + 240; o + 1 < f.length && f[o] !== 255;) {
    const code = f[o], len = f[o + 1];
    if (code === 53) r.type = f[o + 2];
    if (code === 51) r.leaseS = get32(f, o + 2);
    if (code === 54) r.serverId = get32(f, o + 2);
    o += 2 + len;
  }
  return r;
}

/** Ownership and leases as node `i` sees them (dhcp_dump). */
export function dumpDhcp(cluster, i) {
  const core = cluster.nodes[i].core;
  const ranges = [], leases = [];
  let from = 0;
  do {
    const len = core.x.dhcp_dump(from);
    core.drain(len, (kind, at, n) => {
      const dv = core.dv;
      if (kind === OUT_DHCP_RANGE) {
        ranges.push({ first: dv.getUint32(at, true), last: dv.getUint32(at + 4, true), owner: dv.getBigUint64(at + 8, true) });
      } else if (kind === OUT_DHCP_LEASE) {
        leases.push({ ip: dv.getUint32(at, true), state: core.u8[at + 4], leftMs: dv.getFloat64(at + 24, true) });
      }
    });
    from = core.x.dhcp_dump_next();
  } while (from !== 0);
  return { ranges, leases };
}

/** What node `i` keeps in its state directory: its dhcp_save chunks (the host saves them after every change). */
function savedState(cluster, i) {
  const core = cluster.nodes[i].core;
  const chunks = [];
  for (let len = core.x.dhcp_save(1); len > 0; len = core.x.dhcp_save(0)) {
    core.drain(len, (kind, at, n) => { if (kind === OUT_DHCP_STATE) chunks.push(core.u8.slice(at, at + n)); });
  }
  return chunks;
}

/** IN_DHCP_RESTORE records for `chunks` saved `elapsedMs` ago. */
function restoreRecords(chunks, elapsedMs) {
  const elapsed = new Uint8Array(8);
  new DataView(elapsed.buffer).setFloat64(0, elapsedMs, true);
  return chunks.map((c) => [IN_DHCP_RESTORE, [elapsed, c]]);
}

/**
 * Runs the scenario; returns { duplicates, failures, firstLeaseMs (per client on the idle switch), ... }.
 * o: nodes, clients, seed, poolStart, poolSize, leaseS
 */
export function simulateDhcp(o) {
  const leaseMs = o.leaseS * 1000;
  const failures = [];
  const duplicates = [];
  const clients = [];
  let xids = 1;
  const cluster = new Cluster({
    nodes: o.nodes, seed: o.seed, loss: o.loss ?? 0,
    config: {
      199: 2, [DHCP_KEYS.start]: ipv4(o.poolStart), [DHCP_KEYS.size]: o.poolSize, [DHCP_KEYS.leaseS]: o.leaseS,
      [DHCP_KEYS.reclaimAfterMs]: RECLAIM_AFTER_MS,
    },
    onFrame: (t, node, frame) => {
      const r = parseReply(frame);
      if (!r) return;
      const c = clients.find((k) => k.xid === r.xid && k.mac.every((b, j) => b === r.chaddr[j]));
      if (c && c.node === node) c.inbox.push(r);
    },
  });
  const byNode = (side) => clients.filter((c) => side.includes(c.node));

  function send(c, type, extra) {
    c.xid = xids++;
    cluster.input(c.node, IN_FRAME, [requestFrame(c.mac, type, { xid: c.xid, ...extra })]);
    c.sentAt = cluster.now;
  }

  function act(c, t) {
    for (const r of c.inbox.splice(0)) {
      if (r.type === OFFER && c.state === "selecting") {
        c.state = "requesting";
        c.offered = r.yiaddr;
        send(c, REQUEST, { requested: r.yiaddr, serverId: r.serverId });
      } else if (r.type === ACK && (c.state === "requesting" || c.state === "renewing" || c.state === "rebooting")) {
        const ip = r.yiaddr;
        for (const d of clients) {
          if (d !== c && d.ip === ip && d.leaseEnd > t) duplicates.push({ t, ip: ipText(ip), a: c.name, b: d.name });
        }
        if (c.firstAt !== null && c.ip === 0 && c.boundOnce === false) { c.firstLeaseMs = t - c.firstAt; c.boundOnce = true; }
        c.ip = ip;
        c.serverId = r.serverId;
        c.leaseEnd = t + r.leaseS * 1000;
        c.renewAt = t + r.leaseS * 500;
        c.state = "bound";
      } else if (r.type === NAK) {
        c.ip = 0; c.leaseEnd = 0; c.state = "init";
      }
    }
    if (c.ip && t >= c.leaseEnd) { c.ip = 0; c.state = "init"; }
    if (c.state === "init") {
      c.state = "selecting";
      if (c.firstAt === null) c.firstAt = t;
      send(c, DISCOVER, {});
    } else if (c.state === "bound" && t >= c.renewAt) {
      c.state = "renewing";
      send(c, REQUEST, { ciaddr: c.ip, dstIp: c.serverId });
    } else if (c.state === "moved") {
      c.state = "rebooting";
      send(c, REQUEST, { requested: c.ip });
    } else if (c.state !== "bound" && t - c.sentAt > 2000) {
      // No answer: retry (a renewal retries as itself until the lease ends).
      if (c.state === "renewing") send(c, REQUEST, { ciaddr: c.ip, dstIp: c.serverId });
      else { c.state = "init"; if (c.ip) c.state = "moved"; }
    }
  }

  function addClient(node) {
    const k = clients.length;
    clients.push({
      name: `c${k}`, mac: [0x02, 0x00, 0x5e, 0x20, k >> 8, k & 255], node, state: "init", inbox: [], xid: 0,
      ip: 0, leaseEnd: 0, renewAt: 0, serverId: 0, sentAt: 0, offered: 0, firstAt: null, firstLeaseMs: null, boundOnce: false,
    });
  }

  function runUntil(until) {
    while (cluster.now < until) {
      const t = cluster.now + 100;
      cluster.run(t);
      for (const c of clients) if (cluster.nodes[c.node].up) act(c, t);
    }
  }

  cluster.start(0);
  cluster.nodes[0].core.x.config_set(DHCP_KEYS.seed, 1);
  for (let i = 1; i < o.nodes; i++) { cluster.run(cluster.now + 100); cluster.start(i, [0]); }
  // Donations travel by gossip; a member every relay missed hears them at the next push-pull (15 s).
  runUntil(20_000);
  const owners = new Set(dumpDhcp(cluster, 0).ranges.map((r) => r.owner));
  if (owners.size !== o.nodes) failures.push(`after the joins ${owners.size} of ${o.nodes} nodes own blocks`);

  for (let k = 0; k < o.clients; k++) addClient(k % o.nodes);
  runUntil(30_000);
  const firstLease = clients.map((c) => c.firstLeaseMs);
  if (firstLease.some((v) => v === null)) failures.push(`${firstLease.filter((v) => v === null).length} clients without a lease on the idle switch`);

  // Partition: a majority A and a minority B; new clients ask on both sides.
  const half = Math.ceil(o.nodes / 2) + 1;
  const A = [...Array(half).keys()], B = [...Array(o.nodes).keys()].filter((i) => i >= half);
  cluster.partition(cluster.nodes.map((n) => (n.i < half ? "A" : "B")));
  for (let k = 0; k < 10; k++) addClient(k % 2 ? A[k % A.length] : B[k % B.length]);
  let renewedInA = 0;
  const aBefore = new Map(byNode(A).filter((c) => c.ip).map((c) => [c.name, c.ip]));
  runUntil(30_000 + 3 * o.leaseS * 1000 + 60_000);
  for (const c of byNode(A)) if (aBefore.has(c.name) && aBefore.get(c.name) === c.ip) renewedInA++;
  const bReclaimed = dumpDhcp(cluster, 0).ranges.every((r) => !B.some((i) => cluster.nodes[i].id === r.owner));
  if (!bReclaimed) failures.push("the majority did not reclaim the minority's blocks");
  cluster.heal();
  // The minority's nodes are replaced by fresh ones (new ids) joining through node 0 (a restart under
  // the same id comes back too: tests/sim/heal.test.mjs). A fresh node has no tokens: it learns the
  // pool's ownership by push-pull and asks for a share.
  for (const i of B) {
    cluster.crash(i);
    const n = cluster.nodes[i];
    n.id = n.id ^ 0x5a5an;
    cluster.idIndex.set(n.id, i);
    cluster.start(i, [0]);
  }
  runUntil(cluster.now + 40_000);
  const unbound = clients.filter((c) => !c.ip);
  if (unbound.length) failures.push(`after the heal ${unbound.length} clients have no address: ${unbound.map((c) => c.name)}`);

  // A node restarts from its state directory under a new id (ids are random per start): it re-owns its
  // blocks once it has joined, and its clients renew there and keep their addresses.
  const restarting = A[1];
  const keepers = byNode([restarting]).filter((c) => c.ip).map((c) => [c, c.ip]);
  const saved = savedState(cluster, restarting);
  const oldId = cluster.nodes[restarting].id;
  cluster.crash(restarting);
  runUntil(cluster.now + 5_000);
  const rn = cluster.nodes[restarting];
  rn.id = oldId ^ 0xa5a5n;
  cluster.idIndex.set(rn.id, restarting);
  cluster.start(restarting, [0], restoreRecords(saved, 5_000));
  runUntil(cluster.now + o.leaseS * 1000);
  const reowned = rn.core.stats().dhcp_blocks_reowned ?? 0;
  if (reowned === 0) failures.push("the restarted node re-owned none of its blocks");
  if (dumpDhcp(cluster, 0).ranges.some((r) => r.owner === oldId)) failures.push("node 0 still sees blocks of the restarted node's old id");
  const lost = keepers.filter(([c, ip]) => c.ip !== ip);
  if (lost.length) failures.push(`${lost.length} of ${keepers.length} clients of the restarted node lost their address`);

  // A node dies; its clients move to a neighbour and ask for their address there.
  const dead = A[A.length - 1];
  cluster.crash(dead);
  const diedAt = cluster.now;
  const moved = byNode([dead]);
  for (const c of moved) { c.node = A[0]; c.state = c.ip ? "moved" : "init"; }
  // Reclaimed (as node 0 sees it) no sooner than reclaim_after: max(config, 2 x lease) after the death.
  let reclaimMs = null;
  for (const end = cluster.now + 2 * o.leaseS * 1000 + 90_000; cluster.now < end;) {
    runUntil(cluster.now + 1000);
    if (reclaimMs === null && !dumpDhcp(cluster, 0).ranges.some((r) => r.owner === cluster.nodes[dead].id)) reclaimMs = cluster.now - diedAt;
  }
  const live = cluster.nodes.filter((n) => n.up).map((n) => n.i);
  for (const i of live) {
    const d = dumpDhcp(cluster, i);
    if (d.ranges.some((r) => r.owner === cluster.nodes[dead].id)) failures.push(`node ${i} still sees blocks of the dead node`);
  }
  const after = clients.filter((c) => !c.ip);
  if (after.length) failures.push(`after the death ${after.length} clients have no address`);
  let conflicts = 0;
  for (const i of live) conflicts += cluster.nodes[i].core.stats().dhcp_range_conflicts ?? 0;
  return {
    duplicates, failures, firstLease, renewedInA, aClients: aBefore.size, conflicts, clients: clients.length, reowned, keptOverRestart: keepers.length,
    reclaimMs, reclaimAfterMs: Math.max(RECLAIM_AFTER_MS, 2 * leaseMs),
  };
}
