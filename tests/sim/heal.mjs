// Coming back from dead in the simulated cluster (issue 19): a partition long enough for each side to
// declare the other dead, then healed; a member crashed long enough to be declared dead, then
// restarted under the same id. Measured: the time until every node lists every member alive, and
// until every MAC table again maps each node's MAC to it.
import { Cluster } from "./cluster.mjs";
import { ADDR_SLOT, IN_IDENTITY, nodeAddr } from "./core.mjs";
import { CHECK_MS, key, macOf } from "./macs.mjs";
import { watchRelayLosses } from "./relaylosses.mjs";

/**
 * A cluster of `o.nodes`, each with one MAC learnt on its TAP, agreed on members and MACs; null if it
 * never agrees. `o.spare` more nodes exist unstarted: addresses no member has had.
 */
function agreedCluster(o) {
  const cluster = new Cluster({ nodes: o.nodes + (o.spare ?? 0), seed: o.seed ?? 1, loss: o.loss ?? 0, config: o.config });
  const nodes = cluster.nodes.slice(0, o.nodes);
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

/**
 * Nodes [0, sideA) against the rest for `holdMs`, then healed and watched for `watchMs`: every envelope a
 * relay's host refused (no grant for the pair) and every datagram that reached its peer along its route.
 * Returns, per ordered pair that had one refused after the heal, `lostUntilMs` (its last refusal) and
 * `resumedMs` (its first routed delivery after that; null: none), both from the heal.
 */
export function simulateRelaysAfterHeal(o) {
  const r = { failures: [], refused: 0, pairs: [] };
  const c = agreedCluster(o);
  if (c === null) return { ...r, failures: ["no agreement before the partition"] };
  c.cluster.partition(c.nodes.map((n) => (n.i < o.sideA ? 0 : 1)));
  c.runUntil(() => false, o.holdMs);
  c.cluster.heal();
  const losses = watchRelayLosses(c.cluster);
  c.runUntil(() => false, o.watchMs);
  r.refused = losses.refused;
  r.pairs = losses.refusedPairs();
  return r;
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

/**
 * Node `o.victim` crashes, and `o.downMs` later, held dead by every member for longer than
 * gossip_to_the_dead_ms, it restarts under its id at another address (the spare node's, which never
 * ran): it comes back by its own refutation, since its seed's answer carries its dead entry (by the
 * id the request came from, not by address). Times members and MAC tables as timeRecovery does, the
 * restarted node's MAC being its old one.
 */
export function simulateRestartElsewhere(o) {
  const r = { failures: [], membersMs: null, macsMs: null };
  const c = agreedCluster({ ...o, spare: 1 });
  if (c === null) return { ...r, failures: ["no agreement before the crash"] };
  const victim = c.nodes[o.victim];
  c.cluster.crash(o.victim);
  c.runUntil(() => false, o.downMs);
  const elsewhere = c.cluster.nodes[o.nodes];
  elsewhere.id = victim.id;
  elsewhere.name = victim.name;
  c.nodes[o.victim] = elsewhere; // the member is at its new address now
  c.cluster.start(elsewhere.i, [0]);
  c.cluster.frame(elsewhere.i, macOf(o.victim, 0));
  const macOfNode = (n) => macOf(n === elsewhere ? o.victim : n.i, 0);
  c.allMacs = () => c.nodes.every((n) => {
    const t = n.core.macs();
    return c.nodes.every((m) => t.get(key(macOfNode(m)))?.owner === m.id);
  });
  return timeRecovery(c, o.capMs, r);
}

/**
 * Node `o.victim` crashes for good; `o.downMs` later, when every member has held it dead for longer than
 * gossip_to_the_dead_ms, node `o.replayer` sends node 0 a copy of the victim's signed ALIVE taken from
 * the wire before the crash (a genuine claim, only old). Only the member itself may undo its death, with
 * a higher incarnation: the copy must bring it back nowhere. With `o.movedFirst` the victim took another
 * address (a new incarnation there) before the crash, so the copy names an address it had before: it
 * still brings nothing back (before, a dead member's ALIVE from another address was news at any
 * incarnation). Returns the members that took it for alive.
 */
export function simulateReplayedAlive(o) {
  const r = { failures: [], revivedAt: [] };
  const c = agreedCluster(o);
  if (c === null) return { ...r, failures: ["no agreement before the crash"] };
  const victim = c.nodes[o.victim];
  const copy = watchForInfo(c.cluster, victim);
  c.runUntil(() => copy.value !== null, 60_000); // a push-pull carries it within an interval
  if (copy.value === null) return { ...r, failures: ["no ALIVE of the victim was seen on the wire"] };
  if (o.movedFirst) {
    const incarnation = (n) => n.core.members().find((m) => m.id === victim.id)?.incarnation;
    const before = incarnation(c.nodes[0]);
    const id = new Uint8Array(8);
    new DataView(id.buffer).setBigUint64(0, victim.id, true);
    const slot = new Uint8Array(ADDR_SLOT);
    slot.set(nodeAddr(o.nodes + 7)); // nobody's
    c.cluster.input(o.victim, IN_IDENTITY, [id, slot, new TextEncoder().encode(victim.name)]);
    if (c.runUntil(() => c.nodes.every((n) => incarnation(n) > before), 10_000) === null) {
      return { ...r, failures: ["the victim's move did not reach every member"] };
    }
  }
  c.cluster.crash(o.victim);
  c.runUntil(() => false, o.downMs);
  const deadEverywhere = c.nodes.filter((n) => n.up).every((n) => n.core.members().find((m) => m.id === victim.id)?.state === 2);
  if (!deadEverywhere) r.failures.push("the crashed node was not declared dead by every member");
  const datagram = new Uint8Array(2 + copy.value.length);
  datagram[0] = WIRE_VERSION;
  datagram[1] = MSG_ALIVE;
  datagram.set(copy.value, 2);
  c.cluster.wire(o.replayer, c.nodes[0].addr, { data: datagram });
  c.runUntil(() => {
    for (const n of c.nodes) {
      if (n.up && n.core.members().find((m) => m.id === victim.id)?.state === 0 && !r.revivedAt.includes(n.i)) r.revivedAt.push(n.i);
    }
    return false;
  }, o.watchMs);
  return r;
}

const WIRE_VERSION = 2; // docs/wire.md: the DiVS datagram's version
const MSG_ALIVE = 0x15; // docs/membership.md: u32 incarnation, u64 id, address (18), u16, u32, name, key, signature

/** Watches every datagram for a copy of `node`'s member info (an ALIVE body, as push-pulls carry it): `{ value }`. */
function watchForInfo(cluster, node) {
  const seen = { value: null };
  const wire = cluster.wire.bind(cluster);
  cluster.wire = (from, dst, pkt) => {
    seen.value ??= findInfo(pkt.data, node);
    wire(from, dst, pkt);
  };
  return seen;
}

/** The member info of `node` in a datagram (its id big-endian, then its address), or null. */
function findInfo(data, node) {
  const id = new Uint8Array(8);
  new DataView(id.buffer).setBigUint64(0, node.id);
  const at = (k, bytes) => bytes.every((b, j) => data[k + j] === b);
  for (let k = 4; k + 8 + node.addr.length <= data.length; k++) {
    if (!at(k, id) || !at(k + 8, node.addr)) continue;
    const start = k - 4;
    const len = 37 + data[start + 36] + 96; // up to the name length byte, the name, the 96-byte claim
    if (start + len <= data.length) return data.slice(start, start + len);
  }
  return null;
}
