// koffi's native addon, loaded without koffi's JavaScript loader (node_modules/koffi/index.js): the
// loader also carries koffi's installer, which requires `https`, `tls` and `zlib`, ~1.5 MiB of RSS in
// every node (docs/performance.md "Memory"). The addon has the same API less the deprecated aliases.
import type * as Koffi from "koffi";
import path from "node:path";

/** The prebuilt addons koffi ships, by Node's platform and architecture (koffi's own names). */
function prebuiltDirectories(): string[] {
  const arch = ({ arm: "armhf", riscv64: "riscv64d" } as Record<string, string>)[process.arch] ?? process.arch;
  const names = [`${process.platform}_${arch}`];
  if (process.platform === "linux") names.push(`musl_${arch}`); // glibc's build fails to load on musl
  return names;
}

function loadKoffi(): typeof Koffi {
  // `require`: the CommonJS bundle's own (build/bundle.mjs), or the one tests/run-ts.mjs gives its bundles.
  const packageJson = require.resolve("koffi/package.json");
  const { version } = require(packageJson) as { version: string };
  const failures: string[] = [];
  for (const name of prebuiltDirectories()) {
    const addon = path.join(path.dirname(packageJson), "build", "koffi", name, "koffi.node");
    let native: typeof Koffi & { version: string };
    try {
      native = require(addon);
    } catch (e) {
      failures.push(`${addon}: ${(e as Error).message.split("\n")[0]}`);
      continue;
    }
    if (native.version !== version) throw new Error(`koffi: ${addon} is version ${native.version}, the package ${version}`);
    return native;
  }
  throw new Error(`koffi: no prebuilt addon loads on ${process.platform} ${process.arch}:\n  ${failures.join("\n  ")}`);
}

export const koffi = loadKoffi();
