// The same core bytes give the same outputs under Node and Deno: record every call the simulator and
// the fuzzer make into build/divs-core.wasm (record.mjs, under Node), replay each trace under both
// runtimes (replay.mjs) and compare every result and output region with the recording, then run the
// fuzzer itself under Deno with a fixed seed and compare its report with Node's.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { findDeno } from "./find-deno.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const deno = findDeno();
const wasm = join(root, "build/divs-core.wasm");
const skip = !deno ? "SKIPPED: no deno binary (npm install the deno dev dependency, or put deno on PATH, or set DIVS_DENO)"
  : !existsSync(wasm) ? `SKIPPED: ${wasm} is missing: run npm run build:core first` : null;
if (skip) console.error(`\n*** ${skip} ***\n`);

const scratch = mkdtempSync(join(tmpdir(), "divs-trace-"));
const run = (cmd, args, env = {}) =>
  execFileSync(cmd, args, { cwd: root, encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 64 << 20 });

function record(name, args) {
  const trace = join(scratch, `${name}.trace`);
  run(process.execPath, ["--import", "./tests/deno/record.mjs", ...args], { DIVS_TRACE: trace });
  return trace;
}

const replayNode = (trace, core = wasm) => JSON.parse(run(process.execPath, ["tests/deno/replay.mjs", trace, core]));
const replayDeno = (trace, core = wasm) => JSON.parse(run(deno, ["run", "--no-prompt", "--allow-read", "tests/deno/replay.mjs", trace, core]));

describe("one core, two runtimes", { skip: skip ?? false }, () => {
  after(() => rmSync(scratch, { recursive: true, force: true }));

  // The simulator runs the release core, the fuzzer the debug one (assertions on).
  const workloads = {
    "a simulated 8-node cluster": [wasm, "tests/sim/run.mjs", "--nodes", "8", "--seconds", "30", "--seed", "3"],
    "the fuzzer (seed 7, 400 iterations: garbled records, frames, datagrams)":
      [join(root, "build/divs-core.debug.wasm"), "tests/fuzz/run.mjs", "--seed", "7", "--runs", "400"],
  };
  for (const [what, [core, ...args]] of Object.entries(workloads)) {
    test(`a recorded trace of ${what} replays byte-identically under Node and Deno`, () => {
      const trace = record(what.split(" ")[2], args);
      const node = replayNode(trace, core);
      const denoRun = replayDeno(trace, core);
      console.error(`    node: ${JSON.stringify(node)}\n    deno: ${JSON.stringify(denoRun)}`);
      assert.ok(node.processCalls > 100 && node.outputBytes > 10_000, "the trace exercises the core");
      assert.equal(node.mismatches, 0, `Node replay differs from the recording: ${node.first}`);
      assert.equal(denoRun.mismatches, 0, `Deno replay differs from the recording: ${denoRun.first}`);
      assert.match(denoRun.runtime, /^deno /);
      assert.deepEqual({ ...denoRun, runtime: "" }, { ...node, runtime: "" });
    });
  }

  test("a replay notices a changed input (the comparison can fail)", () => {
    const trace = record("tampered", workloads["a simulated 8-node cluster"].slice(1));
    const bytes = readFileSync(trace);
    // Change the `now` argument of a late process() call: timers and outputs move.
    const at = bytes.lastIndexOf(Buffer.from("\x07process\x02"));
    assert.ok(at > 0);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    view.setFloat64(at + 9 + 8, view.getFloat64(at + 9 + 8, true) + 5000, true);
    writeFileSync(trace, bytes);
    assert.ok(replayDeno(trace).mismatches > 0);
  });

  test("the fuzzer runs under Deno and reports what it reports under Node for the same seed", () => {
    const args = ["tests/fuzz/run.mjs", "--seed", "11", "--runs", "1500"];
    const steady = (out) => out.split("\n").filter((l) => !/ in [\d.]+ s /.test(l)).join("\n"); // drop timing lines
    const node = run(process.execPath, args);
    const denoOut = run(deno, ["run", "--no-prompt", "--allow-read", "--allow-write=tests/fuzz/failures", ...args]);
    assert.match(node, /0 failures/);
    assert.equal(steady(denoOut), steady(node));
  });
});
