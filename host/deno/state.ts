// The state directory's file calls on Deno (host/common/state-dir.ts).
import type { StateFiles } from "../common/state-dir.ts";

export const stateFiles: StateFiles = {
  makePrivateDir(path, mode) {
    Deno.mkdirSync(path, { recursive: true, mode });
    Deno.chmodSync(path, mode);
  },
  readOrNull(path) {
    try {
      return Deno.readFileSync(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
  },
  writeFile: (path, bytes, mode) => Deno.writeFileSync(path, bytes, { mode }),
  rename: (from, to) => Deno.renameSync(from, to),
  pid: Deno.pid,
};
