// Records every call a program makes into the core's WebAssembly exports: which instance, which
// export, its arguments, the input region a process() call hands over, and what it returned (with
// the output region for the calls that fill it). Load it in front of any program that drives the
// core, e.g. the simulator or the fuzzer, without changing that program:
//   DIVS_TRACE=/tmp/t.trace node --import ./tests/deno/record.mjs tests/sim/run.mjs --nodes 8 --seconds 20
// The trace is written at exit (format in trace-format.mjs); replay.mjs runs it on any runtime.
import { writeFileSync } from "node:fs";
import { INPUT_READERS, OUTPUT_FILLERS, TraceWriter } from "./trace-format.mjs";

const out = process.env.DIVS_TRACE;
if (!out) throw new Error("record.mjs: set DIVS_TRACE to the trace file to write");

const writer = new TraceWriter();
const RealInstance = WebAssembly.Instance;
let instances = 0;

function wrap(real) {
  const id = instances++;
  writer.instance(id);
  const x = real.exports;
  const exports = {};
  for (const [name, value] of Object.entries(x)) {
    if (typeof value !== "function") {
      exports[name] = value;
      continue;
    }
    exports[name] = (...args) => {
      const input = INPUT_READERS.has(name)
        ? new Uint8Array(x.memory.buffer, x.input_ptr(), Math.min(args[0] >>> 0, x.input_capacity())).slice()
        : null;
      const result = value(...args);
      const output = OUTPUT_FILLERS.has(name) ? new Uint8Array(x.memory.buffer, x.output_ptr(), result) : null;
      writer.call(id, name, args, input, result, output);
      return result;
    };
  }
  return { exports: Object.freeze(exports) };
}

WebAssembly.Instance = function Instance(module, imports) {
  return wrap(new RealInstance(module, imports));
};
const realInstantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async (source, imports) => {
  const r = await realInstantiate(source, imports);
  return r instanceof RealInstance ? wrap(r) : { module: r.module, instance: wrap(r.instance) };
};

process.on("exit", () => writeFileSync(out, writer.finish()));
