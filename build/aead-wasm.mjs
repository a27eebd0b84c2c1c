// The small-datagram AEAD (assembly/aead, built to build/divs-aead.wasm by `npm run build:core`) as the
// esbuild define its host module reads (host/secure/chacha20poly1305.ts): the bundles and the test
// bundles carry its 3 KB, so runtime-agnostic code instantiates it without reading a file.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export function aeadWasmDefine(root) {
  return { DIVS_AEAD_WASM: JSON.stringify(readFileSync(join(root, "build/divs-aead.wasm")).toString("base64")) };
}
