// The control socket (a unix socket on libc; the client side on Deno.connect): one request line in, one
// response line out. Same protocol and behaviour as host/node/control.ts, peer check included.
import {
  checkSocketPath, CONTROL_DIR_MODE, CONTROL_UMASK, isDefaultControlDir, peerAllowed, peerUid, refusal, SO_PEERCRED, SOL_SOCKET, UCRED_LEN,
} from "../linux/control-access.ts";
import { parseResponse } from "../engine/control.ts";
import { POLLIN } from "../linux/tap.ts";
import * as c from "./libc.ts";
import { DivsError, ExitCode } from "../base/errors.ts";
import type { ControlServer } from "../engine/platform.ts";

const MAX_REQUEST = 4096;
const REQUEST_TIMEOUT_MS = 5000;
const AF_UNIX = 1;
const SOCK_STREAM = 1;
/** SOCK_NONBLOCK | SOCK_CLOEXEC: never block the main thread; not inherited by `ip`. */
const SOCK_FLAGS = 0o4000 | 0o2000000;
const SOCKADDR_UN_LEN = 110;
const BACKLOG = 16;
const POLLOUT = 4;
const EAGAIN = 11;
/** How long one poll waits before it looks at `closed` again (closing does not wake a poll). */
const POLL_MS = 200;

/** One control socket on libc: Deno.listen gives no descriptor to ask SO_PEERCRED about. */
export async function serveControl(socketPath: string, answer: (line: string) => Promise<string>): Promise<ControlServer> {
  checkSocketPath(socketPath);
  const dir = dirname(socketPath);
  Deno.mkdirSync(dir, { recursive: true, mode: CONTROL_DIR_MODE });
  if (isDefaultControlDir(dir)) Deno.chmodSync(dir, CONTROL_DIR_MODE);
  await removeStaleSocket(socketPath);
  const fd = listenUnix(socketPath);
  const ownUid = Deno.uid() ?? -1;
  let closed = false;
  const serving = (async () => {
    const pollfd = new Int32Array([fd, POLLIN]);
    while (!closed) {
      pollfd[1] = POLLIN;
      if ((await c.libc().pollAsync(new Uint8Array(pollfd.buffer), 1n, POLL_MS)) <= 0 || closed) continue;
      for (let conn = c.libc().accept4(fd, null, null, SOCK_FLAGS); conn >= 0; conn = c.libc().accept4(fd, null, null, SOCK_FLAGS)) {
        void serveOne(conn, ownUid, answer);
      }
    }
  })();
  return {
    close: async () => {
      closed = true;
      await serving;
      c.libc().close(fd);
      try {
        Deno.removeSync(socketPath);
      } catch {
        // already gone
      }
    },
  };
}

/** A listening unix socket at `socketPath`, made under umask 0177 (mode 0600 from birth). */
function listenUnix(socketPath: string): number {
  const fail = (what: string) => new DivsError(`control socket ${socketPath}: ${what} failed (errno ${c.errno()})`, ExitCode.failure);
  const fd = c.libc().socket(AF_UNIX, SOCK_STREAM | SOCK_FLAGS, 0);
  if (fd < 0) throw fail("socket");
  const path = new TextEncoder().encode(socketPath);
  const sockaddr = new Uint8Array(SOCKADDR_UN_LEN); // sa_family_t sun_family; char sun_path[108]
  new DataView(sockaddr.buffer).setUint16(0, AF_UNIX, true);
  sockaddr.set(path, 2);
  const umask = c.libc().umask(CONTROL_UMASK);
  const bound = c.libc().bind(fd, sockaddr, 2 + path.length + 1);
  c.libc().umask(umask);
  if (bound < 0 || c.libc().listen(fd, BACKLOG) < 0) {
    const error = fail(bound < 0 ? "bind" : "listen");
    c.libc().close(fd);
    throw error;
  }
  return fd;
}

