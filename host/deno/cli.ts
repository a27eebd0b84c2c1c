// The `divs` entry point for Deno (bundled to build/divs-deno.mjs): the same commands as the Node CLI
// (host/cli/commands.ts) on the Deno Platform. Run it with the flags docs/deno.md lists, for example
//   deno run --allow-ffi --allow-read=... build/divs-deno.mjs up ...
import { defineCommand } from "citty";
import { commands, exitState } from "../cli/commands.ts";
import { runCli } from "../cli/main.ts";
import { DivsError, EXIT_CODE_HELP, ExitCode } from "../base/errors.ts";
import { denoPlatform } from "./platform.ts";
import { DENO_HELP } from "../cli/deno-permissions.ts";

declare const DIVS_VERSION: string;

const platform = denoPlatform();
const subCommands = commands(platform, DIVS_VERSION);
const main = defineCommand({
  meta: { name: "divs", version: DIVS_VERSION, description: `DiVS: a distributed virtual switch (Deno host). ${EXIT_CODE_HELP} ${DENO_HELP}` },
  subCommands,
});

globalThis.addEventListener("error", (e) => {
  e.preventDefault();
  fail(e.error);
});
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  fail(e.reason);
});

/** NO_COLOR, when Deno may read it (without --allow-env citty colours nothing either: CI/TEST unknown). */
function noColorSet(): boolean {
  try {
    return !!Deno.env.get("NO_COLOR");
  } catch {
    return false;
  }
}

function fail(e: unknown): never {
  if (e instanceof DivsError) {
    console.error(`divs: ${e.message}`);
    Deno.exit(e.exitCode);
  }
  if (e instanceof Deno.errors.NotCapable) {
    console.error(`divs: ${(e as Error).message} (see docs/deno.md for the permissions a node needs)`);
    Deno.exit(ExitCode.failure);
  }
  console.error(`divs: ${(e as Error)?.stack ?? e}`);
  Deno.exit(ExitCode.failure);
}

await runCli(main, subCommands, [...Deno.args], fail, !Deno.stdout.isTerminal() || noColorSet());
// The TAP reader worker and the receive loop would keep the process alive: exit with the code.
Deno.exit(exitState.code);
