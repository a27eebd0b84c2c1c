// Replays a recorded core trace (record.mjs) through build/divs-core.wasm on whichever runtime runs
// this file, and checks every result and output region byte for byte against the recording.
// Prints one JSON line: {runtime, calls, processCalls, outputBytes, digest, mismatches, first}.
//   node tests/deno/replay.mjs TRACE
//   deno run --allow-read tests/deno/replay.mjs TRACE
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { claimStubImports } from "../fixtures/claims-stub.mjs";
import { INPUT_READERS, OUTPUT_FILLERS, readTrace } from "./trace-format.mjs";

const [tracePath, wasmPath = new URL("../../build/divs-core.wasm", import.meta.url).pathname] =
  typeof Deno !== "undefined" ? Deno.args : process.argv.slice(2);
const module = new WebAssembly.Module(readFileSync(wasmPath));
const instances = new Map();
const digest = createHash("sha256");
let calls = 0;
let processCalls = 0;
let outputBytes = 0;
let mismatches = 0;
let first = null;

for (const e of readTrace(new Uint8Array(readFileSync(tracePath)))) {
  if (e.tag === "instance") {
    // The simulator and the fuzzer run the core with the stand-in claim signatures: so does the replay.
    const x = new WebAssembly.Instance(module, {
      env: { abort: () => { throw new Error("core abort"); }, ...claimStubImports(() => x.exports.memory.buffer) },
    });
    instances.set(e.id, x.exports);
    continue;
  }
  const x = instances.get(e.instance);
  calls++;
  if (e.name === "process") processCalls++;
  if (INPUT_READERS.has(e.name)) new Uint8Array(x.memory.buffer, x.input_ptr(), e.input.length).set(e.input);
  const result = x[e.name](...e.args);
  const output = OUTPUT_FILLERS.has(e.name)
    ? new Uint8Array(x.memory.buffer, x.output_ptr(), Number(result))
    : new Uint8Array(0);
  digest.update(new Uint8Array(new Float64Array([Number(result ?? 0)]).buffer));
  digest.update(output);
  outputBytes += output.length;
  if (Number(result ?? 0) !== e.result || !sameBytes(output, e.output)) {
    mismatches++;
    first ??= `call ${calls} (${e.name} on instance ${e.instance}): result ${result} vs recorded ${e.result}`;
  }
}

const runtime = typeof Deno !== "undefined" ? `deno ${Deno.version.deno}` : `node ${process.version}`;
console.log(JSON.stringify({ runtime, calls, processCalls, outputBytes, digest: digest.digest("hex"), mismatches, first }));

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
