// The CLI's one-line errors and documented exit codes, from the real built bundle.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { CLI, Testbed, skipReason, waitFor } from "./harness.mjs";

/** The environment without a DIVS_KEY of the caller's. */
const { DIVS_KEY: _ignored, ...cleanEnv } = process.env;

function divs(...args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 20_000, env: cleanEnv });
  return { code: r.status, stderr: r.stderr.trim(), stdout: r.stdout };
}

function inNs(ns, ...args) {
  const r = spawnSync("ip", ["netns", "exec", ns, process.execPath, CLI, ...args], { encoding: "utf8", timeout: 20_000 });
  return { code: r.status, stderr: r.stderr.trim(), stdout: r.stdout };
}

const skip = skipReason();
if (skip) console.error(`\n*** ${skip} ***\n`);

describe("argument errors (exit 2, one line)", () => {
  const cases = [
    [["up", "--address", "198.18.0.1"], /bad CIDR/],
    [["up", "--address", "198.18.0.300/24"], /bad CIDR/],
    [["up", "--address", "dhcp"], /--address dhcp takes the address from the switch's pool: give --dhcp START-END too/],
    [["up", "--join", "not a token!"], /bad join token/],
    [["up", "--join", "YwEAAAAAAAAAAAAA___GEwABErY"], /bad join token: version 99/],
    [["up", "--join", "AQEAAAAAAAAAAAAA___GEwABErY"], /bad join token: version 1 carries no network key/],
    [["up", "--join", "198.19.0.1:4790"], /joining by host:port needs the network key: --key-file PATH or DIVS_KEY/],
    [["up", "--key", "uYjJNTMcLO20ellYWeBchFa9kAujZAykbeR5whFUlxg"], /unknown option --key /],
    // A token that carries the network key (version 2) never goes on a command line.
    [["up", "--join", "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAAAAAAAAAAAAD__8YTAAEStg"], /carries the network key: give it with --join-file PATH, DIVS_TOKEN or --join -/],
    [["up", "--join", "-", "--join-file", "/dev/null"], /--join and --join-file both say what to join/],
    [["up", "--key-file", "/nonexistent/divs.key"], /cannot read \/nonexistent\/divs.key/],
    [["key", "rotate"], /bad key action "rotate"/],
    [["up", "--listen", "198.19.0.1:99999"], /bad port/],
    [["up", "--listen", "[::1:4790"], /missing "\]"/],
    [["up", "--advertise", "[::1]:x"], /bad port/],
    [["up", "--join", "[2001:db8::1]:4790"], /joining by host:port needs the network key/],
    [["up", "--mtu", "100"], /bad --mtu/],
    [["up", "--tpa", "x"], /unknown option --tpa/],
    [["up", "--mac", "01:00:5e:00:00:01"], /multicast/],
  ];
  for (const [args, message] of cases) {
    test(args.join(" "), () => {
      const r = divs(...args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.split("\n").length, 1);
    });
  }

  test("bad config file", async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
    const dir = mkdtempSync("/tmp/divs-e2e-");
    writeFileSync(`${dir}/config.json`, JSON.stringify({ probe_interval_msec: 10 }));
    const r = divs("up", "--config", `${dir}/config.json`);
    rmSync(dir, { recursive: true });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown key "probe_interval_msec"/);
  });
});

test("divs keygen prints a fresh 32-byte key as base64url", () => {
  const [a, b] = [divs("keygen"), divs("keygen")];
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /^[A-Za-z0-9_-]{43}\n$/);
  assert.equal(Buffer.from(a.stdout.trim(), "base64url").length, 32);
  assert.notEqual(a.stdout, b.stdout);
});

test("a bad key in DIVS_KEY: exit 2", () => {
  const r = spawnSync(process.execPath, [CLI, "up"], { encoding: "utf8", env: { ...cleanEnv, DIVS_KEY: "not-a-key" } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /DIVS_KEY: not a network key/);
});

test("no node on the control socket: exit 6", () => {
  const r = divs("status", "--control", "/tmp/divs-e2e-nothing-here.sock");
  assert.equal(r.code, 6);
  assert.match(r.stderr, /no node is running/);
});

test("not root: exit 3", { skip: skip ?? false }, () => {
  const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, CLI, "up"], { encoding: "utf8" });
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /needs CAP_NET_ADMIN/);
});

test("no /dev/net/tun: exit 4", { skip: skip ?? false }, () => {
  // A private mount namespace where /dev/net is an empty tmpfs: the host's /dev is untouched.
  const r = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c",
    `mount -t tmpfs divs-e2e /dev/net && exec "${process.execPath}" "${CLI}" up`], { encoding: "utf8" });
  assert.equal(r.status, 4, r.stderr);
  assert.match(r.stderr, /no \/dev\/net\/tun/);
});

