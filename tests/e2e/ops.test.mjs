// Running a node as a service (issue 20): log formats, colour-free usage texts, the Prometheus
// endpoint, the config file, the systemd unit and its notifications, running without root.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { CLI, Testbed, skipReason, waitFor } from "./harness.mjs";

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
