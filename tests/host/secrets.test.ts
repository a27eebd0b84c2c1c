// Where the CLI takes keys and join tokens from (host/cli/secrets.ts, docs/security.md "Keys on the
// command line"): never a key-carrying token on a command line, a child's included; files readable by
// others are used with a warning.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Platform } from "../../host/engine/platform.ts";
import { checkJoinArgument, explicitKey, joinText } from "../../host/cli/secrets.ts";
import { encodeToken } from "../../host/secure/token.ts";
import { denoCommandLine } from "../../host/node/deno-runtime.ts";

const key = new Uint8Array(32).fill(7);
const token = encodeToken([{ host: "198.18.0.1", port: 4790 }], key);
const dir = mkdtempSync(join(tmpdir(), "divs-secrets-"));
after(() => rmSync(dir, { recursive: true }));

/** The parts of a Platform the secrets code uses, over a fixed environment and standard input. */
function fakePlatform(env: Record<string, string> = {}, stdin = ""): { platform: Platform; errors: string[] } {
  const errors: string[] = [];
  const platform = {
    env: (name: string) => env[name],
    readStdin: async () => stdin,
    readTextFile: async (p: string) => readFileSync(p, "utf8"),
    fileMode: async (p: string) => statSync(p).mode & 0o7777,
    printError: (t: string) => errors.push(t),
  } as unknown as Platform;
  return { platform, errors };
}

test("a token carrying the network key is refused on the command line; addresses, - and files are not", () => {
  assert.throws(() => checkJoinArgument(token), /carries the network key: give it with --join-file PATH, DIVS_TOKEN or --join -/);
  for (const ok of ["-", "198.19.0.1:4790", "[2001:db8::1]:4790", "198.19.0.1"]) checkJoinArgument(ok);
});

test("the join token comes from --join-file, DIVS_TOKEN or standard input, from exactly one", async () => {
  const file = join(dir, "token");
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  const quiet = fakePlatform();
  assert.equal(await joinText(quiet.platform, undefined, file), token);
  assert.deepEqual(quiet.errors, [], "a 0600 file: no warning");
  assert.equal(await joinText(fakePlatform({ DIVS_TOKEN: token }).platform, undefined, undefined), token);
  assert.equal(await joinText(fakePlatform({}, ` ${token}\n`).platform, "-", undefined), token);
  assert.equal(await joinText(fakePlatform().platform, undefined, undefined), null, "nothing given: create a switch");
  await assert.rejects(joinText(fakePlatform({ DIVS_TOKEN: token }).platform, undefined, file), /--join-file and DIVS_TOKEN both say what to join/);
  await assert.rejects(joinText(fakePlatform({}, "\n").platform, "-", undefined), /standard input: no join token/);
  await assert.rejects(joinText(fakePlatform().platform, token, undefined), /carries the network key/);
});

test("a key file or token file group or others can read is used, with a warning", async () => {
  const file = join(dir, "divs.key");
  writeFileSync(file, Buffer.from(key).toString("base64url"));
  chmodSync(file, 0o644); // what `divs keygen > file` makes under the usual umask
  const { platform, errors } = fakePlatform();
  assert.deepEqual(await explicitKey(platform, file), key);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /divs\.key holds a secret but is mode 0644: group or others can read it \(chmod 600 /);
  chmodSync(file, 0o600);
  const second = fakePlatform();
  await explicitKey(second.platform, file);
  assert.deepEqual(second.errors, []);
});

test("--runtime deno: a --join token goes to the Deno child's environment, never its argv", () => {
  // An invitation-like token (not key-carrying): an arbitrary base64url string of another version.
  const invitation = Buffer.from([3, 1, 2, 3]).toString("base64url");
  const line = denoCommandLine(["up", "--join", invitation, "--runtime", "deno", "--tap", "dv0"], {});
  assert.ok(!line.args.includes(invitation), line.args.join(" "));
  assert.ok(!line.args.includes("--join"));
  assert.ok(!line.args.includes("--runtime"));
  assert.deepEqual(line.env, { DIVS_TOKEN: invitation });
  assert.ok(line.args.some((a) => a.startsWith("--allow-env=") && (a.includes("DIVS_TOKEN") || a.includes("DIVS_*"))));
  // A host:port stays (it is no secret); a key-carrying token is refused before any child runs.
  assert.deepEqual(denoCommandLine(["up", "--join", "198.19.0.1:4790"], {}).env, {});
  assert.throws(() => denoCommandLine(["up", "--join", token], {}), /carries the network key/);
  assert.throws(() => denoCommandLine(["up", "--join", invitation], { DIVS_TOKEN: "x" }), /both say what to join/);
  const fileLine = denoCommandLine(["up", "--join-file", "/etc/divs/token"], {}).args;
  assert.ok(fileLine.some((a) => a.startsWith("--allow-read=") && a.includes("/etc/divs/token")), "the child may read --join-file");
});

test("--runtime deno: a repeated flag is granted for the value the child takes (the last, as citty), not the first", () => {
  // The chaos bed once passed --state-dir twice: the child was allowed the first and used the second.
  const args = denoCommandLine(["up", "--state-dir", "/var/lib/divs/first", "--tap", "dv0", "--state-dir=/var/lib/divs/second"], {}).args;
  const write = args.find((a) => a.startsWith("--allow-write="));
  assert.ok(write?.includes("/var/lib/divs/second"), write);
  assert.ok(!write?.includes("/var/lib/divs/first"), write);
});