describe("a running node", { skip: skip ?? false }, () => {
  const bed = new Testbed();
  before(async () => {
    await bed.setup(["x", "w"]);
    bed.start("x");
    await waitFor("node x", 10_000, () => bed.ctl("x", "status"));
  });
  after(() => bed.teardown());

  test("a second node on the same UDP port: exit 5", () => {
    const n = bed.node("x");
    const r = inNs(n.ns, "up", "--listen", `${n.underlay}:4790`, "--tap", "divs1", "--control", `${n.control}.2`, "--state-dir", `${n.stateDir}.2`);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /already in use/);
  });

  test("the node's output shows no key and no token; divs token prints one, carrying the key and the node's address", async () => {
    const raw = Buffer.from(bed.key, "base64url");
    const log = bed.node("x").log;
    assert.match(log, /divs invite/, "how to let a node join");
    assert.ok(!log.includes(bed.key) && !log.includes(raw.toString("hex")), log);
    const { token } = await bed.ctl("x", "token");
    assert.ok(!log.includes(token), "the token is printed only when asked");
    const bytes = Buffer.from(token, "base64url");
    assert.equal(bytes[0], 2);
    assert.equal(bytes.subarray(1, 33).toString("base64url"), bed.key, "the key the node was started with (DIVS_KEY)");
    assert.equal(bytes[33], 1);
    assert.equal(bytes.subarray(34 + 12, 34 + 16).join("."), bed.node("x").underlay);
    assert.equal(bytes.readUInt16BE(34 + 16), 4790);
  });

  test("a node without the key joins with the token from divs token in a --join-file", async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
    const dir = mkdtempSync("/tmp/divs-e2e-");
    const file = `${dir}/token`;
    writeFileSync(file, (await bed.ctl("x", "token")).token, { mode: 0o600 });
    try {
      bed.start("w", { key: "", extra: ["--join-file", file] });
      await waitFor("w alive at x", 15_000, async () => (await bed.aliveNames("x")).includes("w"));
      assert.doesNotMatch(bed.node("w").log, /warning/, "a 0600 file: no warning");
    } finally {
      await bed.stop("w");
      rmSync(dir, { recursive: true });
    }
  });

  test("status and divs key list show the key id, never the key", async () => {
    const { createHash } = await import("node:crypto");
    const id = createHash("sha256").update("divs key id").update(Buffer.from(bed.key, "base64url")).digest().subarray(0, 4).toString("hex");
    const status = await bed.ctl("x", "status");
    assert.deepEqual(status.security.keys, [{ id, primary: true }]);
    assert.ok("decrypt_failed" in status.security.counters && "handshakes_started" in status.security.counters);
    assert.deepEqual(await bed.ctl("x", "key", "list"), [{ id, primary: true }]);
    const table = inNs(bed.node("x").ns, "status", "--control", bed.node("x").control).stdout;
    assert.match(table, new RegExp(`keys +${id} \\(primary\\)`));
    assert.match(table, /decrypt_failed +0/);
    const raw = Buffer.from(bed.key, "base64url");
    for (const text of [JSON.stringify(status), table]) {
      assert.ok(!text.includes(bed.key) && !text.includes(raw.toString("hex")) && !text.includes(raw.toString("base64")));
    }
  });

  test("status --json and the table agree on the node", async () => {
    const status = await bed.ctl("x", "status");
    assert.equal(status.name, "x");
    assert.equal(status.tap, "divs0");
    assert.equal(status.mtu, 1425, "the default TAP MTU: 1500 - IPv4 20 - UDP 8 - sealing 30 - DiVS header 3 - Ethernet 14");
    const table = inNs(bed.node("x").ns, "status", "--control", bed.node("x").control);
    assert.match(table.stdout, new RegExp(`node +x \\(${status.id}\\)`));
  });

  test("SIGTERM: clean exit, the TAP and the control socket are gone", async () => {
    const { existsSync } = await import("node:fs");
    const { code } = await bed.stop("x", "SIGTERM");
    assert.equal(code, 0);
    const links = await bed.exec("x", "ip", "-o", "link");
    assert.doesNotMatch(links, /divs0/);
    assert.equal(existsSync(bed.node("x").control), false);
  });
});

describe("a seed the node has no route to", { skip: skip ?? false }, () => {
  const bed = new Testbed();
  before(() => bed.setup(["y"]));
  after(() => bed.teardown());

  test("datagrams the socket refuses are counted in udp_send_errors", async () => {
    // 198.19.200.0/24 is outside the namespace's only underlay subnet: sendto(2) fails with ENETUNREACH.
    bed.start("y", { join: "198.19.200.1:4790" });
    const status = await waitFor("a refused send in udp_send_errors", 10_000, async () => {
      const s = await bed.ctl("y", "status");
      return s.counters.udp_send_errors > 0 ? s : null;
    });
    assert.ok(status.counters.udp_send_errors > 0);
    assert.deepEqual(status.members, { alive: 1 }, "alone: the seed never answered");
  });
});
