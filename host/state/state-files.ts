// The state directory's file calls (host/state/state-dir.ts), on node:fs for both runtimes: Deno's
// node:fs makes the same calls under the same --allow-read/--allow-write permissions.
import fs from "node:fs";
import process from "node:process";
import type { StateFiles } from "./state-dir.ts";

export const stateFiles: StateFiles = {
  makePrivateDir(path, mode) {
    fs.mkdirSync(path, { recursive: true, mode });
    fs.chmodSync(path, mode);
  },
  readOrNull(path) {
    try {
      return new Uint8Array(fs.readFileSync(path));
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return null;
      throw e;
    }
  },
  writeFile: (path, bytes, mode) => fs.writeFileSync(path, bytes, { mode }),
  rename: (from, to) => fs.renameSync(from, to),
  pid: process.pid,
};
