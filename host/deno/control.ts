// The control socket (a unix socket, Deno.listen): one request line in, one response line out.
// Same protocol and behaviour as host/node/control.ts.
import { parseResponse } from "../common/control.ts";
import { DivsError, ExitCode } from "../common/errors.ts";
import type { ControlServer } from "../common/platform.ts";

const MAX_REQUEST = 4096;
const REQUEST_TIMEOUT_MS = 5000;

export async function serveControl(socketPath: string, answer: (line: string) => Promise<string>): Promise<ControlServer> {
  Deno.mkdirSync(dirname(socketPath), { recursive: true, mode: 0o755 });
  await removeStaleSocket(socketPath);
  let listener: Deno.UnixListener;
  try {
    listener = Deno.listen({ transport: "unix", path: socketPath });
  } catch (e) {
    throw new DivsError(`control socket ${socketPath}: ${(e as Error).message}`, ExitCode.failure);
  }
  Deno.chmodSync(socketPath, 0o600);
  const serving = (async () => {
    for await (const conn of listener) serveOne(conn, answer);
  })().catch(() => {}); // the listener was closed
  return {
    close: async () => {
      listener.close();
      await serving;
      try {
        Deno.removeSync(socketPath);
      } catch {
        // already gone
      }
    },
  };
}

async function serveOne(conn: Deno.Conn, answer: (line: string) => Promise<string>): Promise<void> {
  const decoder = new TextDecoder();
  const chunk = new Uint8Array(MAX_REQUEST);
  let buffered = "";
  try {
    for (;;) {
      const n = await conn.read(chunk);
      if (n === null) return;
      buffered += decoder.decode(chunk.subarray(0, n), { stream: true });
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        await writeAll(conn, new TextEncoder().encode(await answer(buffered.slice(0, nl))));
        return;
      }
      if (buffered.length > MAX_REQUEST) return;
    }
  } catch {
    // the client went away
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
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

export async function controlRequest(socketPath: string, cmd: string, args?: Record<string, unknown>): Promise<unknown> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: socketPath });
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) throw e; // a missing permission, not a missing node
    const why = e instanceof Deno.errors.NotFound || e instanceof Deno.errors.ConnectionRefused ? "no node is running" : (e as Error).message;
    throw new DivsError(`${why} (control socket ${socketPath})`, ExitCode.notRunning);
  }
  const timer = setTimeout(() => conn.close(), REQUEST_TIMEOUT_MS);
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