/** Waits until `fd` is ready for `events` or `deadline` (ms, performance.now()) passes; false on timeout. */
async function ready(fd: number, events: number, deadline: number): Promise<boolean> {
  const pollfd = new Int32Array([fd, events]);
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) return false;
    if ((await c.libc().pollAsync(new Uint8Array(pollfd.buffer), 1n, Math.min(POLL_MS, Math.ceil(left)))) > 0) return true;
  }
}

/** Checks the peer, reads one request line, writes the answer, closes. */
async function serveOne(fd: number, ownUid: number, answer: (line: string) => Promise<string>): Promise<void> {
  const deadline = performance.now() + REQUEST_TIMEOUT_MS;
  try {
    const ucred = new Uint8Array(UCRED_LEN);
    const len = new Uint32Array([UCRED_LEN]);
    const uid = c.libc().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ucred, new Uint8Array(len.buffer)) === 0 ? peerUid(ucred) : -1;
    const chunk = new Uint8Array(MAX_REQUEST);
    const decoder = new TextDecoder();
    let buffered = "";
    while (buffered.length <= MAX_REQUEST && await ready(fd, POLLIN, deadline)) {
      const n = Number(c.libc().read(fd, chunk, BigInt(chunk.length)));
      if (n < 0 && c.errno() === EAGAIN) continue;
      if (n <= 0) return;
      buffered += decoder.decode(chunk.subarray(0, n), { stream: true });
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        // Checked once the request is read, so a refused client reads the refusal rather than a reset.
        const reply = peerAllowed(uid, ownUid) ? await answer(buffered.slice(0, nl)) : refusal(uid);
        await writeFd(fd, new TextEncoder().encode(reply), deadline);
        return;
      }
    }
  } finally {
    c.libc().close(fd);
  }
}

async function writeFd(fd: number, bytes: Uint8Array<ArrayBuffer>, deadline: number): Promise<void> {
  for (let off = 0; off < bytes.length;) {
    const n = Number(c.libc().write(fd, bytes.subarray(off), BigInt(bytes.length - off)));
    if (n > 0) off += n;
    else if (n < 0 && c.errno() === EAGAIN && await ready(fd, POLLOUT, deadline)) continue;
    else return; // the client went away or is too slow
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** A socket file nobody answers on is left from a killed node; one that answers means a node runs. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  try {
    Deno.lstatSync(socketPath);
  } catch {
    return; // no file
  }
  let alive = false;
  try {
    (await Deno.connect({ transport: "unix", path: socketPath })).close();
    alive = true;
  } catch {
    // nobody listens
  }
  if (alive) throw new DivsError(`a node already runs with control socket ${socketPath}`, ExitCode.failure);
  Deno.removeSync(socketPath);
}

export async function controlRequest(socketPath: string, cmd: string, args?: Record<string, unknown>, timeoutMs = REQUEST_TIMEOUT_MS): Promise<unknown> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: socketPath });
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) throw e; // a missing permission, not a missing node
    const why = e instanceof Deno.errors.NotFound || e instanceof Deno.errors.ConnectionRefused ? "no node is running" : (e as Error).message;
    throw new DivsError(`${why} (control socket ${socketPath})`, ExitCode.notRunning);
  }
  const timer = setTimeout(() => conn.close(), timeoutMs);
  let reply = "";
  try {
    await writeAll(conn, new TextEncoder().encode(JSON.stringify({ cmd, ...args }) + "\n"));
    const decoder = new TextDecoder();
    const chunk = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await conn.read(chunk);
      if (n === null) break;
      reply += decoder.decode(chunk.subarray(0, n), { stream: true });
    }
  } catch {
    throw new DivsError(`no answer on ${socketPath}`, ExitCode.notRunning);
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timeout
    }
  }
  try {
    return parseResponse(reply);
  } catch (e) {
    throw new DivsError(`node answered: ${(e as Error).message}`, ExitCode.failure);
  }
}

function dirname(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}
