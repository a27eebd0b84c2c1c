// The distributed DHCP server with a real client (busybox udhcpc): three nodes serve one pool; each
// node's TAP is moved into a client namespace where udhcpc asks for an address; then a client asks
// again at another node with the same MAC and gets its address back; a node with another pool
// refuses to run. docs/dhcp.md.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { udhcpcOnce as udhcpc } from "./dhcp-clients.mjs";
import { MEMBERSHIP, Testbed, sh, skipReason, waitFor } from "./harness.mjs";

const hasDhclient = await sh("sh", "-c", "command -v dhclient").then(() => true, () => false);
const skip = skipReason() ?? (await sh("sh", "-c", "command -v udhcpc || command -v busybox").then(() => null, () => "SKIPPED: no udhcpc (Debian package udhcpc, .ci/run)"));
if (skip) console.error(`\n*** ${skip} ***\n`);

const POOL = "198.18.0.100-198.18.0.199";
const NAMES = ["a", "b", "c"];
const bed = new Testbed({ prefix: "dh-" });
const clientNs = (name) => `dh-cl-${name}`;
let dir;
let extra;

before(async () => {
  if (skip) return;
  dir = mkdtempSync("/tmp/divs-dh-");
  writeFileSync(`${dir}/config.json`, JSON.stringify(MEMBERSHIP));
  for (const n of NAMES) await sh("ip", "netns", "del", clientNs(n)).catch(() => {}); // a killed run's
  await bed.setup([...NAMES, "d", "e"]);
  extra = (n) => ["--dhcp", POOL, "--dhcp-lease", "120", "--dhcp-router", "198.18.0.1", "--dhcp-dns", "198.18.0.2", "--state-dir", `${dir}/state-${n}`];
  bed.start("a", { config: `${dir}/config.json`, extra: extra("a") });
  await waitFor("node a's control socket", 10_000, () => bed.ctl("a", "status"));
  for (const n of NAMES.slice(1)) bed.start(n, { join: "a", config: `${dir}/config.json`, extra: extra(n) });
  for (const n of NAMES) await waitFor(`${n} sees all`, 20_000, async () => (await bed.aliveNames(n)).length === NAMES.length);
  // Each joiner asks for a share; every node owns addresses once the donations have spread.
  for (const n of NAMES) {
    await waitFor(`${n} owns addresses`, 30_000, async () => ((await bed.ctl(n, "status")).dhcp?.ownedAddresses ?? 0) > 0);
  }
  for (const n of NAMES) {
    await sh("ip", "netns", "add", clientNs(n));
    await sh("ip", "-n", bed.node(n).ns, "link", "set", "divs0", "netns", clientNs(n));
    await sh("ip", "-n", clientNs(n), "link", "set", "divs0", "up");
  }
});

