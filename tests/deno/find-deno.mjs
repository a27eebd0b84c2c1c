// Where the deno binary is, for tests: the same search as the Node CLI's `--runtime deno`
// (host/node/deno-runtime.ts): $DIVS_DENO, the npm dev dependency's platform package (its postinstall
// need not have run), then `deno` on PATH. Returns null when there is none.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export function findDeno() {
  if (process.env.DIVS_DENO) return existsSync(process.env.DIVS_DENO) ? process.env.DIVS_DENO : null;
  const require = createRequire(import.meta.url);
  const pkg = `@deno/${process.platform}-${process.arch}${process.platform === "linux" ? "-glibc" : ""}/package.json`;
  for (const resolve of [() => require.resolve(pkg), () => createRequire(require.resolve("deno/package.json")).resolve(pkg)]) {
    try {
      const bin = join(dirname(resolve()), "deno");
      if (existsSync(bin)) return bin;
    } catch {
      // not installed there
    }
  }
  try {
    return execFileSync("sh", ["-c", "command -v deno"], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}
