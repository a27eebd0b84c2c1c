// The state directory on Deno (host/common/state-dir.ts).
import { DivsError, ExitCode } from "../common/errors.ts";
import { checkStateName, type StateStore } from "../common/state-dir.ts";

export function openStateDir(dir: string): StateStore {
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.chmodSync(dir, 0o700); // an existing directory too: it may hold a private key
  } catch (e) {
    throw new DivsError(`state directory ${dir}: ${(e as Error).message}`, ExitCode.failure);
  }
  return {
    dir,
    read(name) {
      checkStateName(name);
      try {
        return Deno.readFileSync(`${dir}/${name}`);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return null;
        throw e;
      }
    },
    write(name, bytes) {
      checkStateName(name);
      const file = `${dir}/${name}`;
      const temporary = `${file}.${Deno.pid}.tmp`;
      Deno.writeFileSync(temporary, bytes, { mode: 0o600 });
      Deno.renameSync(temporary, file);
    },
  };
}
