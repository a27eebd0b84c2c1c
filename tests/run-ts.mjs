// Runs TypeScript tests or benchmarks on Node 20: bundles each entry with esbuild into a temporary
// directory, then runs the bundles with `node --test` (or plain `node` with --bench).
//   node tests/run-ts.mjs tests/secure                      every *.test.ts in a directory
//   node tests/run-ts.mjs tests/host/udp.test.ts            the given files
//   node tests/run-ts.mjs --bench tests/bench/secure.ts     one benchmark
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { aeadWasmDefine } from "../build/aead-wasm.mjs";

const root = resolve(new URL("..", import.meta.url).pathname);
const args = process.argv.slice(2);
const bench = args[0] === "--bench";
const paths = bench ? args.slice(1) : args;
if (paths.length === 0) throw new Error("usage: run-ts.mjs [--bench] DIR|FILE...");
const entries = paths.map((p) => resolve(p)).flatMap((p) => statSync(p).isDirectory()
  ? readdirSync(p).filter((f) => f.endsWith(".test.ts")).sort().map((f) => join(p, f))
  : [p]);
if (bench && entries.length !== 1) throw new Error("--bench takes exactly one file");

/**
 * koffi is a native CommonJS addon: it cannot be bundled, and an ESM `import` of it would resolve from
 * the temporary directory. Turn the import into a require() from the project root instead.
 */
const koffiFromRoot = {
  name: "koffi-from-root",
  setup(b) {
    b.onResolve({ filter: /^koffi$/ }, (a) => a.namespace === "koffi-from-root"
      ? { path: a.path, external: true }
      : { path: a.path, namespace: "koffi-from-root" });
    b.onLoad({ filter: /.*/, namespace: "koffi-from-root" }, () => ({ contents: 'module.exports = require("koffi");' }));
  },
};
// The bundles' require() (tweetnacl asks for node:crypto, koffi as above) resolves from the project.
const requireBanner = "import { createRequire as __divsRequire } from 'node:module'; " +
  `const require = __divsRequire(${JSON.stringify(join(root, "package.json"))});`;

const outdir = mkdtempSync(join(tmpdir(), "divs-ts-"));
try {
  const outputs = [];
  for (const entry of entries) {
    const outfile = join(outdir, relative(root, entry).replaceAll("/", "_").replace(/\.ts$/, ".mjs"));
    await build({ entryPoints: [entry], outfile, bundle: true, platform: "node", format: "esm", target: "node20", logLevel: "warning",
      plugins: [koffiFromRoot], banner: { js: requireBanner }, define: aeadWasmDefine(root) });
    outputs.push(outfile);
  }
  const r = spawnSync(process.execPath, bench ? outputs : ["--test", ...outputs], { stdio: "inherit" });
  process.exitCode = r.status ?? 1;
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
