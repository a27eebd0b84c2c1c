// The Platform for Node. `divs up` runs the node on a data-plane thread (host/node/dataplane.ts);
// this, the main thread, serves the control socket (and --metrics) and relays signals to it (docs/host.md "Threads and batching").
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MessageChannel, Worker } from "node:worker_threads";
import { DivsError, ExitCode } from "../common/errors.ts";
import type { ControlServer, Platform } from "../common/platform.ts";
import type { UpOptions } from "../common/up-options.ts";
import { serveControl, controlRequest } from "./control.ts";
import { nodeCrypto } from "../common/secure/node-crypto.ts";
import { bundleDir, checkPrivileges, processStats } from "./system.ts";
import { withMetrics } from "../common/metrics.ts";
import type { Timers } from "../common/runtime.ts";

const mainThreadTimers: Timers = { set: (cb, ms) => setTimeout(cb, ms), clear: (h) => clearTimeout(h as NodeJS.Timeout) };
import type { DataplaneData, FromDataplane, ToDataplane } from "./thread-messages.ts";

export function nodePlatform(): Platform {
  return {
    runtime: `node ${process.version}`,
    crypto: nodeCrypto,
    env: (name) => process.env[name],
    readStdin: async () => {
      try {
        return fs.readFileSync(0, "utf8");
      } catch (e) {
        throw new DivsError(`cannot read standard input: ${(e as Error).message}`, ExitCode.usage);
      }
    },
    hostname: () => os.hostname(),
    readTextFile: async (file) => {
      try {
        return fs.readFileSync(file, "utf8");
      } catch (e) {
        throw new DivsError(`cannot read ${file}: ${(e as Error).message}`, ExitCode.usage);
      }
    },
    outputIsTerminal: () => !!process.stdout.isTTY && !!process.stderr.isTTY && process.env.TERM !== "dumb",
    checkPrivileges,
    up,
    controlRequest,
    print: (t) => console.log(t),
    printError: (t) => console.error(t),
  };
}

/** Starts the data-plane thread and serves it until it ends; resolves with the node's exit code. */
function up(options: UpOptions): Promise<number> {
  // runNode checks privileges first thing, on the data-plane thread; its DivsError comes back as "failed".
  const { port1, port2 } = new MessageChannel();
  const data: DataplaneData = { options, port: port2 };
  const worker = new Worker(path.join(bundleDir, "dataplane.mjs"), { workerData: data, transferList: [port2] });
  let wakeFd = -1;
  const wake = new BigUint64Array([1n]);
  const toDataplane = (m: ToDataplane) => {
    port1.postMessage(m);
    if (wakeFd >= 0) fs.writeSync(wakeFd, wake);
  };
  let control: ControlServer | null = null;
  const replies = new Map<number, (text: string) => void>();
  let nextId = 0;
  const ask = (line: string) => new Promise<string>((resolve) => {
    const id = nextId++;
    replies.set(id, resolve);
    toDataplane({ kind: "control", id, line });
  });
  const closeControl = async () => {
    const c = control;
    control = null;
    await c?.close();
  };

  let signalled = false;
  const onSignal = (name: string) => {
    if (signalled) process.exit(ExitCode.failure); // a second Ctrl-C: stop waiting for the clean exit
    signalled = true;
    toDataplane({ kind: "signal", name });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  return new Promise<number>((resolve, reject) => {
    let finished = false;
    const finish = async (settle: () => void) => {
      finished = true;
      port1.close();
      if (wakeFd >= 0) fs.closeSync(wakeFd); // the data-plane thread has ended: nothing polls it
      wakeFd = -1;
      for (const reply of replies.values()) reply(JSON.stringify({ ok: false, error: "the node is stopping" }) + "\n");
      replies.clear();
      await closeControl();
      settle();
    };
    worker.on("message", async (m: FromDataplane) => {
      switch (m.kind) {
        case "wakeFd":
          wakeFd = m.fd;
          fs.writeSync(wakeFd, wake); // for anything posted before
          break;
        case "serve":
          try {
            // GET /metrics, if asked for, is served here too, with the same answers (docs/metrics.md).
            control = await withMetrics(serveControl, options.metrics, processStats, mainThreadTimers)(m.path, ask);
            toDataplane({ kind: "served", error: null });
          } catch (e) {
            toDataplane({ kind: "served", error: (e as Error).message });
          }
          break;
        case "reply":
          replies.get(m.id)?.(m.text);
          replies.delete(m.id);
          break;
        case "closeControl":
          await closeControl();
          break;
        case "done":
          await finish(() => resolve(m.code));
          break;
        case "failed":
          await finish(() => reject(m.exitCode === null ? new Error(m.message) : new DivsError(m.message, m.exitCode)));
          break;
      }
    });
    worker.on("error", (e) => void finish(() => reject(e)));
    worker.on("exit", (code) => {
      if (!finished) void finish(() => reject(new Error(`the data-plane thread exited (code ${code})`)));
    });
  });
}
