// The Platform for Node. `divs up` runs the node on this, the main thread (host/node/run-node.ts;
// docs/host.md "Threads and batching").
import fs from "node:fs";
import os from "node:os";
import { DivsError, ExitCode } from "../base/errors.ts";
import type { Platform } from "../engine/platform.ts";
import { controlRequest } from "./control.ts";
import { nodeCrypto } from "../secure/node-crypto.ts";
import { checkPrivileges } from "./system.ts";

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
    fileMode: async (file) => fs.statSync(file).mode & 0o7777,
    outputIsTerminal: () => !!process.stdout.isTTY && !!process.stderr.isTTY && process.env.TERM !== "dumb",
    checkPrivileges,
    // loaded on `up` only: koffi and the node's code stay out of the other commands
    up: async (options) => (await import("./run-node.ts")).up(options),
    controlRequest,
    print: (t) => console.log(t),
    printError: (t) => console.error(t),
  };
}
