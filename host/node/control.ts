// The control socket (a unix socket, node:net): one request line in, one response line out. Only root
// and the node's user get in (host/linux/control-access.ts).
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import {
  CONTROL_DIR_MODE, CONTROL_UMASK, isDefaultControlDir, peerAllowed, peerUid, refusal, SO_PEERCRED, SOL_SOCKET, UCRED_LEN,
} from "../linux/control-access.ts";
import { parseResponse } from "../engine/control.ts";
import { DivsError, ExitCode } from "../base/errors.ts";
import type { ControlServer } from "../engine/platform.ts";

const MAX_REQUEST = 4096;
const REQUEST_TIMEOUT_MS = 5000;

/** The uid of a connection's peer (SO_PEERCRED on its descriptor), or null when it cannot be read. */
async function connectionUid(conn: net.Socket): Promise<number | null> {
  const fd = (conn as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0) return null;
  const { getsockopt } = await import("./libc.ts"); // koffi: loaded on this thread only once a peer connects
  const ucred = new Uint8Array(UCRED_LEN);
  const len = new Uint32Array([UCRED_LEN]);
  return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ucred, len) === 0 ? peerUid(ucred) : null;
}

/** `answer` may be asynchronous: a ping waits for its pong, answered on the node's thread (host/node/run-node.ts). */
export async function serveControl(socketPath: string, answer: (line: string) => Promise<string>): Promise<ControlServer> {
  const dir = path.dirname(socketPath);
  fs.mkdirSync(dir, { recursive: true, mode: CONTROL_DIR_MODE });
  if (isDefaultControlDir(dir)) fs.chmodSync(dir, CONTROL_DIR_MODE);
  await removeStaleSocket(socketPath);
  const ownUid = process.getuid!();
  const server = net.createServer((conn) => {
    const uid = connectionUid(conn);
    let buffered = "";
    let answered = false;
    conn.setEncoding("utf8");
    conn.on("data", (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        // The request is read before a refusal, so the client reads it rather than a reset.
        const line = buffered.slice(0, nl);
        if (!answered) {
          uid.then((u) => (u !== null && peerAllowed(u, ownUid) ? answer(line) : refusal(u ?? -1))).then((reply) => conn.end(reply));
        }
        answered = true;
      }
      else if (buffered.length > MAX_REQUEST) conn.destroy();
    });
    conn.on("error", () => conn.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => reject(new DivsError(`control socket ${socketPath}: ${e.message}`, ExitCode.failure)));
    // The socket file is made by bind(2) inside listen(): under this umask it is 0600 from birth.
    const umask = process.umask(CONTROL_UMASK);
    try {
      server.listen(socketPath, () => resolve());
    } finally {
      process.umask(umask);
    }
  });
  return {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A socket file nobody answers on is left from a killed node; one that answers means a node runs. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  if (!fs.existsSync(socketPath)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(socketPath, () => {
      c.destroy();
      resolve(true);
    });
    c.on("error", () => resolve(false));
  });
  if (alive) throw new DivsError(`a node already runs with control socket ${socketPath}`, ExitCode.failure);
  fs.unlinkSync(socketPath);
}

export function controlRequest(socketPath: string, cmd: string, args: Record<string, unknown> = {}, timeoutMs = REQUEST_TIMEOUT_MS): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let reply = "";
    const conn = net.connect(socketPath, () => conn.write(JSON.stringify({ cmd, ...args }) + "\n"));
    conn.setEncoding("utf8");
    conn.setTimeout(timeoutMs, () => {
      conn.destroy();
      reject(new DivsError(`no answer on ${socketPath}`, ExitCode.notRunning));
    });
    conn.on("data", (chunk: string) => (reply += chunk));
    conn.on("error", (e: NodeJS.ErrnoException) => {
      const why = e.code === "ENOENT" || e.code === "ECONNREFUSED" ? "no node is running" : e.message;
      reject(new DivsError(`${why} (control socket ${socketPath})`, ExitCode.notRunning));
    });
    conn.on("end", () => {
      try {
        resolve(parseResponse(reply));
      } catch (e) {
        reject(new DivsError(`node answered: ${(e as Error).message}`, ExitCode.failure));
      }
    });
  });
}
