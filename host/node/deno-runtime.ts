// `divs up --runtime deno` from the Node CLI: finds a deno binary and becomes it (execve(2)), running
// this same node under Deno (build/divs-deno.mjs) with exactly the permissions
// host/cli/deno-permissions.ts lists. A secret never goes on deno's command line: a `--join` invitation
// moves to its environment (DIVS_TOKEN), and keys and files and standard input are inherited.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defaultControlPath } from "../engine/control.ts";
import { DivsError, ExitCode } from "../base/errors.ts";
import { defaultStateDir } from "../state/state-dir.ts";
import { denoRunFlags } from "../cli/deno-permissions.ts";
import { uiListenPermission } from "../ops/ui.ts";
import { checkJoinArgument, FROM_STDIN, TOKEN_ENV } from "../cli/secrets.ts";
import { looksLikeAddress } from "../secure/token.ts";
import { CONFIG_FILE_FLAG, envNameOf } from "../cli/up-config.ts";
import { execReplacing, MALLOC_ARENAS } from "./exec.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * $DIVS_DENO, else the npm `deno` package's platform binary (found without its postinstall, which npm
 * may not run), else `deno` on PATH.
 */
export function findDeno(): string | null {
  if (process.env.DIVS_DENO) return fs.existsSync(process.env.DIVS_DENO) ? process.env.DIVS_DENO : null;
  const require = createRequire(import.meta.url);
  const pkg = `@deno/${process.platform}-${process.arch}${process.platform === "linux" ? "-glibc" : ""}/package.json`;
  const candidates = [() => require.resolve(pkg), () => createRequire(require.resolve("deno/package.json")).resolve(pkg)];
  for (const resolve of candidates) {
    try {
      const bin = path.join(path.dirname(resolve()), "deno");
      if (fs.existsSync(bin)) return bin;
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

/**
 * The value of `--flag value` or `--flag=value` in rawArgs, or undefined; the last one when the flag is
 * repeated, as the child's parser (citty) takes it, so a permission goes to the path the child uses.
 */
function flagValue(rawArgs: string[], flag: string): string | undefined {
  for (let i = rawArgs.length - 1; i >= 0; i--) {
    if (rawArgs[i] === flag && i + 1 < rawArgs.length) return rawArgs[i + 1];
    if (rawArgs[i].startsWith(`${flag}=`)) return rawArgs[i].slice(flag.length + 1);
  }
  return undefined;
}

/** `--runtime X` of `divs up`, or undefined. */
export function runtimeFlag(rawArgs: string[]): string | undefined {
  return flagValue(rawArgs, "--runtime");
}

/**
 * What the Deno child will take for each option (host/cli/up-config.ts): the flag, else DIVS_<FLAG>,
 * else the config file's key. The file is read leniently: the child reports what is wrong with it.
 */
function optionsOf(rawArgs: string[]): (flag: string) => string | undefined {
  const configFile = flagValue(rawArgs, `--${CONFIG_FILE_FLAG}`) ?? (process.env[envNameOf(CONFIG_FILE_FLAG)] || undefined);
  let file: Record<string, unknown> = {};
  try {
    if (configFile !== undefined) file = JSON.parse(fs.readFileSync(configFile, "utf8"));
  } catch {
    // the child says why
  }
  return (flag) => {
    const value = flagValue(rawArgs, `--${flag}`) ?? (process.env[envNameOf(flag)] || undefined) ?? file?.[flag];
    return flag === CONFIG_FILE_FLAG ? configFile : value === undefined || value === null ? undefined : String(value);
  };
}

/** Drops `--flag value` and `--flag=value` from rawArgs. */
function withoutFlag(rawArgs: string[], flag: string): string[] {
  return rawArgs.filter((a, i) => a !== flag && rawArgs[i - 1] !== flag && !a.startsWith(`${flag}=`));
}

/**
 * The `deno run ...` command line for these `divs up` arguments (without --runtime), and what the child's
 * environment adds to ours: a `--join` token moves there, so no `ps` shows it.
 */
export function denoCommandLine(rawArgs: string[], env: NodeJS.ProcessEnv = process.env): { args: string[]; env: Record<string, string> } {
  const option = optionsOf(rawArgs);
  const tap = option("tap") ?? "divs0";
  const control = option("control") ?? defaultControlPath(tap);
  const readFiles = ["config", "key-file", "metrics-token-file", "ui-token-file", "join-file", CONFIG_FILE_FLAG].map(option)
    .filter((f): f is string => !!f).map((f) => path.resolve(f));
  const stateDir = path.resolve(option("state-dir") ?? defaultStateDir(tap));
  const ui = uiListenPermission(option("ui"));
  const metrics = option("metrics");
  const flags = denoRunFlags("up", { buildDir: here, control, readFiles, stateDir, ui, metrics });
  let args = withoutFlag(rawArgs, "--runtime");
  const join = flagValue(args, "--join");
  const extraEnv: Record<string, string> = {};
  if (join !== undefined && join !== FROM_STDIN && !looksLikeAddress(join)) {
    checkJoinArgument(join);
    if (env[TOKEN_ENV]) throw new DivsError(`--join and ${TOKEN_ENV} both say what to join: use one`, ExitCode.usage);
    extraEnv[TOKEN_ENV] = join;
    args = withoutFlag(args, "--join");
  }
  // The young generation stays at 2 x 1 MB under a packet flood, as on Node (host/node/run-node.ts).
  return { args: ["run", ...flags, "--v8-flags=--semi-space-growth-factor=1", path.join(here, "divs-deno.mjs"), ...args], env: extraEnv };
}

/**
 * Runs `divs up` under Deno in place of this process (execve(2)): deno keeps this pid, gets the signals
 * sent to it (a terminal's Ctrl-C, systemd's SIGTERM) and exits with its own code, and no Node process
 * of ~50 MiB stays behind to wait for it (docs/performance.md "Memory"). Returns only by throwing.
 */
export async function runUnderDeno(rawArgs: string[]): Promise<never> {
  const deno = findDeno();
  if (!deno) {
    throw new DivsError("--runtime deno: no deno binary (npm install deno, put deno on PATH, or set DIVS_DENO)", ExitCode.failure);
  }
  const command = denoCommandLine(rawArgs);
  // Two malloc arenas, unless the user chose otherwise: Deno's threads (the TAP reader, tokio's pools)
  // each kept one of their own, ~10 MB more RSS on a sender under TCP (docs/performance.md "Memory").
  const env = { MALLOC_ARENA_MAX: MALLOC_ARENAS, ...process.env, ...command.env };
  try {
    return await execReplacing(deno, command.args, env);
  } catch (e) {
    throw new DivsError((e as Error).message, ExitCode.failure);
  }
}
