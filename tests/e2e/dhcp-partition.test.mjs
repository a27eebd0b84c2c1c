// The distributed DHCP server through a partition (docs/dhcp.md "Renewals during a partition"): three
// nodes, busybox udhcpc clients behind a bridge on each node's TAP, then nftables in node c's namespace
// drops the underlay to and from a and b. Clients on both sides renew (each of its own node: nothing
// else reaches it) and new clients ask on both sides. Checked: no address held by two clients, by the
// clients' own view and by every node's leases; every renewal keeps its address; after the heal the
// three nodes list the same bound leases, with no range conflict.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { UdhcpcDaemon, addClient, bridgeTap, writeUdhcpcScript } from "./dhcp-clients.mjs";
import { nft } from "../nat/nat-bed.mjs";
import { MEMBERSHIP, Testbed, deadBoundMs, sh, skipReason, waitFor } from "./harness.mjs";

const skip = skipReason() ??
  (await sh("sh", "-c", "command -v udhcpc && command -v nft").then(() => null, () => "SKIPPED: no udhcpc or nft (Debian packages udhcpc, nftables; .ci/run)"));
if (skip) console.error(`\n*** ${skip} ***\n`);

const POOL = "198.18.0.100-198.18.0.199";
/** Short leases, so every client renews (T1 = 10 s) while the partition lasts. */
const LEASE_S = 20;
const NAMES = ["a", "b", "c"];
const bed = new Testbed({ prefix: "dhp-" });
/**
 * Faster reconnection and anti-entropy than the defaults, so the heal converges within the test; the
 * split outlasts gossip_to_the_dead_ms, after which push-pulls leave the dead out (docs/membership.md).
 */
const CONFIG = { ...MEMBERSHIP, reconnect_interval_ms: 1000, push_pull_interval_ms: 3000, gossip_to_the_dead_ms: 15_000 };
const daemons = new Map(); // client name -> { node, mac, daemon }
let dir;
let nextMac = 1;

function startClient(node, k) {
  const name = `${node}${k}`;
  const mac = `02:00:5e:dd:02:${(nextMac++).toString(16).padStart(2, "0")}`;
  return addClient(bed, node, `dhp-cl-${name}`, `p${k}`, mac).then(() => {
    daemons.set(name, { node, mac, daemon: new UdhcpcDaemon(`dhp-cl-${name}`, `${dir}/udhcpc.sh`) });
  });
}

/** Bound leases as node `n` lists them: ip -> mac. */
async function bound(n) {
  const out = new Map();
  for (const l of await bed.ctl(n, "leases")) if (l.state === "bound" && l.expiresInS > 0) out.set(l.ip, l.mac);
  return out;
}

/** Every client's current address: none may be held by two. */
function assertClientsDistinct(when) {
  const byIp = new Map();
  for (const [name, c] of daemons) {
    const ip = c.daemon.leases.at(-1);
    if (!ip) continue;
    assert.ok(!byIp.has(ip), `${when}: ${ip} held by ${byIp.get(ip)} and ${name}`);
    byIp.set(ip, name);
  }
  return byIp;
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync("/tmp/divs-dhp-");
  writeFileSync(`${dir}/config.json`, JSON.stringify(CONFIG));
  writeUdhcpcScript(`${dir}/udhcpc.sh`);
  await bed.setup(NAMES);
  const extra = (n) => ["--dhcp", POOL, "--dhcp-lease", String(LEASE_S), "--state-dir", `${dir}/state-${n}`];
  bed.start("a", { config: `${dir}/config.json`, extra: extra("a") });
  await waitFor("node a's control socket", 10_000, () => bed.ctl("a", "status"));
  for (const n of NAMES.slice(1)) bed.start(n, { join: "a", config: `${dir}/config.json`, extra: extra(n) });
  for (const n of NAMES) {
    await waitFor(`${n} owns addresses`, 30_000, async () => ((await bed.ctl(n, "status")).dhcp?.ownedAddresses ?? 0) > 0);
    await bridgeTap(bed, n);
  }
});

