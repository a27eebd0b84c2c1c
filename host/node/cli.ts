// The `divs` entry point for Node (bundled to build/divs.mjs).
import { defineCommand, runCommand, runMain } from "citty";
import { commands, exitState, unknownFlag } from "../common/cli.ts";
import { DivsError, EXIT_CODE_HELP, ExitCode } from "../common/errors.ts";
import { demoCommand } from "./demo.ts";
import { runtimeFlag, runUnderDeno } from "./deno-runtime.ts";
import { nodePlatform } from "./platform.ts";

declare const DIVS_VERSION: string;

const platform = nodePlatform();
const subCommands = { ...commands(platform, DIVS_VERSION), demo: demoCommand(platform) };
const main = defineCommand({
  meta: { name: "divs", version: DIVS_VERSION, description: `DiVS: a distributed virtual switch. ${EXIT_CODE_HELP}` },
  subCommands,
});

process.on("uncaughtException", fail);
process.on("unhandledRejection", fail);

function fail(e: unknown): void {
  if (e instanceof DivsError) {
    console.error(`divs: ${e.message}`);
    process.exit(e.exitCode);
  }
  console.error(`divs: ${(e as Error)?.stack ?? e}`);
  process.exit(ExitCode.failure);
}

const rawArgs = process.argv.slice(2);
const builtin = ["--help", "-h", "--version"];
if (rawArgs.length === 0 || rawArgs.some((a) => builtin.includes(a))) {
  await runMain(main, { rawArgs }); // usage and version texts
} else {
  const bad = unknownFlag(subCommands[rawArgs[0] as keyof typeof subCommands], rawArgs);
  if (bad !== null) fail(new DivsError(`unknown option ${bad} for divs ${rawArgs[0]} (see divs ${rawArgs[0]} --help)`, ExitCode.usage));
  try {
    if (rawArgs[0] === "up" && runtimeFlag(rawArgs) === "deno") exitState.code = await runUnderDeno(rawArgs);
    else await runCommand(main, { rawArgs });
  } catch (e) {
    // citty's own argument errors carry an E_* code: a usage error.
    const code = (e as { code?: unknown }).code;
    if (!(e instanceof DivsError) && typeof code === "string" && code.startsWith("E_")) {
      fail(new DivsError(`${(e as Error).message} (see divs --help)`, ExitCode.usage));
    }
    fail(e);
  }
}
process.exitCode = exitState.code;
