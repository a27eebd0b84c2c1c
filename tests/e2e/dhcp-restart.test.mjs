// Leases survive a node restart (docs/dhcp.md "Restart", docs/state.md): a node alone serves clients
// behind a bridge on its TAP, is killed (SIGKILL: no goodbye, nothing saved at exit) and started again
// on the same state directory. A new client asking for the first client's address must not get it,
// and the first client's renewal (unicast, from its address) is acknowledged for a full lease.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { UdhcpcDaemon, addClient, bridgeTap, udhcpcOnce, writeUdhcpcScript } from "./dhcp-clients.mjs";
import { MEMBERSHIP, Testbed, sh, skipReason, waitFor } from "./harness.mjs";

const skip = skipReason() ?? (await sh("sh", "-c", "command -v udhcpc").then(() => null, () => "SKIPPED: no udhcpc (Debian package udhcpc, .ci/run)"));
if (skip) console.error(`\n*** ${skip} ***\n`);

const POOL = "198.18.0.100-198.18.0.199";
const LEASE_S = 120;
const bed = new Testbed({ prefix: "dhr-" });
const FIRST = { ns: "dhr-c1", port: "p1", mac: "02:00:5e:dd:01:01" };
const SECOND = { ns: "dhr-c2", port: "p2", mac: "02:00:5e:dd:01:02" };
let dir;
let daemon;

function startNode() {
  const n = bed.start("s", { config: `${dir}/config.json`, extra: ["--dhcp", POOL, "--dhcp-lease", String(LEASE_S), "--state-dir", `${dir}/state`] });
  return waitFor("node s to own the pool", 10_000, async () => ((await bed.ctl("s", "status")).dhcp?.ownedAddresses ?? 0) > 0).then(() => n);
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync("/tmp/divs-dhr-");
  writeFileSync(`${dir}/config.json`, JSON.stringify(MEMBERSHIP));
  writeUdhcpcScript(`${dir}/udhcpc.sh`);
  await bed.setup(["s"]);
  await startNode();
  await bridgeTap(bed, "s");
  for (const c of [FIRST, SECOND]) await addClient(bed, "s", c.ns, c.port, c.mac);
});

after(async () => {
  if (skip) return;
  daemon?.stop();
  await bed.teardown(); // the client namespaces carry the prefix too
  rmSync(dir, { recursive: true, force: true });
});

test("a killed and restarted node keeps its leases: no duplicate, the renewal gets the same address", { skip: skip ?? false, timeout: 90_000 }, async () => {
  daemon = new UdhcpcDaemon(FIRST.ns, `${dir}/udhcpc.sh`);
  const ip = await waitFor("the first client's lease", 10_000, () => daemon.leases[0]);
  console.log(`# first client: ${ip}`);

  assert.equal((await bed.stop("s", "SIGKILL")).signal, "SIGKILL");
  const restartedAt = performance.now();
  const node = await startNode();
  console.log(`# restarted node owns its pool again ${(performance.now() - restartedAt).toFixed(0)} ms after the restart`);
  assert.match(node.log, /dhcp: restoring the state saved/);
  await bridgeTap(bed, "s"); // the new TAP

  const leases = await bed.ctl("s", "leases");
  assert.ok(leases.some((l) => l.ip === ip && l.mac === FIRST.mac && l.state === "bound"), `restored leases: ${JSON.stringify(leases)}`);

  // A new machine asks for that very address: it is held, so it gets another one.
  const second = await udhcpcOnce(SECOND.ns, "eth0", ip);
  assert.ok(second.ip, second.out);
  assert.notEqual(second.ip, ip, "the restarted node gave a leased address to another client");

  // The first client renews (SIGUSR1: unicast REQUEST from its address to the server identifier).
  const before = daemon.leases.length;
  const acksBefore = (await bed.ctl("s", "status")).counters.dhcp_acks ?? 0;
  daemon.renew();
  await waitFor("the renewal's answer", 10_000, () => daemon.leases.length > before);
  assert.equal(daemon.leases.at(-1), ip, daemon.out);
  assert.ok(((await bed.ctl("s", "status")).counters.dhcp_acks ?? 0) > acksBefore, "the renewal was not acknowledged by the node");
  const renewed = (await bed.ctl("s", "leases")).find((l) => l.ip === ip);
  assert.ok(renewed.expiresInS > LEASE_S - 10, `the renewal did not extend the lease: ${JSON.stringify(renewed)}`);
  assert.equal(new Set((await bed.ctl("s", "leases")).filter((l) => l.state === "bound").map((l) => l.mac)).size, 2);
});
