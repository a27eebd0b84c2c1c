// Runs TypeScript tests or benchmarks on Node 20: bundles each entry with esbuild into a temporary
// directory, then runs the bundles with `node --test` (or plain `node` with --bench).
//   node tests/secure/run.mjs                      all tests/secure/*.test.ts
//   node tests/secure/run.mjs --bench tests/bench/secure.ts
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";

const args = process.argv.slice(2);
const bench = args[0] === "--bench";
const files = bench ? args.slice(1) : args;
const here = new URL(".", import.meta.url).pathname;
const entries = files.length > 0
  ? files.map((f) => resolve(f))
  : readdirSync(here).filter((f) => f.endsWith(".test.ts")).sort().map((f) => join(here, f));

const outdir = mkdtempSync(join(tmpdir(), "divs-secure-"));
try {
  const outputs = [];
  for (const entry of entries) {
    const outfile = join(outdir, basename(entry).replace(/\.ts$/, ".mjs"));
    await build({ entryPoints: [entry], outfile, bundle: true, platform: "node", format: "esm", target: "node20", logLevel: "warning",
      // tweetnacl is CommonJS and requires node:crypto: give the ESM bundle a require().
      banner: { js: "import { createRequire as __divsRequire } from 'node:module'; const require = __divsRequire(import.meta.url);" } });
    outputs.push(outfile);
  }
  const cmd = bench ? outputs.flatMap((o) => [o]) : ["--test", ...outputs];
  if (bench && outputs.length !== 1) throw new Error("--bench takes exactly one file");
  const r = spawnSync(process.execPath, cmd, { stdio: "inherit" });
  process.exitCode = r.status ?? 1;
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
