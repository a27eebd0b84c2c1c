// Replacing this process by another program (execve(2) through koffi): `divs up --runtime deno` becomes
// deno, and `divs up` on Node starts again with the settings a node wants at exec. Same pid, so signals, the exit code
// and systemd's main pid stay right, and no parent stays behind.
import { getSystemErrorName } from "node:util";

const F_SETFD = 2;

/** Runs `path` with `args` (argv[1...]) and `env` in place of this process; returns only by throwing. */
export async function execReplacing(path: string, args: string[], env: NodeJS.ProcessEnv): Promise<never> {
  const libc = await import("./libc.ts"); // koffi: loaded by the commands that exec only
  // Node marks standard input, output and error close-on-exec: the new program must inherit them.
  for (const fd of [0, 1, 2]) libc.fcntl(fd, F_SETFD, "int", 0);
  const envp = Object.entries(env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  libc.execve(path, [path, ...args, null], [...envp, null]);
  throw new Error(`cannot run ${path}: ${getSystemErrorName(-libc.errno())}`);
}

/**
 * What a node wants of Node that can only be given when it starts (docs/performance.md "Memory", each
 * measured alone under load): glibc reads MALLOC_ARENA_MAX at exec only, and without it every thread
 * that allocates (V8's compiler and GC threads, libuv's pool) keeps an arena of its own (~2 MiB);
 * one V8 worker thread, not four, compiles and sweeps in the background with fewer arenas and zones at
 * once (~1 MiB); without short builtin calls V8 does not map its builtins a second time next to its
 * code (~0.9 MiB of the executable's pages).
 */
const NODE_FLAGS = ["--v8-pool-size=1", "--no-short-builtin-calls"];
/** malloc arenas for a node's process, Node's or deno's (the user's MALLOC_ARENA_MAX wins). */
export const MALLOC_ARENAS = "2";

/** Starts this same command again with those settings, unless MALLOC_ARENA_MAX is set (the user's, or ours). */
export async function withNodeSettings(): Promise<void> {
  if (process.env.MALLOC_ARENA_MAX !== undefined) return;
  await execReplacing(process.execPath, [...process.execArgv, ...NODE_FLAGS, ...process.argv.slice(1)], { ...process.env, MALLOC_ARENA_MAX: MALLOC_ARENAS });
}
