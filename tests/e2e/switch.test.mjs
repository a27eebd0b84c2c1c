// End to end: the real CLI in network namespaces, real TAPs, real UDP, real ping and iperf3.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deadBoundMs, MEMBERSHIP, skipReason, Testbed, waitFor } from "./harness.mjs";

const skip = skipReason();
if (skip) console.error(`\n*** ${skip} ***\n`);

const CONVERGE_MS = 15_000;
const NODES = 3;
const DEAD_BOUND_MS = deadBoundMs(NODES);

async function pingAllPairs(bed, names) {
  for (const a of names) for (const b of names) if (a !== b) await waitFor(`ping ${a} -> ${b}`, CONVERGE_MS, () => bed.ping(a, b));
}

async function waitAllAlive(bed, names) {
  for (const n of names) {
    await waitFor(`${n} to see ${names} alive`, CONVERGE_MS, async () =>
      JSON.stringify(await bed.aliveNames(n)) === JSON.stringify([...names].sort()));
  }
}

/** Every MAC known anywhere, with the owner each node gives it; asserts all nodes agree. */
async function macOwnersAgree(bed, names) {
  const tables = await Promise.all(names.map((n) => bed.ctl(n, "macs")));
  const owners = new Map();
  for (const table of tables) for (const e of table) owners.set(e.mac, new Set());
  for (const table of tables) for (const e of table) owners.get(e.mac).add(e.owner);
  const macsPerNode = tables.map((t) => t.length);
  return [...owners.values()].every((s) => s.size === 1) && macsPerNode.every((n) => n === owners.size) ? owners : null;
}

