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

/** A signed IP binding's form (assembly/wire/bindmsg.ts bindClaimForm) as checkMacs names a bound address. */
const BIND_FORM = { TYPE: 0x22, V4_LEN: 26, V6_LEN: 102, TRAILER: 96 };
function bindingKey(form) {
  const v = new DataView(form.buffer, form.byteOffset, form.length);
  const v6 = form.length === BIND_FORM.V6_LEN;
  const ip = new Uint8Array(16);
  if (v6) ip.set(form.subarray(22, 38));
  else ip.set([0xff, 0xff, ...form.subarray(22, 26)], 10);
  const hex = (b) => Buffer.from(b).toString("hex");
  return boundKey(hex(form.subarray(12, 18)), v.getUint16(2), hex(ip), v.getBigUint64(4));
}

/** Names a bound address: MAC (hex), VLAN, address (16 bytes hex, IPv4 as ::ffff:a.b.c.d), owner. */
export const boundKey = (mac, vlan, ip, owner) => `${mac}/${vlan} ${ip} ${owner}`;

export class Core {
  /** Every IP binding this core took a valid signature for (boundKey), so a bound address can be checked against them. */
  vouchedBindings = new Set();

  constructor(module) {
    const claims = claimStubImports(() => this.exports.memory.buffer);
    const verify = (ptr, len) => {
      const ok = claims.claim_verify(ptr, len);
      const formLen = len - BIND_FORM.TRAILER;
      if (ok && this.bytes[ptr] === BIND_FORM.TYPE && (formLen === BIND_FORM.V4_LEN || formLen === BIND_FORM.V6_LEN)) {
        this.vouchedBindings.add(bindingKey(this.bytes.subarray(ptr, ptr + formLen)));
      }
      return ok;
    };
    const imports = {
      env: { abort: (msg, file, line, col) => this.#abort(msg, file, line, col), ...claims, claim_verify: verify },
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