after(async () => {
  if (skip) return;
  await bed.teardown(); // the nodes first: their TAPs live in the client namespaces
  for (const n of NAMES) await sh("ip", "netns", "del", clientNs(n)).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

test("every client behind a node's TAP gets a distinct address of the pool within 1 s", { skip: skip ?? false, timeout: 60_000 }, async () => {
  const got = [];
  for (const n of NAMES) {
    const r = await udhcpc(clientNs(n), "divs0");
    console.log(`# udhcpc behind ${n}: ${r.ip} in ${r.ms.toFixed(0)} ms`);
    assert.ok(r.ip, r.out);
    assert.ok(r.ms < 1000, `udhcpc behind ${n} took ${r.ms.toFixed(0)} ms`);
    got.push(r.ip);
  }
  assert.equal(new Set(got).size, got.length, `duplicate addresses: ${got}`);
  for (const ip of got) {
    const last = Number(ip.split(".")[3]);
    assert.ok(ip.startsWith("198.18.0.") && last >= 101 && last <= 199, `${ip} is outside the pool (or the server identifier)`);
  }
  // Each node's share's use: every client's address is bound in the blocks of the node it asked.
  const shares = await Promise.all(NAMES.map(async (n) => (await bed.ctl(n, "status")).dhcp));
  assert.deepEqual(shares.map((s) => s.boundOwned), [1, 1, 1], JSON.stringify(shares));
  const leases = await bed.ctl("c", "leases");
  for (const ip of got) assert.ok(leases.some((l) => l.ip === ip && l.state === "bound"), `node c has not heard of the lease of ${ip}`);
  // A lease is an IP binding of the client's MAC too (docs/arp.md): every node's table lists it.
  for (const ip of got) {
    await waitFor(`node a to bind ${ip} to its client's MAC`, 5_000, async () => (await bed.ctl("a", "macs")).some((m) => m.ips.includes(ip)));
  }
});

test("a client asking again at another node gets its address back", { skip: skip ?? false, timeout: 60_000 }, async () => {
  const first = await udhcpc(clientNs("a"), "divs0");
  assert.ok(first.ip, first.out);
  const mac = (await sh("ip", "-n", clientNs("a"), "-j", "link", "show", "divs0")).match(/"address":"([0-9a-f:]+)"/)[1];
  // The client moves: node b's TAP takes its MAC (node a's TAP goes down, so the MAC moves to b).
  await sh("ip", "-n", clientNs("a"), "link", "set", "divs0", "down");
  await sh("ip", "-n", clientNs("b"), "link", "set", "divs0", "down");
  await sh("ip", "-n", clientNs("b"), "link", "set", "divs0", "address", mac);
  await sh("ip", "-n", clientNs("b"), "link", "set", "divs0", "up");
  await waitFor("b to hear of the lease", 10_000, async () => (await bed.ctl("b", "leases")).some((l) => l.ip === first.ip));
  const again = await udhcpc(clientNs("b"), "divs0", first.ip);
  assert.equal(again.ip, first.ip, again.out);
});

test("a node whose pool is not the switch's refuses to run (exit 2, one clear line)", { skip: skip ?? false, timeout: 30_000 }, async () => {
  const n = bed.start("d", { join: "a", config: `${dir}/config.json`, extra: ["--dhcp", "198.18.0.50-198.18.0.60", "--state-dir", `${dir}/state-d`] });
  const timeout = new Promise((resolve) => setTimeout(() => resolve({ code: "still running after 15 s" }), 15_000));
  const result = await Promise.race([n.exited, timeout]);
  assert.equal(result.code, 2, n.log);
  assert.match(n.log, /other nodes serve another DHCP pool/);
  n.proc = null;
});

test("ISC dhclient behind a node gets an address of the pool, bound in every node's table", { skip: skip ?? (hasDhclient ? false : "SKIPPED: no dhclient (isc-dhcp-client)"), timeout: 30_000 }, async () => {
  const ns = clientNs("c");
  // A new machine: node c's TAP takes a MAC no client used yet.
  await sh("ip", "-n", ns, "link", "set", "divs0", "down");
  await sh("ip", "-n", ns, "link", "set", "divs0", "address", "02:00:5e:dd:00:01");
  await sh("ip", "-n", ns, "link", "set", "divs0", "up");
  const args = ["netns", "exec", ns, "dhclient", "-1", "-v", "-sf", "/bin/true", "-lf", `${dir}/dhclient.leases`, "-pf", `${dir}/dhclient.pid`, "divs0"];
  const t0 = performance.now();
  const out = await new Promise((resolve) => {
    execFile("ip", args, { timeout: 20_000 }, (_e, stdout, stderr) => resolve(`${stdout}${stderr}`));
  });
  const ms = performance.now() - t0;
  // dhclient stays as a daemon once bound: stop it by its pid file.
  await sh("sh", "-c", `kill $(cat ${dir}/dhclient.pid)`).catch(() => {});
  const m = /bound to (\d+\.\d+\.\d+\.\d+)/.exec(out);
  console.log(`# dhclient behind c: ${m?.[1]} in ${ms.toFixed(0)} ms`);
  assert.ok(m, out);
  assert.ok(m[1].startsWith("198.18.0.") && Number(m[1].split(".")[3]) >= 101, out);
  for (const n of NAMES) {
    await waitFor(`${n} to hear of ${m[1]}`, 5_000, async () => (await bed.ctl(n, "leases"))
      .some((l) => l.ip === m[1] && l.mac === "02:00:5e:dd:00:01" && l.state === "bound"));
  }
});


test("--address dhcp: a node's own TAP takes an address of the pool, shown in status, renewed at T1", { skip: skip ?? false, timeout: 60_000 }, async () => {
  // Its own grants last 10 s (--dhcp-lease), so it renews at 5 s.
  bed.start("e", { join: "a", address: "dhcp", config: `${dir}/config.json`, extra: [...extra("e"), "--dhcp-lease", "10"] });
  const status = await waitFor("node e's TAP address", 30_000, async () => {
    const s = await bed.ctl("e", "status");
    return /^198\.18\.0\.\d+\/24 \(dhcp/.test(s.address ?? "") && s;
  });
  const ip = status.address.split("/")[0];
  console.log(`# node e: ${status.address}`);
  const onTap = JSON.parse(await bed.exec("e", "ip", "-j", "-4", "addr", "show", "dev", "divs0"))[0].addr_info.map((a) => a.local);
  assert.deepEqual(onTap, [ip]);
  const mac = JSON.parse(await bed.exec("e", "ip", "-j", "link", "show", "divs0"))[0].address;
  await waitFor(`node a to hear of e's lease of ${ip}`, 5_000, async () => (await bed.ctl("a", "leases"))
    .some((l) => l.ip === ip && l.mac === mac && l.state === "bound" && l.hostname === "e"));
  const others = (await bed.ctl("a", "leases")).filter((l) => l.ip === ip && l.mac !== mac && l.state === "bound");
  assert.deepEqual(others, [], "another client holds the node's address");
  const leftAt = async () => (await bed.ctl("e", "leases")).find((l) => l.ip === ip).expiresInS;
  await waitFor("the lease's time left to go down", 10_000, async () => (await leftAt()) <= 7);
  await waitFor("a renewal: the lease's time left goes up again", 10_000, async () => (await leftAt()) >= 9);
  assert.equal((await bed.ctl("e", "status")).address.split("/")[0], ip, "the renewal kept the address");
});