describe("a three-node switch", { skip: skip ?? false }, () => {
  const bed = new Testbed();
  const names = ["a", "b", "c"];

  const scratch = mkdtempSync(join(tmpdir(), "divs-e2e-"));
  const config = join(scratch, "config.json");
  writeFileSync(config, JSON.stringify(MEMBERSHIP));
  const start = (name, options = {}) => bed.start(name, { config, ...options });

  before(async () => {
    await bed.setup([...names, "d"]);
    start("a");
    await waitFor("node a's control socket", CONVERGE_MS, () => bed.ctl("a", "status"));
    start("b", { join: "a" });
    start("c", { join: "a", mac: "02:d1:5c:00:00:03", offload: "off" });
    await waitAllAlive(bed, names);
  });

  after(async () => {
    if (process.env.DIVS_E2E_LOGS) for (const [n, node] of bed.nodes) console.error(`--- ${n}\n${node.log}`);
    await bed.teardown();
    rmSync(scratch, { recursive: true, force: true });
  });

  test("every pair pings over the overlay", async () => {
    await pingAllPairs(bed, names);
  });

  test("every node agrees on the owner of every MAC", async () => {
    const owners = await waitFor("MAC tables to agree", CONVERGE_MS, () => macOwnersAgree(bed, names));
    const ids = new Map((await bed.ctl("a", "members")).map((m) => [m.name, m.id]));
    assert.equal(owners.size >= 3, true, "each node's TAP MAC is known");
    assert.deepEqual([...owners.get("02:d1:5c:00:00:03")], [ids.get("c")], "c owns the MAC its TAP has");
  });

  /** iperf3 TCP from `from` to `to` for `secs`; returns the received bits/s. */
  async function iperf(from, to, secs, ...extra) {
    const server = bed.exec(to, "iperf3", "-s", "-1", "-B", bed.node(to).overlay);
    await waitFor("iperf3 server", 5000, () => bed.exec(to, "ss", "-ltn").then((s) => s.includes(":5201")));
    const out = JSON.parse(await bed.exec(from, "iperf3", "-c", bed.node(to).overlay, "-t", String(secs), "-J", ...extra));
    await server;
    const bps = out.end.sum_received.bits_per_second;
    console.error(`iperf3 ${from} -> ${to}${extra.length ? ` ${extra.join(" ")}` : ""}: ${(bps / 1e6).toFixed(0)} Mbit/s`);
    return bps;
  }

  test("iperf3 TCP for 5 s between two nodes completes: TSO frames cut into datagrams, coalesced at the TAP (offload on)", async () => {
    const counter = async (n, name) => (await bed.ctl(n, "status")).counters[name] ?? 0;
    const tsoBefore = await counter("a", "tso_frames_from_tap");
    const groBefore = await counter("b", "gro_frames_to_tap");
    assert.ok(await iperf("a", "b", 5) > 0);
    assert.ok(await counter("a", "tso_frames_from_tap") > tsoBefore, "a's TAP handed over TSO frames and a cut them");
    assert.ok(await counter("b", "gro_frames_to_tap") > groBefore, "b wrote coalesced segments to its TAP");
  });

  test("iperf3 TCP works both ways with a node whose offload is off", async () => {
    // c's TAP (IFF_VNET_HDR, no TUNSETOFFLOAD) hands over no TSO frame but takes coalesced GSO writes.
    const gso = async (n) => (await bed.ctl(n, "status")).counters.tso_frames_from_tap ?? 0;
    const cBefore = await gso("c");
    assert.ok(await iperf("a", "c", 2) > 0);
    assert.ok(await iperf("a", "c", 2, "-R") > 0);
    assert.equal(await gso("c"), cBefore, "c, offload off, read no TSO frame");
  });

  test("a frame too big for the datagram is answered with ICMP fragmentation needed; a SYN's MSS is clamped", async () => {
    // A TAP MTU above what a datagram carries (1500 against the default 1425), as a bridged VM with a larger MTU would have.
    const counter = async (n, name) => (await bed.ctl(n, "status")).counters[name] ?? 0;
    const tapMtu = (await bed.ctl("a", "status")).mtu;
    await bed.exec("a", "ip", "link", "set", "divs0", "mtu", "1500");
    try {
      const clamped = await counter("a", "mss_clamped");
      assert.ok(await iperf("a", "b", 1) > 0);
      assert.ok(await counter("a", "mss_clamped") > clamped, "a's SYN (MSS 1460) was clamped");
      const sent = await counter("a", "icmp_too_big_sent");
      const ping = await bed.exec("a", "ping", "-n", "-M", "do", "-s", "1450", "-c", "1", "-W", "2", bed.node("b").overlay)
        .catch((e) => String(e.stdout ?? ""));
      const mtu = Number(/Frag needed.*mtu = (\d+)/.exec(ping)?.[1]);
      assert.ok(mtu >= 1200 && mtu <= tapMtu, `ICMP fragmentation needed with the path's MTU (got: ${ping.trim()})`);
      assert.ok(await counter("a", "icmp_too_big_sent") > sent);
      // The MTU it names is the largest IP packet that fits: one that size crosses.
      await bed.exec("a", "ping", "-n", "-M", "do", "-s", String(mtu - 28), "-c", "1", "-W", "2", bed.node("b").overlay);
    } finally {
      await bed.exec("a", "ip", "link", "set", "divs0", "mtu", String(tapMtu));
    }
  });

  test("a killed node is declared dead, its MACs dropped; restarted, it rejoins", async () => {
    const cId = (await bed.ctl("c", "status")).id;
    for (const n of ["a", "b"]) {
      await waitFor(`${n} to learn c's MAC`, CONVERGE_MS, async () => (await bed.ctl(n, "macs")).some((e) => e.owner === cId));
    }
    await bed.stop("c", "SIGKILL");
    const started = Date.now();
    const left = () => Math.max(0, started + DEAD_BOUND_MS - Date.now());
    for (const n of ["a", "b"]) {
      await waitFor(`${n} to declare c dead`, left(), async () => !(await bed.aliveNames(n)).includes("c"));
      await waitFor(`${n} to drop c's MACs`, left(), async () => !(await bed.ctl(n, "macs")).some((e) => e.owner === cId));
    }
    console.error(`c declared dead and its MACs dropped after ${Date.now() - started} ms (bound ${DEAD_BOUND_MS} ms)`);
    start("c", { join: "a", mac: "02:d1:5c:00:00:03" });
    await waitAllAlive(bed, names);
    await pingAllPairs(bed, names);
  });

  test("a MAC moving to another node: traffic follows it", async () => {
    const mac = "02:d1:5c:00:00:03";
    await waitFor("ping a -> c", CONVERGE_MS, () => bed.ping("a", "c"));
    // c lets go of the MAC and the address; d comes up with both.
    await bed.exec("c", "ip", "addr", "del", `${bed.node("c").overlay}/24`, "dev", "divs0");
    await bed.exec("c", "ip", "link", "set", "divs0", "address", "02:d1:5c:00:00:33");
    start("d", { join: "a", mac, address: `${bed.node("c").overlay}/24` });
    const dId = await waitFor("d's status", CONVERGE_MS, async () => (await bed.ctl("d", "status")).id);
    await waitFor("a's table to give the MAC to d", CONVERGE_MS, async () => {
      await bed.exec("d", "ping", "-c", "1", "-W", "1", bed.node("a").overlay).catch(() => {});
      return (await bed.ctl("a", "macs")).some((e) => e.mac === mac && e.owner === dId);
    });
    // a still has the MAC in its ARP cache for c's address: the reply can only come from d.
    await waitFor("ping a -> the moved address", CONVERGE_MS, () => bed.ping("a", "c"));
    const counters = (await bed.ctl("d", "status")).counters;
    assert.ok(counters.frames_to_tap > 0, "d's TAP got the frames");
  });
});
