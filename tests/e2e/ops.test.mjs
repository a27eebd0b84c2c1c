// Running a node as a service (issue 20): log formats, colour-free usage texts, the Prometheus
// endpoint, the config file, the systemd unit and its notifications, running without root.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, Testbed, skipReason, waitFor } from "./harness.mjs";
import { NotifySocket } from "./notify-socket.mjs";
import { parsePrometheus, sampleValue } from "./prometheus.mjs";

const HTTP_CLIENT = join(import.meta.dirname, "http-client.mjs");

const skip = skipReason();
if (skip) console.error(`\n*** ${skip} ***\n`);

/** The environment without the caller's DIVS_* variables (they are `divs up` options) or CI/TEST (citty's colour switches). */
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("DIVS_") && k !== "CI" && k !== "TEST" && k !== "NO_COLOR"));

const ESC = "\u001b";

describe("usage texts carry no ANSI colour off a terminal", () => {
  test("divs up --help | cat", () => {
    const r = spawnSync("sh", ["-c", `"${process.execPath}" "${CLI}" up --help | cat`], { encoding: "utf8", env: cleanEnv });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /--log-format/);
    assert.ok(!r.stdout.includes(ESC), "an escape sequence in piped output");
  });

  const script = spawnSync("script", ["--version"]).status === 0;
  test("on a terminal colours stay, and NO_COLOR drops them", { skip: script ? false : "SKIPPED: no script(1) for a terminal" }, () => {
    const onTty = (env) => spawnSync("script", ["-qec", `"${process.execPath}" "${CLI}" up --help`, "/dev/null"], { encoding: "utf8", env }).stdout;
    assert.ok(onTty(cleanEnv).includes(ESC), "no colour on a terminal: the check above would pass without the fix");
    assert.ok(!onTty({ ...cleanEnv, NO_COLOR: "yes" }).includes(ESC));
  });
});

describe("--log-format json", { skip: skip ?? false }, () => {
  const bed = new Testbed({ prefix: "divs-ops-" });
  before(() => bed.setup(["x", "y"]));
  after(() => bed.teardown());

  test("every line of stderr is one JSON object with time, level, message and fields", async () => {
    bed.start("x", { extra: ["--log-format", "json"] });
    await waitFor("node x", 10_000, () => bed.ctl("x", "status"));
    bed.start("y", { join: "x", extra: ["--log-format", "json", "--log-level", "warn"] });
    await waitFor("y joined x", 15_000, async () => (await bed.aliveNames("x")).length === 2);
    assert.equal((await bed.stop("x", "SIGTERM")).code, 0);
    const lines = bed.node("x").stderr.split("\n").filter((l) => l !== "");
    const records = lines.map((l) => JSON.parse(l));
    for (const r of records) {
      assert.equal(typeof r.message, "string");
      assert.ok(["debug", "info", "warn", "error"].includes(r.level), r.level);
      assert.ok(Math.abs(Date.parse(r.time) - Date.now()) < 60_000, r.time);
      assert.match(r.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    const start = records.find((r) => r.node === "x");
    assert.ok(start, "the start line carries the node's fields");
    assert.equal(start.tap, "divs0");
    const joined = records.find((r) => r.message.startsWith("member join") && r.member === "y");
    assert.ok(joined, `no member event with fields for y in ${lines.join("\n")}`);
    assert.match(joined.id, /^[0-9a-f]{16}$/);
    assert.ok(records.some((r) => r.signal === "SIGTERM"));
    // y logs warnings and errors only: nothing of its start or of x's leave.
    assert.equal(bed.node("y").stderr.split("\n").filter((l) => l !== "" && JSON.parse(l).level === "info").length, 0);
  });

  test("a bad --log-format or --log-level: exit 2", () => {
    for (const [flag, value] of [["--log-format", "xml"], ["--log-level", "chatty"]]) {
      const r = spawnSync(process.execPath, [CLI, "up", flag, value], { encoding: "utf8", env: cleanEnv });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`bad ${flag} "${value}"`));
    }
  });
});

