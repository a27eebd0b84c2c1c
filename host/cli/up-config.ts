// Where `divs up` takes each option from, in this order: its flag, the environment variable
// DIVS_<FLAG> (`--log-level` -> DIVS_LOG_LEVEL), the JSON file of `--config-file PATH`
// ({"tap": "divs0", "log-level": "warn", "core": {...core keys...}}), then the flag's default.
// Generic over the command's flags: a new flag is a new key of the file and a new variable, unedited.
import type { ArgsDef } from "citty";
import { type CoreConfig, coreConfigOf } from "../core/config.ts";
import { usageError } from "../base/errors.ts";

export const CONFIG_FILE_FLAG = "config-file";
/** The config file's object of core config keys (docs/config.md), what `--config FILE` holds. */
export const CORE_SECTION = "core";
/**
 * Options only a flag gives: the runtime picks the program that reads the file (the Node CLI hands
 * `--runtime deno` over before anything is parsed). `config-file` may come from the environment.
 */
const FLAG_ONLY = ["runtime", CONFIG_FILE_FLAG];

export interface ConfigFile {
  /** Option values by flag name, as a flag would give them. */
  options: Record<string, string | boolean>;
  core: CoreConfig;
}

export function envNameOf(flag: string): string {
  return `DIVS_${flag.toUpperCase().replaceAll("-", "_")}`;
}

/** The flag names given on the command line (`--tap x`, `--tap=x`, `--no-x`), after the command. */
export function givenFlags(rawArgs: string[]): Set<string> {
  return new Set(rawArgs.filter((a) => a.startsWith("-")).map((a) => a.replace(/^--?(no-)?/, "").split("=")[0]));
}

/** A config file's text; every key must be one of `defs` (or "core"), with the flag's type. */
export function parseConfigFile(text: string, source: string, defs: ArgsDef): ConfigFile {
  const bad = (why: string) => usageError(`bad config file ${source}: ${why}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw bad("expected a JSON object of divs up options");
  const file: ConfigFile = { options: {}, core: new Map() };
  for (const [key, value] of Object.entries(json)) {
    if (key === CORE_SECTION) {
      file.core = coreConfigOf(value, `${source} ("${CORE_SECTION}")`);
      continue;
    }
    const def = Object.hasOwn(defs, key) ? defs[key] : undefined;
    if (def === undefined || def.type === "positional") {
      throw bad(`unknown key "${key}" (known: ${[...optionNames(defs), CORE_SECTION].join(", ")})`);
    }
    if (FLAG_ONLY.includes(key)) throw bad(`"${key}" is given on the command line only`);
    if (def.type === "boolean") {
      if (typeof value !== "boolean") throw bad(`"${key}" must be true or false`);
      file.options[key] = value;
    } else if (typeof value === "string" || (typeof value === "number" && Number.isFinite(value))) {
      file.options[key] = String(value);
    } else {
      throw bad(`"${key}" must be a string or a number`);
    }
  }
  return file;
}

function optionNames(defs: ArgsDef): string[] {
  return Object.entries(defs).filter(([k, d]) => d.type !== "positional" && !FLAG_ONLY.includes(k)).map(([k]) => k);
}

function envValue(flag: string, type: string | undefined, env: (name: string) => string | undefined): string | boolean | undefined {
  const name = envNameOf(flag);
  const text = env(name);
  if (text === undefined || text === "") return undefined;
  if (type !== "boolean") return text;
  if (/^(1|true|yes|on)$/i.test(text)) return true;
  if (/^(0|false|no|off)$/i.test(text)) return false;
  throw usageError(`bad ${name} "${text}": expected true or false`);
}

/**
 * The options with every source applied: `args` (citty's, defaults filled in) keeps what
 * `rawArgs` gave; the rest comes from the environment, else `file`, else stays the default.
 */
export function resolveOptions<T extends Record<string, unknown>>(
  defs: ArgsDef, args: T, rawArgs: string[], env: (name: string) => string | undefined, file: ConfigFile | null,
): T {
  const given = givenFlags(rawArgs);
  const out: Record<string, unknown> = { ...args };
  for (const [flag, def] of Object.entries(defs)) {
    if (def.type === "positional" || given.has(flag) || flag === "runtime") continue;
    const value = envValue(flag, def.type, env) ?? file?.options[flag];
    if (value !== undefined) out[flag] = value;
  }
  return out as T;
}

/** The config file's path: the flag, else its environment variable. */
export function configFilePath(args: Record<string, unknown>, rawArgs: string[], env: (name: string) => string | undefined): string | undefined {
  if (givenFlags(rawArgs).has(CONFIG_FILE_FLAG)) return args[CONFIG_FILE_FLAG] as string;
  return env(envNameOf(CONFIG_FILE_FLAG)) || undefined;
}
