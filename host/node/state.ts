// The state directory's file calls on Node (host/common/state-dir.ts).
import fs from "node:fs";
import type { StateFiles } from "../common/state-dir.ts";

export const stateFiles: StateFiles = {
  makePrivateDir(path, mode) {
    fs.mkdirSync(path, { recursive: true, mode });
    fs.chmodSync(path, mode);
  },
  readOrNull(path) {
    try {
      return new Uint8Array(fs.readFileSync(path));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  },
  writeFile: (path, bytes, mode) => fs.writeFileSync(path, bytes, { mode }),
  rename: (from, to) => fs.renameSync(from, to),
  pid: process.pid,
};
