// Bundles the Node host: host/node/cli.ts -> build/divs.mjs (the `divs` bin). The core stays build/divs-core.wasm, loaded from next to the bundle.
// koffi is a native addon and stays an ordinary dependency (external).
import { build } from "esbuild";
import { readFileSync, chmodSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["koffi"],
  define: { DIVS_VERSION: JSON.stringify(version) },
  // koffi is CommonJS: give the ESM bundle a require() for it.
  banner: { js: "import { createRequire as __divsRequire } from 'node:module'; const require = __divsRequire(import.meta.url);" },
  logLevel: "warning",
};

await build({
  ...common,
  entryPoints: [join(root, "host/node/cli.ts")],
  outfile: join(root, "build/divs.mjs"),
  banner: { js: "#!/usr/bin/env node\n" + common.banner.js },
});
chmodSync(join(root, "build/divs.mjs"), 0o755);

// The Deno host: host/deno/cli.ts -> build/divs-deno.mjs and its TAP reader worker. No koffi (Deno's
// FFI), no require banner; Deno resolves the node:* built-ins citty uses.
const deno = { ...common, external: [], banner: {}, target: "es2022" };
await build({ ...deno, entryPoints: [join(root, "host/deno/cli.ts")], outfile: join(root, "build/divs-deno.mjs") });
await build({ ...deno, entryPoints: [join(root, "host/deno/tap-worker.ts")], outfile: join(root, "build/divs-deno-tap-worker.mjs") });
