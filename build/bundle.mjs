// Bundles the Node host: host/node/cli.ts -> build/divs.cjs (the `divs` bin). The core stays build/divs-core.wasm, loaded from next to the bundle.
import { build } from "esbuild";
import { readFileSync, chmodSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { aeadWasmDefine } from "./aead-wasm.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

const common = {
  bundle: true,
  platform: "node",
  define: { DIVS_VERSION: JSON.stringify(version), ...aeadWasmDefine(root) },
  logLevel: "warning",
};

// CommonJS, not ESM: Node's ESM loader (~25 built-in modules) stays unloaded, and a built-in module
// one file imports is required when that file is first used, not at start (`divs up` loads its node
// lazily, and with it the modules only the node needs). The sources' import.meta.url is the bundle's.
await build({
  ...common,
  format: "cjs",
  target: "node20",
  external: ["koffi"], // a native addon, found in node_modules by host/node/koffi.ts
  entryPoints: [join(root, "host/node/cli.ts")],
  outfile: join(root, "build/divs.cjs"),
  define: { ...common.define, "import.meta.url": "__divsBundleUrl" },
  banner: { js: "#!/usr/bin/env node\nconst __divsBundleUrl = require(\"node:url\").pathToFileURL(__filename).href;" },
});
chmodSync(join(root, "build/divs.cjs"), 0o755);

// The Deno host: host/deno/cli.ts -> build/divs-deno.mjs and its TAP reader worker. Deno's FFI, no
// koffi; Deno resolves the node:* built-ins citty uses.
const deno = { ...common, format: "esm", target: "es2022" };
await build({ ...deno, entryPoints: [join(root, "host/deno/cli.ts")], outfile: join(root, "build/divs-deno.mjs") });
await build({ ...deno, entryPoints: [join(root, "host/deno/tap-worker.ts")], outfile: join(root, "build/divs-deno-tap-worker.mjs") });
