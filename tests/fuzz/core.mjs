// Loads the core's .wasm alone (no host code) and wraps its exports for the
// fuzzer and the microbenchmark. Aborts and WebAssembly traps both surface as
// thrown errors with `trap = true`.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { claimStubImports } from "../fixtures/claims-stub.mjs";
import { writeRecords } from "./records.mjs";

export const WASM_PATHS = {
  debug: fileURLToPath(new URL("../../build/divs-core.debug.wasm", import.meta.url)),
  release: fileURLToPath(new URL("../../build/divs-core.wasm", import.meta.url)),
};

export class Trap extends Error {
  trap = true;
}

/** Compiles a build of the core once; `instantiate()` gives fresh cores from it. */
export function compileCore(build = "debug") {
  let bytes;
  try {
    bytes = readFileSync(WASM_PATHS[build]);
  } catch {
    throw new Error(`${WASM_PATHS[build]} is missing: run \`npm run build:core\` first`);
  }
  const module = new WebAssembly.Module(bytes);
  return { build, module, instantiate: () => new Core(module) };
}

export class Core {
  constructor(module) {
    const imports = {
      env: { abort: (msg, file, line, col) => this.#abort(msg, file, line, col), ...claimStubImports(() => this.exports.memory.buffer) },
    };
    this.exports = new WebAssembly.Instance(module, imports).exports;
    this.inputCapacity = this.exports.input_capacity();
    this.outputCapacity = this.exports.output_capacity();
  }

  get bytes() { return new Uint8Array(this.exports.memory.buffer); }
  get input() { return this.bytes.subarray(this.exports.input_ptr(), this.exports.input_ptr() + this.inputCapacity); }
  /** The first `len` bytes of the output region (valid until the next call). */
  output(len) { return this.bytes.subarray(this.exports.output_ptr(), this.exports.output_ptr() + len); }

  has(name) { return typeof this.exports[name] === "function"; }

  /** Calls an export; a WebAssembly RuntimeError becomes a Trap. */
  call(name, ...args) {
    try {
      return this.exports[name](...args);
    } catch (e) {
      if (e instanceof Trap) throw e;
      if (e instanceof WebAssembly.RuntimeError) throw new Trap(`${name}: ${e.message}`, { cause: e });
      throw e;
    }
  }

  /** Writes raw input bytes and calls process; returns the output length. */
  processBytes(bytes, now, len = bytes.length) {
    this.input.set(bytes.subarray(0, Math.min(bytes.length, this.inputCapacity)));
    return this.call("process", len, now);
  }

  processRecords(records, now) {
    return this.call("process", writeRecords(this.input, records), now);
  }

  #abort(msg, file, line, col) {
    throw new Trap(`abort: ${this.#string(msg)} at ${this.#string(file)}:${line}:${col}`);
  }

  /** An AssemblyScript string: UTF-16LE, byte length in the u32 before it. */
  #string(ptr) {
    if (!ptr) return "?";
    const mem = this.exports.memory.buffer;
    const len = new Uint32Array(mem, ptr - 4, 1)[0];
    return Buffer.from(mem, ptr, len).toString("utf16le");
  }
}
