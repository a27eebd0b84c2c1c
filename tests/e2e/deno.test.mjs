// End to end, two runtimes in one switch: Node nodes a and b, a Deno node d (`divs up --runtime deno`,
// the deno dev dependency), in network namespaces of our own prefix, with real TAPs, UDP, ping and
// iperf3, all underlay traffic sealed with the testbed's network key.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findDeno } from "../deno/find-deno.mjs";
import { deadBoundMs, MEMBERSHIP, sh, skipReason, Testbed, waitFor } from "./harness.mjs";

const skip = skipReason() ?? (findDeno() ? null : "SKIPPED: no deno binary (npm install the deno dev dependency, put deno on PATH, or set DIVS_DENO)");
if (skip) console.error(`\n*** ${skip} ***\n`);

const CONVERGE_MS = 20_000;
const NODES = 3;
const DEAD_BOUND_MS = deadBoundMs(NODES);
const IPERF_SECONDS = 3;

describe("a switch of two Node nodes and one Deno node", { skip: skip ?? false }, () => {
  const bed = new Testbed({ prefix: "divs-dn-" });
  const names = ["a", "b", "d"];
  const scratch = mkdtempSync(join(tmpdir(), "divs-e2e-deno-"));
  const config = join(scratch, "config.json");
  writeFileSync(config, JSON.stringify(MEMBERSHIP));
  // d keeps its MAC across the restart, so the others' ARP caches stay right (as c in switch.test.mjs).
  const D_MAC = "02:d1:5c:00:00:0d";
  const start = (name, options = {}) =>
    bed.start(name, { config, ...options, ...(name === "d" ? { runtime: "deno", mac: D_MAC } : {}) });

  const alive = async (n) => (await bed.ctl(n, "members")).filter((m) => m.state === "alive").map((m) => m.name).sort();
  const waitAllAlive = async () => {
    for (const n of names) {
      await waitFor(`${n} to see ${names} alive`, CONVERGE_MS, async () => JSON.stringify(await alive(n)) === JSON.stringify(names));
    }
  };
  const pingAllPairs = async () => {
    for (const x of names) for (const y of names) if (x !== y) await waitFor(`ping ${x} -> ${y}`, CONVERGE_MS, () => bed.ping(x, y));
  };

  before(async () => {
    await bed.setup(names);
    start("a");
    await waitFor("node a's control socket", CONVERGE_MS, () => bed.ctl("a", "status"));
    start("b", { join: "a", env: { MALLOC_ARENA_MAX: "4" } });
    start("d", { join: "a" });
    await waitAllAlive();
  });

  after(async () => {
    if (process.env.DIVS_E2E_LOGS) for (const [n, node] of bed.nodes) console.error(`--- ${n}\n${node.log}`);
    await bed.teardown();
    rmSync(scratch, { recursive: true, force: true });
  });

  test("d runs under Deno, a and b under Node", async () => {
    assert.match((await bed.ctl("d", "status")).runtime, /^deno \d/);
    assert.match((await bed.ctl("a", "status")).runtime, /^node v/);
  });

  test("a node runs with two malloc arenas unless its user set MALLOC_ARENA_MAX (b: 4)", () => {
    const arenas = (n) => /^MALLOC_ARENA_MAX=(.*)$/m.exec(readFileSync(`/proc/${bed.node(n).proc.pid}/environ`, "utf8").replaceAll("\0", "\n"))?.[1];
    assert.deepEqual(names.map(arenas), ["2", "4", "2"]);
  });

  test("every pair pings over the overlay", pingAllPairs);

  test("`divs macs --json` agrees on all three, and d owns its TAP's MAC", async () => {
    const ids = new Map((await bed.ctl("a", "members")).map((m) => [m.name, m.id]));
    const dMac = (await bed.exec("d", "cat", "/sys/class/net/divs0/address")).trim();
    assert.equal(dMac, D_MAC);
    const tables = await waitFor("MAC tables to agree", CONVERGE_MS, async () => {
      const t = await Promise.all(names.map((n) => bed.ctl(n, "macs")));
      const view = t.map((table) => JSON.stringify(table.map((e) => [e.mac, e.vlan, e.owner]).sort()));
      return view.every((v) => v === view[0]) && t[0].length >= NODES ? t : null;
    });
    assert.equal(tables[0].find((e) => e.mac === dMac)?.owner, ids.get("d"));
  });

  for (const [client, server] of [["d", "a"], ["a", "d"]]) {
    test(`iperf3 TCP ${client} -> ${server} for ${IPERF_SECONDS} s`, async () => {
      const running = bed.exec(server, "iperf3", "-s", "-1", "-B", bed.node(server).overlay);
      await waitFor("iperf3 server", 5000, () => bed.exec(server, "ss", "-ltn").then((s) => s.includes(":5201")));
      const out = JSON.parse(await bed.exec(client, "iperf3", "-c", bed.node(server).overlay, "-t", String(IPERF_SECONDS), "-J"));
      await running;
      const bps = out.end.sum_received.bits_per_second;
      console.error(`iperf3 ${client} -> ${server}: ${(bps / 1e6).toFixed(0)} Mbit/s`);
      assert.ok(out.end.sum_received.bytes > 1e6, "at least a megabyte crossed the switch");
    });
  }

  test("the Deno node killed: the others drop it and its MACs; restarted, it rejoins", async () => {
    const dId = (await bed.ctl("d", "status")).id;
    for (const n of ["a", "b"]) {
      await waitFor(`${n} to learn d's MAC`, CONVERGE_MS, async () => (await bed.ctl(n, "macs")).some((e) => e.owner === dId));
    }
    // `divs up --runtime deno` became deno (execve): the one process in d's namespace, no Node parent.
    const d = bed.node("d");
    const pids = (await sh("ip", "netns", "pids", d.ns)).split("\n").filter(Boolean).map(Number);
    assert.deepEqual(pids, [d.proc.pid], `only the started process in ${d.ns}`);
    assert.equal(readFileSync(`/proc/${d.proc.pid}/comm`, "utf8").trim(), "deno");
    process.kill(d.proc.pid, "SIGKILL");
    const exited = await d.exited;
    assert.equal(exited.signal, "SIGKILL");
    d.proc = null;
    const started = Date.now();
    const left = () => Math.max(0, started + DEAD_BOUND_MS - Date.now());
    for (const n of ["a", "b"]) {
      await waitFor(`${n} to declare d dead`, left(), async () => !(await alive(n)).includes("d"));
      await waitFor(`${n} to drop d's MACs`, left(), async () => !(await bed.ctl(n, "macs")).some((e) => e.owner === dId));
    }
    console.error(`d declared dead and its MACs dropped after ${Date.now() - started} ms (bound ${DEAD_BOUND_MS} ms)`);
    start("d", { join: "a" });
    await waitAllAlive();
    const newId = (await bed.ctl("d", "status")).id;
    assert.equal(newId, dId, "a restarted node keeps its identity (its state directory, docs/state.md)");
    await pingAllPairs();
  });

  test("SIGTERM to the started process reaches the Deno node: it leaves cleanly and exits 0", async () => {
    const result = await bed.stop("d", "SIGTERM");
    assert.equal(result.code, 0);
    for (const n of ["a", "b"]) await waitFor(`${n} to see d leave`, CONVERGE_MS, async () => !(await alive(n)).includes("d"));
  });
});
