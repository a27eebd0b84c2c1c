// The live status page (docs/ui.md) in a real headless browser: Debian's chromium driven by
// playwright-core, run inside node a's namespace (a wrapper script puts it there; playwright talks to
// it over pipes). A switch of three nodes: a (Node) serves its page on its loopback, b (Deno) on its
// underlay address with a token, c joins and leaves. The page loads, shows every member with the path
// `divs members` reports, the MAC table and counters, fetches nothing from elsewhere, follows c's
// leave; b's page answers 401 without its token. Screenshots are kept in tests/artifacts/ (ui.png: a's
// page after c left; ui-relay.png: a made-up state with relayed paths).
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { findDeno } from "../deno/find-deno.mjs";
import { deadBoundMs, MEMBERSHIP, skipReason, Testbed, waitFor } from "./harness.mjs";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), "../artifacts");
const CONVERGE_MS = 20_000;
const NAMES = ["a", "b", "c"];
const A_UI = "http://127.0.0.1:8080/";
const B_UI_PORT = 8081;
/** Connections in the burst at node a's page (above http-get.ts MAX_CONNECTIONS). */
const BURST = 200;

function chromiumMissing() {
  if (!existsSync(CHROMIUM)) return `no ${CHROMIUM} (apt-get install chromium; .ci/run installs it)`;
  try {
    import.meta.resolve("playwright-core");
  } catch {
    return "no playwright-core (npm ci)";
  }
  return null;
}

const missing = chromiumMissing();
// In CI the browser is installed by .ci/run: its absence is a failure there, a loud skip elsewhere.
if (missing && process.env.CI) test("chromium for the status page test", () => assert.fail(missing));
const skip = skipReason() ?? (missing ? `SKIPPED: ${missing}` : null) ??
  (findDeno() ? null : "SKIPPED: no deno binary (npm install the deno dev dependency, put deno on PATH, or set DIVS_DENO)");
if (skip) console.error(`\n*** ${skip} ***\n`);

