// The `divs` entry point for Node (bundled to build/divs.cjs).
import { defineCommand, runCommand } from "citty";
import { commands, exitState } from "../cli/commands.ts";
import { runCli } from "../cli/main.ts";
import { DivsError, EXIT_CODE_HELP, ExitCode } from "../base/errors.ts";
import { demoCommand } from "./demo.ts";
import { runtimeFlag, runUnderDeno } from "./deno-runtime.ts";
import { withNodeSettings } from "./exec.ts";
import { nodePlatform } from "./platform.ts";
import { serviceCommand } from "./service.ts";

declare const DIVS_VERSION: string;

const platform = nodePlatform();
const subCommands = { ...commands(platform, DIVS_VERSION), demo: demoCommand(platform), service: serviceCommand(platform, DIVS_VERSION) };
const main = defineCommand({
  meta: { name: "divs", version: DIVS_VERSION, description: `DiVS: a distributed virtual switch. ${EXIT_CODE_HELP}` },
  subCommands,
});

process.on("uncaughtException", fail);
process.on("unhandledRejection", fail);

function fail(e: unknown): never {
  if (e instanceof DivsError) {
    console.error(`divs: ${e.message}`);
    process.exit(e.exitCode);
  }
  console.error(`divs: ${(e as Error)?.stack ?? e}`);
  process.exit(ExitCode.failure);
}

const rawArgs = process.argv.slice(2);
const plain = !process.stdout.isTTY || !!process.env.NO_COLOR;
runCli(main, subCommands, rawArgs, fail, plain, async () => {
  if (rawArgs[0] === "up" && runtimeFlag(rawArgs) === "deno") await runUnderDeno(rawArgs);
  if (rawArgs[0] === "up") await withNodeSettings(); // before `up` reads anything (a token on stdin)
  await runCommand(main, { rawArgs });
}).then(() => {
  process.exitCode = exitState.code;
}, fail);
