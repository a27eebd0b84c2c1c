// IP bindings in the simulated cluster (docs/arp.md): a host's gratuitous ARP on one node binds its
// address to its MAC in every table; the same address claimed from a MAC behind another node moves
// there everywhere (within 2 s is the target); a late joiner gets it by push-pull; a crashed owner's
// bindings go with its MACs.
// Every figure is read from each node's macs_dump (the IPs after each OUT_MAC entry).
import { IN_FRAME } from "./core.mjs";
import { Cluster } from "./cluster.mjs";

const CHECK_MS = 50;
const mapped = (ip) => "00000000000000000000ffff" + ip.map((b) => b.toString(16).padStart(2, "0")).join("");
export const macBytes = (mac) => Uint8Array.from(mac.match(/../g), (h) => parseInt(h, 16));

/** A gratuitous ARP (request, sender = target = `ip`) from `mac`, broadcast. */
export function gratuitousArp(mac, ip) {
  const f = new Uint8Array(42);
  const src = macBytes(mac);
  f.fill(0xff, 0, 6);
  f.set(src, 6);
  f.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1], 12);
  f.set(src, 22);
  f.set(ip, 28);
  f.set(ip, 38);
  return f;
}

/** Where `ip` is bound in node `n`'s table: the "mac/vlan" key, or null. */
function boundTo(n, ip) {
  for (const [k, e] of n.core.macs()) if (e.ips.includes(mapped(ip))) return k;
  return null;
}

/** @returns {{learnToAllMs, moveToAllMs, joinerMs, goneMs, failures}} */
export function simulateBindings(o) {
  const N = o.nodes;
  const r = { learnToAllMs: null, moveToAllMs: null, joinerMs: null, goneMs: null, failures: [] };
  const cluster = new Cluster({ nodes: N, seed: o.seed ?? 1, loss: o.loss ?? 0 });
  const nodes = cluster.nodes;
  const runUntil = (done, capMs) => cluster.runUntil(done, capMs, CHECK_MS);
  cluster.start(0);
  const late = N - 1; // joins once the binding is known
  const up = () => nodes.filter((n) => n.up);
  for (let i = 1; i < late; i++) { cluster.run(i * 20); cluster.start(i, [0]); }
  if (runUntil(() => up().every((n) => n.core.members().filter((m) => m.state <= 1).length === late), 60_000) === null) {
    r.failures.push("the cluster never converged");
    return r;
  }
  const ip = [198, 18, 0, 2];
  const first = "020000000001", second = "020000000002";
  cluster.input(1, IN_FRAME, [gratuitousArp(first, ip)]);
  r.learnToAllMs = runUntil(() => up().every((n) => boundTo(n, ip) === `${first}/0`), 10_000);
  if (r.learnToAllMs === null) r.failures.push("the binding did not reach every table within 10 s");
  cluster.run(cluster.now + 5000); // gossip has gone quiet: the joiner gets it only by push-pull
  cluster.start(late, [0]);
  r.joinerMs = runUntil(() => boundTo(nodes[late], ip) === `${first}/0`, 2000);
  if (r.joinerMs === null) r.failures.push("the late joiner did not get the binding within 2 s");
  cluster.run(cluster.now + 10_000); // well past the conflict window: a move, not a conflict
  cluster.input(2, IN_FRAME, [gratuitousArp(second, ip)]);
  r.moveToAllMs = runUntil(() => nodes.every((n) => boundTo(n, ip) === `${second}/0`), 10_000);
  if (r.moveToAllMs === null) r.failures.push("the moved binding did not converge within 10 s");
  r.conflicts = nodes.reduce((sum, n) => sum + (n.core.stats().ip_conflicts ?? 0), 0);
  cluster.crash(2);
  r.goneMs = runUntil(() => nodes.filter((n) => n.up).every((n) => boundTo(n, ip) === null), 60_000);
  if (r.goneMs === null) r.failures.push("the crashed owner's binding outlived it");
  return r;
}
