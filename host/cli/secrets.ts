// Where the CLI takes secrets from (docs/security.md "Keys on the command line"): a network key from
// --key-file or DIVS_KEY, a join token from --join-file, DIVS_TOKEN or standard input (`--join -`).
// Never from a command-line argument that carries the network key: `ps`, shell history and sudo's log
// keep those. A file group or others can read is used, with a warning.
import { usageError } from "../base/errors.ts";
import type { Platform } from "../engine/platform.ts";
import { parseKey } from "../secure/index.ts";
import { carriesKey, looksLikeAddress } from "../secure/token.ts";

/** The environment variable a network key may come from. */
export const KEY_ENV = "DIVS_KEY";
/** The environment variable a join token (or invitation) may come from. */
export const TOKEN_ENV = "DIVS_TOKEN";
/** `--join -`: the token comes from standard input. */
export const FROM_STDIN = "-";
/** Permission bits of group and others: a secret file with any of them set is readable by more than its owner. */
const GROUP_OTHER_BITS = 0o077;

/** Reads a file holding a secret; warns when the owner is not the only one who can read it. */
export async function readSecretFile(platform: Platform, path: string): Promise<string> {
  const text = await platform.readTextFile(path);
  const mode = await platform.fileMode(path);
  if ((mode & GROUP_OTHER_BITS) !== 0) {
    platform.printError(`divs: warning: ${path} holds a secret but is mode ${(mode & 0o777).toString(8).padStart(4, "0")}: ` +
      `group or others can read it (chmod 600 ${path})`);
  }
  return text;
}

/** The key from --key-file or DIVS_KEY, or null when neither is given. */
export async function explicitKey(platform: Platform, keyFile: string | undefined): Promise<Uint8Array | null> {
  const env = platform.env(KEY_ENV);
  if (keyFile !== undefined && env) throw usageError(`both --key-file and ${KEY_ENV} give a network key: use one`);
  if (keyFile !== undefined) return keyFrom(keyFile, await readSecretFile(platform, keyFile));
  return env ? keyFrom(KEY_ENV, env) : null;
}

export function keyFrom(source: string, text: string): Uint8Array {
  try {
    return parseKey(text);
  } catch (e) {
    throw usageError(`${source}: ${(e as Error).message}`);
  }
}

/**
 * A `--join` argument may be `-`, a host:port or an invitation (single use, short-lived); never a token
 * that carries the network key. Throws a usage error naming the safe ways.
 */
export function checkJoinArgument(text: string): void {
  if (text === FROM_STDIN || looksLikeAddress(text) || !carriesKey(text)) return;
  throw usageError(`this join token carries the network key: give it with --join-file PATH, ${TOKEN_ENV} or ` +
    `--join - (standard input), never on the command line (ps and shell history show it); or join with a ` +
    `single-use invitation (divs invite)`);
}

/** What to join through, as text (a token, an invitation or host:port), from exactly one source; null: create a switch. */
export async function joinText(platform: Platform, join: string | undefined, joinFile: string | undefined): Promise<string | null> {
  const env = platform.env(TOKEN_ENV);
  const given = [join !== undefined && "--join", joinFile !== undefined && "--join-file", env && TOKEN_ENV].filter(Boolean);
  if (given.length > 1) throw usageError(`${given.join(" and ")} both say what to join: use one`);
  if (join !== undefined) {
    checkJoinArgument(join);
    return join === FROM_STDIN ? nonEmpty("standard input", await platform.readStdin()) : join;
  }
  if (joinFile !== undefined) return nonEmpty(joinFile, await readSecretFile(platform, joinFile));
  return env ? nonEmpty(TOKEN_ENV, env) : null;
}

function nonEmpty(source: string, text: string): string {
  const t = text.trim();
  if (t === "") throw usageError(`${source}: no join token`);
  return t;
}