after(async () => {
  if (skip) return;
  for (const c of daemons.values()) c.daemon.stop();
  await bed.teardown(); // client namespaces carry the prefix
  rmSync(dir, { recursive: true, force: true });
});

test("a partition: clients on both sides get and renew leases, never one address twice; after the heal the switch agrees", { skip: skip ?? false, timeout: 240_000 }, async () => {
  for (const n of NAMES) await startClient(n, 1);
  await waitFor("every first client's lease", 15_000, () => [...daemons.values()].every((c) => c.daemon.leases.length > 0));
  assertClientsDistinct("before the partition");

  // Node c alone on one side: its namespace drops every underlay datagram to or from a and b.
  const others = `{ ${bed.node("a").underlay}, ${bed.node("b").underlay} }`;
  await nft(bed.node("c").ns, `table inet dhp_split {
  chain in { type filter hook input priority 0; policy accept; ip saddr ${others} drop; }
  chain out { type filter hook output priority 0; policy accept; ip daddr ${others} drop; }
}`);
  await waitFor("both sides to see the split", deadBoundMs(3) + 10_000, async () =>
    (await bed.aliveNames("c")).join() === "c" && (await bed.aliveNames("a")).join() === "a,b");
  const splitAt = Date.now();

  // New clients ask on both sides; every client renews at T1 (10 s) at least twice while split.
  for (const n of NAMES) await startClient(n, 2);
  const renewalsBefore = new Map([...daemons].map(([name, c]) => [name, c.daemon.leases.length]));
  await waitFor("every client to hold a lease and renew twice during the split", 60_000, () =>
    [...daemons].every(([name, c]) => c.daemon.leases.length >= (renewalsBefore.get(name) || 1) + 2), 500);
  for (const [name, c] of daemons) {
    const mine = c.daemon.leases.slice(renewalsBefore.get(name) ? renewalsBefore.get(name) - 1 : 0);
    assert.equal(new Set(mine).size, 1, `${name} behind ${c.node} changed address during the split: ${mine}`);
  }
  await waitFor("the split to outlast gossip_to_the_dead_ms", 20_000, () => Date.now() - splitAt > CONFIG.gossip_to_the_dead_ms + 2000, 500);
  const clients = assertClientsDistinct("during the split");
  const sides = [await bound("a"), await bound("c")];
  const union = new Map();
  for (const side of sides) {
    for (const [ip, mac] of side) {
      assert.ok(!union.has(ip) || union.get(ip) === mac, `${ip} bound to ${union.get(ip)} on one side and ${mac} on the other`);
      union.set(ip, mac);
    }
  }
  for (const [ip, name] of clients) assert.equal(union.get(ip), daemons.get(name).mac, `${ip} of ${name} is not bound to it`);
  console.log(`# split for ${((Date.now() - splitAt) / 1000).toFixed(0)} s: ${clients.size} clients, ` +
    `${[...daemons.values()].reduce((n, c) => n + c.daemon.leases.length, 0)} leases and renewals, 0 duplicates; ` +
    `acks a/b/c ${(await Promise.all(NAMES.map(async (n) => (await bed.ctl(n, "status")).counters.dhcp_acks))).join("/")}`);

  await nft(bed.node("c").ns, "delete table inet dhp_split");
  const healedAt = Date.now();
  for (const n of NAMES) await waitFor(`${n} to see all after the heal`, 60_000, async () => (await bed.aliveNames(n)).length === 3, 500);
  const agreed = await waitFor("every node to list the same bound leases", 60_000, async () => {
    const views = await Promise.all(NAMES.map(bound));
    const key = (m) => JSON.stringify([...m].sort());
    return views.every((v) => key(v) === key(views[0])) && views[0];
  }, 500);
  console.log(`# healed: the switch agreed on ${agreed.size} bound leases ${((Date.now() - healedAt) / 1000).toFixed(1)} s after the heal`);
  for (const [ip, name] of assertClientsDistinct("after the heal")) assert.equal(agreed.get(ip), daemons.get(name).mac);
  for (const n of NAMES) assert.equal((await bed.ctl(n, "status")).counters.dhcp_range_conflicts ?? 0, 0, `range conflicts on ${n}`);
});
