// The exact `deno run` flags of each command, in one place: the Node CLI's `--runtime deno` builds its
// command line from here, and docs/deno.md and `--help` say the same. No Deno API here, so the Node
// bundle can import it.

export const DENO_HELP =
  "Under Deno: deno run with --allow-ffi (libc for the TAP and the UDP socket, libsodium), " +
  "--allow-read/--allow-write (the core, the control socket), --allow-net=unix:SOCKET (and --ui's and --metrics' HOST:PORT), --allow-run=ip, " +
  "--allow-sys=hostname,networkInterfaces,uid, --allow-env=NO_COLOR,TERM,TEST,CI,DIVS_*,NOTIFY_SOCKET,WATCHDOG_USEC,WATCHDOG_PID; docs/deno.md has the exact lines, or use divs up --runtime deno.";

/** citty reads these when loaded, to decide whether usage texts get colours. */
const CITTY_ENV = "--allow-env=NO_COLOR,TERM,TEST,CI";
/**
 * citty's, plus the network key a node may take from the environment (docs/security.md) and every
 * option's DIVS_<FLAG> variable (host/cli/up-config.ts), and systemd's (host/linux/sd-notify.ts).
 */
const UP_ENV = "--allow-env=NO_COLOR,TERM,TEST,CI,DIVS_*,NOTIFY_SOCKET,WATCHDOG_USEC,WATCHDOG_PID";

export interface DenoRunPaths {
  /** Directory of the bundle: build/ with divs-deno.mjs, its worker and divs-core.wasm. */
  buildDir: string;
  /** Control socket of the node (up) or the node asked (status, members, macs). */
  control: string;
  /** `up`'s state directory (read and written). */
  stateDir?: string;
  /** Files `up` reads (--config, a key file, --ui-token-file). */
  readFiles?: string[];
  /** `up --ui`: the status page's host:port (docs/ui.md), served with node:http, which asks net for it. */
  ui?: string;
  /** `up --metrics`: the host:port it listens on. */
  metrics?: string;
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}

/** `deno run` flags for `divs <command>` (everything before the script path); `version`, `keygen` need none. */
export function denoRunFlags(command: string, paths: DenoRunPaths): string[] {
  const code = [`${paths.buildDir}/divs-core.wasm`, `${paths.buildDir}/divs-deno-tap-worker.mjs`];
  if (command !== "up") {
    // status, members, macs, key: connect to the node's unix socket (Deno asks read, write and net for
    // it); `key install` may read a key file or DIVS_KEY; keygen needs none of it.
    const socket = paths.control;
    const read = [socket, ...(paths.readFiles ?? [])].join(",");
    return ["--no-prompt", UP_ENV, `--allow-read=${read}`, `--allow-write=${socket}`, `--allow-net=unix:${socket}`];
  }
  const dir = dirOf(paths.control);
  const state = paths.stateDir ? [paths.stateDir] : [];
  return [
    "--no-prompt",
    "--allow-ffi", // libc (TAP: open, ioctl, read, write; UDP: socket, setsockopt, bind, sendmmsg, recvmmsg; poll), libsodium
    `--allow-read=${[...code, dir, ...state, ...(paths.readFiles ?? [])].join(",")}`,
    `--allow-write=${[dir, ...state].join(",")}`, // mkdir, the socket, chmod 0600, removal at exit; the state directory
    // the control socket, the status page and --metrics (the underlay socket is FFI: no net permission)
    `--allow-net=${[`unix:${paths.control}`, ...(paths.ui ? [paths.ui] : []), ...(paths.metrics ? [paths.metrics] : [])].join(",")}`,
    "--allow-run=ip", // address, MTU and link state of the TAP
    "--allow-sys=hostname,networkInterfaces,uid",
    UP_ENV,
  ];
}
