// The control socket (a unix socket, node:net): one request line in, one response line out.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { parseResponse } from "../common/control.ts";
import { DivsError, ExitCode } from "../common/errors.ts";
import type { ControlServer } from "../common/platform.ts";

const MAX_REQUEST = 4096;
const REQUEST_TIMEOUT_MS = 5000;

/** `answer` may be asynchronous: on Node the data-plane thread answers (host/node/platform.ts). */
export async function serveControl(socketPath: string, answer: (line: string) => Promise<string>): Promise<ControlServer> {
  fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o755 });
  await removeStaleSocket(socketPath);
  const server = net.createServer((conn) => {
    let buffered = "";
    let answered = false;
    conn.setEncoding("utf8");
    conn.on("data", (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        if (!answered) answer(buffered.slice(0, nl)).then((reply) => conn.end(reply));
        answered = true;
      }
      else if (buffered.length > MAX_REQUEST) conn.destroy();
    });
    conn.on("error", () => conn.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => reject(new DivsError(`control socket ${socketPath}: ${e.message}`, ExitCode.failure)));
    server.listen(socketPath, () => resolve());
  });
  fs.chmodSync(socketPath, 0o600);
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

export function controlRequest(socketPath: string, cmd: string, args: Record<string, unknown> = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let reply = "";
    const conn = net.connect(socketPath, () => conn.write(JSON.stringify({ cmd, ...args }) + "\n"));
    conn.setEncoding("utf8");
    conn.setTimeout(REQUEST_TIMEOUT_MS, () => {
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
