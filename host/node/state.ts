// The state directory on Node (host/common/state-dir.ts).
import fs from "node:fs";
import path from "node:path";
import { DivsError, ExitCode } from "../common/errors.ts";
import { checkStateName, type StateStore } from "../common/state-dir.ts";

export function openStateDir(dir: string): StateStore {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700); // an existing directory too: it may hold a private key
  } catch (e) {
    throw new DivsError(`state directory ${dir}: ${(e as Error).message}`, ExitCode.failure);
  }
  return {
    dir,
    read(name) {
      checkStateName(name);
      try {
        return new Uint8Array(fs.readFileSync(path.join(dir, name)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw e;
      }
    },
    write(name, bytes) {
      checkStateName(name);
      const file = path.join(dir, name);
      const temporary = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(temporary, bytes, { mode: 0o600 });
      fs.renameSync(temporary, file);
    },
  };
}
