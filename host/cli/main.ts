// One CLI invocation, the same on every runtime: citty's usage and version texts, our check for
// unknown flags (citty accepts them silently), then the command; citty's own argument errors become
// usage errors. The runtime passes its `fail` (print, exit with the error's code).
import { type CommandDef, renderUsage, runCommand, runMain } from "citty";
import { unknownFlag } from "./commands.ts";
import { DivsError, ExitCode } from "../base/errors.ts";

const BUILTIN_FLAGS = ["--help", "-h", "--version"];

export async function runCli(
  // deno-lint-ignore no-explicit-any
  main: CommandDef<any>,
  // deno-lint-ignore no-explicit-any
  subCommands: Record<string, CommandDef<any>>,
  rawArgs: string[],
  fail: (e: unknown) => never,
  /** Usage texts without ANSI colour (not a terminal, or NO_COLOR set): citty colours them unless CI or TEST is set. */
  plain: boolean,
  run: () => Promise<unknown> = () => runCommand(main, { rawArgs }),
): Promise<void> {
  if (rawArgs.length === 0 || rawArgs.some((a) => BUILTIN_FLAGS.includes(a))) {
    await runMain(main, {
      rawArgs,
      // deno-lint-ignore no-explicit-any
      showUsage: async (cmd: CommandDef<any>, parent?: CommandDef<any>) => {
        const text = await renderUsage(cmd, parent);
        console.log((plain ? withoutAnsi(text) : text) + "\n");
      },
    });
    return;
  }
  const bad = unknownFlag(subCommands[rawArgs[0]], rawArgs);
  if (bad !== null) fail(new DivsError(`unknown option ${bad} for divs ${rawArgs[0]} (see divs ${rawArgs[0]} --help)`, ExitCode.usage));
  try {
    await run();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (!(e instanceof DivsError) && typeof code === "string" && code.startsWith("E_")) {
      fail(new DivsError(`${(e as Error).message} (see divs --help)`, ExitCode.usage));
    }
    fail(e);
  }
}

/** Drops ANSI escape sequences (SGR colours and the like). */
export function withoutAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, "");
}