describe("the status page in headless chromium", { skip: skip ?? false }, () => {
  const bed = new Testbed({ prefix: "ui-t-" });
  const scratch = mkdtempSync(join(tmpdir(), "divs-e2e-ui-"));
  const config = join(scratch, "config.json");
  writeFileSync(config, JSON.stringify(MEMBERSHIP));
  let context = null;
  let page = null;
  /** Every URL the browser asked for. */
  const requested = [];
  const pageErrors = [];
  let bToken = null;

  before(async () => {
    await bed.setup(NAMES);
    bed.start("a", { config, extra: ["--ui", "127.0.0.1:8080"] });
    await waitFor("node a's control socket", CONVERGE_MS, () => bed.ctl("a", "status"));
    bed.start("b", { config, join: "a", runtime: "deno", extra: ["--ui", `${bed.node("b").underlay}:${B_UI_PORT}`] });
    bed.start("c", { config, join: "a" });
    for (const n of NAMES) {
      await waitFor(`${n} to see ${NAMES} alive`, CONVERGE_MS, async () => (await bed.aliveNames(n)).join() === NAMES.join());
    }
    // b is off loopback without --ui-token-file: it generated a token and printed the page's address with it.
    bToken = await waitFor("b's status page line", CONVERGE_MS, () => /status page on \S+\?token=([0-9a-f]{32})/.exec(bed.node("b").log)?.[1]);

    // chromium in a's namespace: playwright starts this wrapper and talks to chromium over inherited pipes.
    const wrapper = join(scratch, "chromium-in-ns");
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${bed.node("a").ns} ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const { chromium } = await import("playwright-core");
    context = await chromium.launchPersistentContext(join(scratch, "profile"), {
      executablePath: wrapper,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"],
      viewport: { width: 1400, height: 1000 },
      timeout: 60_000,
    });
    page = context.pages()[0] ?? await context.newPage();
    context.on("request", (r) => requested.push(r.url()));
    page.on("pageerror", (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await context?.close().catch(() => {});
    if (process.env.DIVS_E2E_LOGS) for (const [n, node] of bed.nodes) console.error(`--- ${n}\n${node.log}`);
    await bed.teardown();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** What a's page shows: member name -> { state, path, rtt } from its members table. */
  const shownMembers = () => page.$$eval("#members tbody tr", (rows) => Object.fromEntries(rows.map((r) => {
    const cells = [...r.cells].map((c) => c.textContent);
    return [r.dataset.member, { state: r.dataset.state, path: cells[4], rtt: cells[7] }];
  })));

  /** BURST connections at once to `url` from a's namespace: each must be answered 200 or refused, some answered. */
  const burst = async (url) => {
    const script = join(scratch, "burst.mjs");
    writeFileSync(script, `
      import http from "node:http";
      const url = process.argv[2], n = Number(process.argv[3]);
      // One connection each (no agent): an answer's status, or "refused" when the server closed it.
      const one = () => new Promise((resolve) => {
        const req = http.get(url, { agent: false }, (res) => { res.resume(); res.on("end", () => resolve(res.statusCode)); });
        req.on("error", () => resolve("refused"));
        req.setTimeout(10000, () => req.destroy());
      });
      const results = await Promise.all(Array.from({ length: n }, one));
      const count = {};
      for (const r of results) count[r] = (count[r] ?? 0) + 1;
      console.log(JSON.stringify(count));`);
    const count = JSON.parse(await bed.exec("a", process.execPath, script, url, String(BURST)));
    assert.equal((count[200] ?? 0) + (count.refused ?? 0), BURST, JSON.stringify(count));
    assert.ok(count[200] > 0, JSON.stringify(count));
  };

  test("a's page loads and shows every member in the graph and the table, with the path divs members reports", async () => {
    const response = await page.goto(A_UI);
    assert.equal(response.status(), 200);
    assert.match(response.headers()["content-security-policy"], /default-src 'none'/);
    await page.waitForSelector("#members tbody tr");
    await waitFor("every member alive on the page", CONVERGE_MS, async () => {
      const shown = await shownMembers();
      return NAMES.every((n) => shown[n]?.state === "alive");
    });
    const inGraph = await page.$$eval("#graph g[data-member]", (gs) => gs.map((g) => g.dataset.member).sort());
    assert.deepEqual(inGraph, NAMES);
    assert.equal(await page.textContent("#name"), "a");
    // Each member's path as `divs members` gives it, drawn as an edge from a.
    await waitFor("the page's paths to match divs members", CONVERGE_MS, async () => {
      const listed = await bed.ctl("a", "members");
      const shown = await shownMembers();
      return listed.filter((m) => !m.self).every((m) => shown[m.name].path === (m.path ?? "none")) && listed;
    });
    const listed = await bed.ctl("a", "members");
    for (const m of listed.filter((x) => !x.self && x.path === "direct")) {
      assert.equal(await page.locator(`#graph line.edge-direct[data-edge="a|${m.name}"]`).count(), 1, `direct edge a-${m.name}`);
    }
    // The pair a is not part of, as b and c report it (divs paths), drawn too.
    const reported = await waitFor("b and c to report their path to each other", CONVERGE_MS, async () => {
      const { pairs, silent } = await bed.ctl("a", "paths");
      const bc = pairs.find((p) => p.from === "b" && p.to === "c");
      return silent.length === 0 && bc?.path === "direct" && pairs.some((p) => p.from === "c" && p.to === "b" && p.path === "direct") && bc;
    });
    assert.equal(reported.via, null);
    assert.equal((await bed.ctl("b", "members")).find((m) => m.name === "c").path, "direct", "b's own view agrees");
    await waitFor("the b - c edge on a's page", CONVERGE_MS, async () =>
      (await page.locator('#graph line.edge-direct[data-edge="b|c"], #graph line.edge-direct[data-edge="c|b"]').count()) === 1);
  });

  test("per-peer RTT, the MAC table and the counters are shown and move", async () => {
    await waitFor("an RTT for b and c", CONVERGE_MS, async () => {
      const shown = await shownMembers();
      return ["b", "c"].every((n) => /^\d+(\.\d+)? ms$/.test(shown[n].rtt));
    });
    // Traffic between the TAPs: every node's MAC is learned and the counters grow.
    await bed.ping("a", "b", 3);
    await bed.ping("a", "c", 3);
    const macs = await bed.ctl("a", "macs");
    const owners = new Map((await bed.ctl("a", "members")).map((m) => [m.id, m.name]));
    assert.ok(macs.length >= 3, `a knows ${macs.length} MACs`);
    await waitFor("every MAC divs macs lists on the page", CONVERGE_MS, async () => {
      const rows = await page.$$eval("#macs tbody tr", (trs) => trs.map((r) => [r.dataset.mac, r.cells[2].textContent]));
      const shown = new Map(rows);
      return macs.every((e) => shown.get(e.mac) === owners.get(e.owner));
    });
    const counter = (name) => page.$eval(`#counters [data-counter="${name}"] .v`, (td) => Number(td.textContent));
    const before = (await bed.ctl("a", "status")).counters.frames_from_tap;
    assert.ok(before > 0);
    await bed.ping("a", "b", 3);
    await waitFor("frames_from_tap on the page past the count before the pings", CONVERGE_MS, async () => (await counter("frames_from_tap")) > before);
  });

  test("a burst of connections at the page: every one answered or refused, the page keeps updating", async () => {
    await burst(`${A_UI}api/state`);
    const posted = JSON.parse(await bed.exec("a", process.execPath, "-e",
      `fetch(${JSON.stringify(`${A_UI}api/state`)}, { method: "POST" }).then((r) => console.log(r.status))`));
    assert.equal(posted, 405);
    assert.equal((await page.goto(`${A_UI}nowhere`)).status(), 404);
    await page.goto(A_UI);
    await page.waitForSelector("#graph g[data-member]");
    const before = await page.textContent("#live");
    await waitFor("the page to update after the burst", 5000, async () => (await page.textContent("#live")) !== before);
  });

  test("b's page (Deno, off loopback) is 401 without its token, shows the members with it, survives a burst", async () => {
    const url = `http://${bed.node("b").underlay}:${B_UI_PORT}/`;
    assert.equal((await page.goto(url)).status(), 401);
    assert.equal((await page.goto(`${url}api/state?token=${"0".repeat(32)}`)).status(), 401);
    assert.equal((await page.goto(`${url}?token=${bToken}`)).status(), 200);
    await waitFor("b's page to show every member alive", CONVERGE_MS, async () => {
      const shown = await shownMembers();
      return NAMES.every((n) => shown[n]?.state === "alive");
    });
    assert.match(await page.textContent("#about"), /deno/);
    await burst(`${url}api/state?token=${bToken}`);
    assert.equal((await page.goto(`${url}?token=${bToken}`)).status(), 200);
  });

  test("relayed paths, pairs relayed by the node and hostile names are drawn right (a state made up in the browser)", async () => {
    // The real page, its api/state answered by the browser: a path this bed cannot make (relayed).
    await page.goto(A_UI);
    const real = await page.evaluate(() => fetch("api/state").then((r) => r.json())); // from inside a's namespace
    const member = (name, extra) => ({ ...real.members.find((m) => m.self), self: false, id: name.padEnd(16, "0").slice(0, 16),
      name, address: `198.19.0.${name.length}:4790`, state: "alive", path: null, via: null, endpoint: null, rtt_ms: null, ...extra });
    const hostile = '<img src=x onerror="document.title=1">';
    const members = [
      real.members.find((m) => m.self),
      member("bb", { path: "direct", endpoint: "198.19.0.2:4790", rtt_ms: 1.25 }),
      member("ccc", { path: "relay", via: "bb", endpoint: "198.19.0.2:4790", rtt_ms: 2.5 }),
      member("dddd", { state: "dead" }),
      member(hostile, { address: "198.19.0.99:4790", path: "direct", rtt_ms: 3 }),
    ];
    // What the other members report of their paths (divs paths): a pair once, whoever reports it.
    const pairs = [
      { from: "bb", to: "ccc", path: "direct", via: null, rtt_ms: 0.5 },
      { from: "ccc", to: "bb", path: "direct", via: null, rtt_ms: 0.5 },
      { from: "ccc", to: hostile, path: "relay", via: "bb", rtt_ms: 4 },
      { from: "bb", to: "a", path: "direct", via: null, rtt_ms: 1.25 }, // a's own edges come from its member list
    ];
    const made = {
      ...real, members, paths: { pairs, silent: [] },
      status: { ...real.status, relay: { routes: [], pairs: [{ a: "198.19.0.2:4790", b: "198.19.0.4:4790", rate: 0, bytes: 0 }] } },
    };
    await page.route("**/api/state*", (route) => route.fulfill({ json: made }));
    try {
      await page.reload();
      await page.waitForSelector('#graph g[data-member="dddd"][data-state="dead"]');
      const edges = await page.$$eval("#graph line", (ls) => ls.map((l) => `${l.getAttribute("class")} ${l.dataset.edge}`).sort());
      assert.deepEqual(edges, [
        "edge-carried bb|dddd", // bb and dddd meet through this node
        `edge-direct a|${hostile}`,
        "edge-direct a|bb",
        "edge-none a|dddd",
        "edge-relay a|bb", // a -> ccc goes through bb
        "edge-relay bb|ccc",
        "edge-direct bb|ccc", // as bb reports it
        "edge-relay ccc|bb", // ccc -> hostile goes through bb
        `edge-relay bb|${hostile}`,
      ].sort());
      assert.equal(await page.locator("#graph img, #members img").count(), 0, "a name is text, never markup");
      assert.ok((await page.textContent("#members")).includes(hostile));
      assert.equal(await page.title(), "divs: a");
      assert.deepEqual((await shownMembers()).ccc, { state: "alive", path: "relay", rtt: "2.50 ms" });
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, "ui-relay.png") });
    } finally {
      await page.unrouteAll();
    }
  });

  test("a's page follows c leaving; nothing was fetched from elsewhere; screenshot", async () => {
    await page.goto(A_UI);
    await page.waitForSelector('#graph g[data-member="c"][data-state="alive"]');
    await bed.stop("c");
    await waitFor("c shown as left (or gone) in a's graph and table", deadBoundMs(NAMES.length), async () => {
      const shown = await shownMembers();
      const inGraph = await page.$$eval('#graph g[data-member="c"]', (gs) => gs.map((g) => g.dataset.state));
      return (shown.c === undefined || shown.c.state !== "alive") && inGraph.every((s) => s !== "alive");
    });
    assert.equal((await shownMembers()).b.state, "alive");
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "ui.png"), fullPage: true });
    const allowed = [A_UI, `http://${bed.node("b").underlay}:${B_UI_PORT}/`];
    assert.deepEqual(requested.filter((u) => !allowed.some((a) => u.startsWith(a))), []);
    assert.deepEqual(pageErrors, []);
  });
});
