// Replacing this process by another program (execve(2) through koffi): `divs up --runtime deno` becomes
// deno, and `divs up` on Node starts again with two malloc arenas. Same pid, so signals, the exit code
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
 * Starts this same command again with MALLOC_ARENA_MAX=2 when the variable is not set (glibc reads it
 * at exec only). Without it every thread that allocates (V8's compiler and GC threads, libuv's pool)
 * keeps a malloc arena of its own: ~2 MiB more RSS under load (docs/performance.md "Memory").
 */
export async function withTwoMallocArenas(): Promise<void> {
  if (process.env.MALLOC_ARENA_MAX !== undefined) return;
  await execReplacing(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { ...process.env, MALLOC_ARENA_MAX: "2" });
}