describe("the Prometheus text-format parser of these tests is strict", () => {
  const good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n";
  test("it takes a good exposition", () => assert.equal(sampleValue(parsePrometheus(good), "a_total", { x: "1" }), 3));
  const bad = {
    "no TYPE": "# HELP a_total A.\na_total 1\n",
    "a counter without _total": "# HELP a A.\n# TYPE a counter\na 1\n",
    "a duplicate series": good + "a_total{x=\"1\"} 4\n",
    "a family split in two": good + "# HELP b B.\n# TYPE b gauge\nb 1\na_total{x=\"2\"} 1\n",
    "a bad value": "# HELP a A.\n# TYPE a gauge\na one\n",
    "no final newline": good.trimEnd(),
    "an unescaped quote": "# HELP a A.\n# TYPE a gauge\na{x=\"\"\"} 1\n",
    "a histogram whose +Inf is not its count": "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
    "buckets not cumulative": "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n",
  };
  for (const [what, text] of Object.entries(bad)) test(`it refuses ${what}`, () => assert.throws(() => parsePrometheus(text)));
});

describe("--metrics", { skip: skip ?? false }, () => {
  const bed = new Testbed({ prefix: "divs-ops-" });
  const METRICS_PORT = 9464;
  /** The HTTP client (http-client.mjs) in node `name`'s namespace, against its loopback endpoint. */
  const client = async (name, ...args) =>
    JSON.parse(await bed.exec(name, process.execPath, HTTP_CLIENT, args[0], "127.0.0.1", String(METRICS_PORT), ...args.slice(1)));
  const scrape = async (name) => {
    const r = await client(name, "get", "GET", "/metrics");
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    return parsePrometheus(r.body);
  };

  before(async () => {
    await bed.setup(["x", "y", "z"]);
    bed.start("x", { extra: ["--metrics", `127.0.0.1:${METRICS_PORT}`] });
    await waitFor("node x", 10_000, () => bed.ctl("x", "status"));
    bed.start("y", { join: "x", runtime: "deno", extra: ["--metrics", `127.0.0.1:${METRICS_PORT}`] });
    bed.start("z", { join: "x" });
    await waitFor("3 alive members", 20_000, async () => (await bed.aliveNames("x")).length === 3);
  });
  after(() => bed.teardown());

  test("the metrics agree with divs status --json of the same node", async () => {
    await bed.ping("x", "y", 3);
    await bed.ping("x", "z", 3);
    await waitFor("an RTT measured to y and z", 15_000, async () => {
      const rtts = (await bed.ctl("x", "members")).filter((m) => !m.self).map((m) => m.rtt_ms);
      return rtts.length === 2 && rtts.every((r) => r !== null);
    });
    // Counters move between two requests: each metric lies between the status before and after.
    const before = await bed.ctl("x", "status");
    const m = await waitFor("RTT observations of both peers", 10_000, async () => {
      const families = await scrape("x");
      return families.get("divs_peer_rtt_seconds").samples.filter((s) => s.name.endsWith("_count") && s.value > 0).length === 2 ? families : null;
    });
    const after = await bed.ctl("x", "status");
    const members = await bed.ctl("x", "members");
    const all = (s) => ({ ...s.counters, ...s.security.counters });
    const within = (value, counter, what) => {
      assert.ok(all(before)[counter] <= value && value <= all(after)[counter],
        `${what} = ${value}, ${counter} went ${all(before)[counter]} -> ${all(after)[counter]}`);
    };
    assert.equal(sampleValue(m, "divs_info", { node: "x", id: after.id, tap: "divs0" }), 1);
    for (const [family, dir, counter] of [
      ["divs_tap_frames_total", "in", "frames_from_tap"], ["divs_tap_frames_total", "out", "frames_to_tap"],
      ["divs_tap_bytes_total", "in", "tap_bytes_read"], ["divs_tap_bytes_total", "out", "tap_bytes_written"],
      ["divs_underlay_datagrams_total", "in", "datagrams_read"], ["divs_underlay_datagrams_total", "out", "udp_datagrams_sent"],
      ["divs_underlay_bytes_total", "in", "udp_bytes_received"], ["divs_underlay_bytes_total", "out", "udp_bytes_sent"],
    ]) {
      const v = sampleValue(m, family, { direction: dir });
      assert.ok(v > 0, `${family}{direction="${dir}"} is 0 after pings`);
      within(v, counter, `${family}{direction="${dir}"}`);
    }
    assert.ok(sampleValue(m, "divs_tap_bytes_total", { direction: "in" }) >= 6 * 98, "6 echo requests of 98 bytes at least");
    const drops = m.get("divs_drops_total").samples;
    assert.ok(drops.length > 40, "every drop reason has a series");
    for (const s of drops) within(s.value, s.labels.reason, `drops{${s.labels.layer}/${s.labels.reason}}`);
    for (const state of ["alive", "suspect", "dead", "left"]) {
      assert.equal(sampleValue(m, "divs_members", { state }), after.members[state] ?? 0, state);
    }
    assert.equal(sampleValue(m, "divs_members", { state: "alive" }), 3);
    for (const kind of ["direct", "relay"]) {
      assert.equal(sampleValue(m, "divs_paths", { kind }), members.filter((r) => r.path === kind).length, kind);
    }
    assert.equal(sampleValue(m, "divs_paths", { kind: "direct" }), 2);
    assert.equal(sampleValue(m, "divs_mac_table_entries"), after.macs);
    assert.ok(after.macs >= 3);
    within(sampleValue(m, "divs_handshakes_total"), "handshakes_started", "handshakes");
    within(sampleValue(m, "divs_handshake_failures_total", { reason: "timeout" }), "handshake_timeouts", "handshake timeouts");
    within(sampleValue(m, "divs_sealing_errors_total"), "decrypt_failed", "sealing errors");
    const sessions = sampleValue(m, "divs_sessions_established_total", { role: "initiator" }) + sampleValue(m, "divs_sessions_established_total", { role: "responder" });
    assert.ok(sessions >= 2, "a session with each of y and z");
    for (const peer of members.filter((r) => !r.self)) {
      const count = sampleValue(m, "divs_peer_rtt_seconds", { peer: peer.name, id: peer.id }, "divs_peer_rtt_seconds_count");
      const sum = sampleValue(m, "divs_peer_rtt_seconds", { peer: peer.name, id: peer.id }, "divs_peer_rtt_seconds_sum");
      assert.ok(count >= 1 && sum > 0 && sum / count < 1, `${peer.name}: ${count} observations, sum ${sum} s`);
    }
    assert.ok(sampleValue(m, "process_resident_memory_bytes") > 10e6);
    assert.ok(sampleValue(m, "process_cpu_seconds_total") > 0);
    assert.ok(Math.abs(sampleValue(m, "process_start_time_seconds") - Date.now() / 1000) < 600);
  });

  test("under Deno too", async () => {
    const m = await scrape("y");
    assert.equal(m.get("divs_info").samples[0].labels.node, "y");
    assert.match(m.get("divs_info").samples[0].labels.runtime, /^deno /);
    assert.equal(sampleValue(m, "divs_members", { state: "alive" }), 3);
    assert.ok(sampleValue(m, "process_resident_memory_bytes") > 10e6);
  });

  test("only GET on /metrics: another method 405, another path 404", async () => {
    for (const name of ["x", "y"]) {
      for (const method of ["POST", "PUT", "DELETE", "HEAD"]) {
        const r = await client(name, "get", method, "/metrics");
        assert.equal(r.status, 405, `${name} ${method}`);
        assert.equal(r.headers.allow, "GET");
      }
      for (const path of ["/", "/metrics/x", "/metricsx", "/METRICS", "/status", "/metrics%00"]) {
        assert.equal((await client(name, "get", "GET", path)).status, 404, `${name} ${path}`);
      }
      assert.equal((await client(name, "get", "GET", "/metrics?x=1")).status, 200);
      const garbage = await client(name, "raw", "\x16\x03\x01 not http\r\n\r\n");
      assert.match(garbage.response, /^(HTTP\/1\.1 400|)/, `${name}: ${garbage.response}`);
    }
  });

  test("off loopback only with a token (Authorization: Bearer)", async () => {
    const z = bed.node("z");
    const refused = await bed.exec("z", "sh", "-c", `"${process.execPath}" "${CLI}" up --listen ${z.underlay}:4791 --tap divs9 --control /tmp/divs-ops-z9.sock --metrics ${z.underlay}:9464 2>&1; echo "exit $?"`);
    assert.match(refused, /--metrics 198\.19\.0\.3:9464 is not a loopback address: it needs --metrics-token-file/);
    assert.match(refused, /exit 2$/m);
    const dir = mkdtempSync(join(tmpdir(), "divs-ops-token-"));
    try {
      writeFileSync(`${dir}/token`, "0123456789abcdef0123\n");
      await bed.stop("z", "SIGTERM");
      bed.start("z", { join: "x", extra: ["--metrics", `${z.underlay}:9464`, "--metrics-token-file", `${dir}/token`] });
      // Every member, not only z: the burst test next counts 3 alive members on x and y.
      await waitFor("z back, in every member's view", 20_000, async () => {
        for (const n of ["x", "y", "z"]) if ((await bed.aliveNames(n)).length !== 3) return false;
        return true;
      });
      const get = async (token) => JSON.parse(await bed.exec("z", process.execPath, HTTP_CLIENT, "get", z.underlay, "9464", "GET", "/metrics", ...(token ? [token] : [])));
      assert.equal((await get(null)).status, 401);
      assert.equal((await get("0123456789abcdef0124")).status, 401);
      const ok = await get("0123456789abcdef0123");
      assert.equal(ok.status, 200);
      assert.equal(sampleValue(parsePrometheus(ok.body), "divs_members", { state: "alive" }), 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a burst of connections: the endpoint and the node stay up", async () => {
    for (const name of ["x", "y"]) {
      const burst = await client(name, "burst", "400");
      assert.equal(burst.opened + burst.refused, 400);
      assert.ok(burst.opened > 0);
      const m = await scrape(name);
      assert.equal(sampleValue(m, "divs_members", { state: "alive" }), 3, name);
    }
    await bed.ping("x", "y", 2);
  });
});

describe("--config-file", () => {
  const dir = mkdtempSync(join(tmpdir(), "divs-ops-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name, json) => {
    const path = join(dir, name);
    writeFileSync(path, typeof json === "string" ? json : JSON.stringify(json));
    return path;
  };
  const up = (file, env = {}) => spawnSync(process.execPath, [CLI, "up", "--config-file", file], { encoding: "utf8", env: { ...cleanEnv, ...env } });

  const refused = {
    "an unknown key": [{ tap: "divs0", "log-levle": "warn" }, /bad config file .*: unknown key "log-levle"/],
    "an unknown core key": [{ core: { probe_interval_msec: 10 } }, /unknown key "probe_interval_msec"/],
    "a key given on the command line only": [{ runtime: "deno" }, /"runtime" is given on the command line only/],
    "a value of the wrong type": [{ mtu: [1400] }, /"mtu" must be a string or a number/],
    "a bad value": [{ "log-format": "yaml" }, /bad --log-format "yaml"/],
    "not an object": ["[1, 2]", /expected a JSON object/],
    "not JSON": ["{tap: divs0}", /bad config file/],
  };
  for (const [what, [json, message]] of Object.entries(refused)) {
    test(`${what}: exit 2, one line naming it`, () => {
      const r = up(write(`${what.replaceAll(" ", "-")}.json`, json));
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split("\n").length, 1);
    });
  }

  test("DIVS_CONFIG_FILE names it too", () => {
    const r = spawnSync(process.execPath, [CLI, "up"], { encoding: "utf8", env: { ...cleanEnv, DIVS_CONFIG_FILE: write("env.json", { bogus: 1 }) } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /unknown key "bogus"/);
  });

  describe("precedence: flags, then DIVS_<FLAG>, then the file, then defaults", { skip: skip ?? false }, () => {
    const bed = new Testbed({ prefix: "divs-ops-" });
    before(() => bed.setup(["x", "y"]));
    after(() => bed.teardown());

    test("on Node", async () => {
      const file = write("x.json", {
        name: "from-the-file", mtu: 1300, "log-format": "json", "log-level": "debug", "latency-wake": 3, core: { mac_ageing_ms: 60000 },
      });
      // --name (flag) beats the file; DIVS_MTU beats the file; DIVS_LOG_LEVEL beats the file, and is
      // beaten by --log-level; log-format only the file gives.
      bed.start("x", { extra: ["--config-file", file, "--log-level", "warn"], env: { DIVS_MTU: "1350", DIVS_LOG_LEVEL: "error" } });
      const status = await waitFor("node x", 10_000, () => bed.ctl("x", "status"));
      assert.equal(status.name, "x", "the flag beats the file");
      assert.equal(status.mtu, 1350, "the environment beats the file");
      assert.equal(status.tap, "divs0", "the default where nobody says");
      bed.start("y", { join: "x" });
      await waitFor("y joined x", 15_000, async () => (await bed.aliveNames("x")).length === 2);
      const { code } = await bed.stop("x", "SIGTERM");
      assert.equal(code, 0);
      await bed.stop("y", "SIGTERM");
      // Only the file asks for JSON; the flag's warn, not the environment's error nor the file's debug:
      // the info lines of start, join and leave are all left out.
      const lines = bed.node("x").stderr.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
      assert.ok(lines.every((l) => l.level === "warn" || l.level === "error"), JSON.stringify(lines));
    });

    test("under Deno (--runtime deno reads the file's paths and address for its permissions)", async () => {
      const file = write("y.json", { mtu: 1300, metrics: "127.0.0.1:9465", core: { membership_profile: "local" } });
      bed.start("y", { join: null, runtime: "deno", extra: ["--config-file", file] });
      const status = await waitFor("node y", 20_000, () => bed.ctl("y", "status"));
      assert.equal(status.mtu, 1300);
      assert.match(status.runtime, /^deno /);
      const r = JSON.parse(await bed.exec("y", process.execPath, HTTP_CLIENT, "get", "127.0.0.1", "9465", "GET", "/metrics"));
      assert.equal(r.status, 200);
      assert.match(r.body, /divs_info\{node="y"/);
    });
  });
});

describe("divs service install", () => {
  const dir = mkdtempSync(join(tmpdir(), "divs-ops-svc-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const analyze = spawnSync("systemd-analyze", ["--version"]).status === 0;

  for (const user of ["dynamic", "root"]) {
    test(`the unit (--user ${user}) passes systemd-analyze verify`, { skip: analyze ? false : "SKIPPED: no systemd-analyze" }, () => {
      const tap = `opsv${user[0]}`;
      const r = spawnSync(process.execPath, [CLI, "service", "install", "--tap", tap, "--user", user, "--unit-dir", `${dir}/units`, "--config-dir", `${dir}/etc`],
        { encoding: "utf8", env: cleanEnv });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`systemctl enable --now --no-block divs-${tap}\\.service`));
      const unitFile = `${dir}/units/divs-${tap}.service`;
      const unit = readFileSync(unitFile, "utf8");
      for (const line of ["Type=notify", "Restart=on-failure", "WatchdogSec=30s", "AmbientCapabilities=CAP_NET_ADMIN", "CapabilityBoundingSet=CAP_NET_ADMIN", `StateDirectory=divs/${tap}`]) {
        assert.ok(unit.split("\n").includes(line), `no ${line}`);
      }
      assert.equal(unit.includes("DynamicUser=yes"), user === "dynamic");
      assert.match(unit, new RegExp(`^ExecStart=${process.execPath} \\S+/build/divs\\.cjs up --tap ${tap}$`, "m"));
      assert.equal(statSync(`${dir}/etc/${tap}.key`).mode & 0o777, 0o600);
      const verify = spawnSync("systemd-analyze", ["verify", unitFile], { encoding: "utf8" });
      assert.equal(verify.status, 0, verify.stderr);
      assert.equal(verify.stderr.trim(), "", "systemd-analyze has a complaint");
      // The check is not blind: a mistyped key in a copy is reported.
      const broken = `${dir}/units/divs-${tap}x.service`;
      writeFileSync(broken, unit.replace("WatchdogSec=", "WatchdogSecs="));
      assert.match(spawnSync("systemd-analyze", ["verify", broken], { encoding: "utf8" }).stderr, /Unknown key 'WatchdogSecs'/);
      rmSync(broken);
    });
  }

  test("a second install keeps the key and the options", () => {
    const args = [CLI, "service", "install", "--tap", "opsvk", "--unit-dir", `${dir}/units`, "--config-dir", `${dir}/etc`];
    assert.equal(spawnSync(process.execPath, args, { env: cleanEnv }).status, 0);
    const key = readFileSync(`${dir}/etc/opsvk.key`, "utf8");
    writeFileSync(`${dir}/etc/opsvk.json`, JSON.stringify({ address: "198.18.0.9/24" }));
    const again = spawnSync(process.execPath, args, { encoding: "utf8", env: cleanEnv });
    assert.equal(again.status, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /new network key/);
    assert.equal(readFileSync(`${dir}/etc/opsvk.key`, "utf8"), key);
    assert.equal(JSON.parse(readFileSync(`${dir}/etc/opsvk.json`, "utf8")).address, "198.18.0.9/24");
  });

  test("a bad --tap or action: exit 2", () => {
    for (const args of [["install", "--tap", "a/b"], ["remove"], ["install", "--user", "nobody"]]) {
      const r = spawnSync(process.execPath, [CLI, "service", ...args, "--unit-dir", `${dir}/units`, "--config-dir", `${dir}/etc`], { encoding: "utf8", env: cleanEnv });
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    }
  });
});

describe("systemd notifications: READY=1 once joined, WATCHDOG=1, STOPPING=1", { skip: skip ?? false }, () => {
  const bed = new Testbed({ prefix: "divs-ops-" });
  const sockets = [];
  before(() => bed.setup(["x", "y"]));
  after(async () => {
    await bed.teardown();
    for (const s of sockets) s.close();
  });
  const notifySocket = (name) => {
    const s = new NotifySocket(join(tmpdir(), `divs-ops-notify-${name}.sock`));
    sockets.push(s);
    return s;
  };

  test("a joining node is ready only once it has joined; its watchdog pings come at half WATCHDOG_USEC", async () => {
    const y = notifySocket("y");
    const x = notifySocket("x");
    // y first: its seed x is not up yet.
    bed.start("y", { join: "x", env: { NOTIFY_SOCKET: y.path, WATCHDOG_USEC: "1000000" } });
    await waitFor("y's STATUS: the handshake with its seed", 10_000, () => y.read().some((m) => /^STATUS=handshake with 198\.19\.0\.1:4790/m.test(m)));
    assert.equal(y.with("READY=1").length, 0, "ready before it joined");
    bed.start("x", { env: { NOTIFY_SOCKET: x.path, WATCHDOG_USEC: "1000000" } });
    await waitFor("x ready", 10_000, () => x.with("READY=1").length === 1);
    assert.match(x.with("READY=1")[0], /STATUS=node x on divs0 \(198\.18\.0\.1\/24\) created a switch/);
    await waitFor("y ready", 20_000, () => y.with("READY=1").length === 1);
    assert.deepEqual(await bed.aliveNames("y"), ["x", "y"]);
    assert.match(y.with("READY=1")[0], /STATUS=node y on divs0 .* joined via 198\.19\.0\.1:4790: 2 members alive/);
    // WATCHDOG_USEC of 1 s: a ping every 0.5 s from the data-plane loop.
    const pings = x.with("WATCHDOG=1").length;
    await waitFor("3 more watchdog pings from x", 5_000, () => x.with("WATCHDOG=1").length >= pings + 3);
    await bed.stop("y", "SIGTERM");
    assert.equal(y.with("STOPPING=1").length, 1);
    assert.equal(y.with("READY=1").length, 1, "READY=1 once");
  });

  test("WATCHDOG_PID of another process: no watchdog pings", async () => {
    const z = notifySocket("x2");
    await bed.stop("x", "SIGTERM");
    bed.start("x", { env: { NOTIFY_SOCKET: z.path, WATCHDOG_USEC: "200000", WATCHDOG_PID: "1" } });
    await waitFor("x ready", 10_000, () => z.with("READY=1").length === 1);
    await bed.stop("x", "SIGTERM"); // a leave takes well over the 100 ms a ping would need
    assert.equal(z.with("WATCHDOG=1").length, 0);
    assert.equal(z.with("STOPPING=1").length, 1);
  });
});

describe("without root: only CAP_NET_ADMIN", { skip: skip ?? false }, () => {
  const bed = new Testbed({ prefix: "divs-ops-" });
  const dir = mkdtempSync(join(tmpdir(), "divs-ops-nonroot-"));
  before(async () => {
    await bed.setup(["x", "n"]);
    chmodSync(dir, 0o777);
  });
  after(async () => {
    await bed.teardown();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * `divs up` as uid 65534 in node n's namespace, with `caps` ("+net_admin" or "") as its inheritable
   * and ambient capabilities; /dev/net/tun is mode 0666 (as on most systems) in a private mount namespace.
   */
  const upAsNobody = (caps, extra = []) => {
    const n = bed.node("n");
    const capFlags = caps ? [`--inh-caps=${caps}`, `--ambient-caps=${caps}`] : [];
    const up = [process.execPath, CLI, "up", "--name", "n", "--listen", `${n.underlay}:4790`, "--address", `${n.overlay}/24`,
      "--control", `${dir}/n.sock`, "--state-dir", `${dir}/state`, "--join", `${bed.node("x").underlay}:4790`, ...extra];
    const script = 'mount -t tmpfs divs-ops /dev/net && mknod -m 0666 /dev/net/tun c 10 200 && exec "$@"';
    return spawn("ip", ["netns", "exec", n.ns, "unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
      "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...capFlags, ...up], { env: { ...cleanEnv, DIVS_KEY: bed.key } });
  };
  const collect = (proc) => {
    const out = { text: "", exited: new Promise((resolve) => proc.once("exit", (code) => resolve(code))) };
    proc.stdout.on("data", (d) => (out.text += d));
    proc.stderr.on("data", (d) => (out.text += d));
    return out;
  };

  test("it creates its TAP and joins", async () => {
    bed.start("x");
    await waitFor("node x", 10_000, () => bed.ctl("x", "status"));
    const proc = upAsNobody("+net_admin");
    const out = collect(proc);
    try {
      await waitFor("n joined x", 20_000, async () => (await bed.aliveNames("x")).includes("n"), 200);
      const link = await bed.exec("n", "ip", "-o", "addr", "show", "dev", "divs0");
      assert.match(link, /inet 198\.18\.0\.2\/24/);
      const owner = (await bed.exec("n", "sh", "-c", `stat -c %u /proc/${await nodePid(bed, "n")}`)).trim();
      assert.equal(owner, "65534", "the node runs as uid 65534");
      await bed.ping("x", "n", 2);
    } finally {
      proc.kill("SIGTERM");
      assert.equal(await out.exited, 0, out.text);
    }
  });

  test("without the ambient capability: exit 3, saying what is missing", async () => {
    const out = collect(upAsNobody(""));
    assert.equal(await out.exited, 3, out.text);
    assert.match(out.text, /needs CAP_NET_ADMIN/);
  });
});

/** The pid of the node process (node divs.cjs up) in node `name`'s namespace. */
async function nodePid(bed, name) {
  const pids = (await bed.exec(name, "ip", "netns", "pids", bed.node(name).ns)).split("\n").filter(Boolean);
  for (const pid of pids) {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    if (cmd.includes(CLI) && cmd.includes("up")) return pid;
  }
  throw new Error(`no divs up in ${bed.node(name).ns}`);
}

describe("progress on a terminal", { skip: skip ?? false }, () => {
  const bed = new Testbed({ prefix: "divs-ops-" });
  before(() => bed.setup(["x", "y"]));
  after(() => bed.teardown());

  /**
   * `divs up` for y joining x, its stdout and stderr on a terminal (script(1)) or pipes; y starts first
   * and x once y shows (or logs) its handshake step, so every step comes. Resolves with what y wrote.
   */
  async function upOutput(terminal) {
    const y = bed.node("y");
    const up = ["ip", "netns", "exec", y.ns, process.execPath, CLI, "up", "--name", "y", "--listen", `${y.underlay}:4790`,
      "--address", `${y.overlay}/24`, "--control", y.control, "--join", `${bed.node("x").underlay}:4790`];
    const proc = terminal
      ? spawn("script", ["-qec", up.map((a) => `'${a}'`).join(" "), "/dev/null"], { env: { ...cleanEnv, DIVS_KEY: bed.key } })
      : spawn(up[0], up.slice(1), { env: { ...cleanEnv, DIVS_KEY: bed.key } });
    let text = "";
    proc.stdout.on("data", (d) => (text += d));
    proc.stderr.on("data", (d) => (text += d));
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    try {
      await waitFor("y's line on how to let a node join", 10_000, () => text.includes("to let a node join: "));
      if (terminal) await waitFor("y's handshake step", 10_000, () => text.includes("divs: handshake with 198.19.0.1:4790..."));
      bed.start("x");
      await waitFor("y's summary line", 20_000, () => /node y on divs0 \(198\.18\.0\.2\/24\) joined via 198\.19\.0\.1:4790: 2 members alive/.test(text));
      process.kill(Number(await nodePid(bed, "y")), "SIGTERM");
      await exited;
    } finally {
      await bed.stop("x", "SIGTERM");
    }
    return text;
  }

  test("the steps on one line rewritten in place, then the summary", async () => {
    const text = await upOutput(true);
    const CLEAR = "\r\u001b[K";
    const steps = text.split(CLEAR).map((s) => s.split(/\r?\n/)[0].trim()).filter((s) => s.startsWith("divs: "));
    const at = (re) => steps.findIndex((s) => re.test(s));
    const tap = at(/^divs: TAP divs0 up, 198\.18\.0\.2\/24, MTU 1425\.\.\.$/);
    const handshake = at(/^divs: handshake with 198\.19\.0\.1:4790\.\.\.$/);
    const summary = at(/^divs: node y on divs0 \(198\.18\.0\.2\/24\) joined via 198\.19\.0\.1:4790: 2 members alive$/);
    assert.ok(tap >= 0 && handshake > tap && summary > handshake, JSON.stringify(steps));
    assert.equal(steps.length - 1, summary, "the summary is the last line drawn");
    // That line and the log lines each stand on their own line, above the progress line.
    assert.match(text, new RegExp(`${CLEAR.replace("[", "\\[")}to let a node join: [^\\r\\n]+\\r?\\n`));
  });

  test("off a terminal: no progress line, the summary is a log line", async () => {
    const text = await upOutput(false);
    assert.ok(!text.includes("\r") && !text.includes("\u001b"), JSON.stringify(text));
    assert.match(text, /^\[divs\] node y on divs0 \(198\.18\.0\.2\/24\) joined via 198\.19\.0\.1:4790: 2 members alive members=2$/m);
  });
});
