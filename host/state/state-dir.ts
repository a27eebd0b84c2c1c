// A node's state directory: files that outlive a restart (its identity key, DHCP leases), one per name.
// Made 0700 on first start; files are written whole (temporary file, then rename) with mode 0600.
import { DivsError, ExitCode } from "../base/errors.ts";

/** Default: one directory per TAP, so two nodes on one machine keep apart (docs/state.md). */
export function defaultStateDir(tap: string): string {
  return `/var/lib/divs/${tap}`;
}

/** Synchronous, so the node can save from inside a core callback. */
export interface StateStore {
  readonly dir: string;
  /** The file's bytes, or null when it does not exist yet. */
  read(name: string): Uint8Array | null;
  /** Replaces the file atomically: a crash leaves the old or the new content, never a mix. */
  write(name: string, bytes: Uint8Array): void;
}

/** The file calls the state directory makes (host/state/state-files.ts; specs give their own). */
export interface StateFiles {
  /** mkdir -p with `mode`, then chmod `mode` (an existing directory too). */
  makePrivateDir(path: string, mode: number): void;
  /** null when the file does not exist. */
  readOrNull(path: string): Uint8Array | null;
  writeFile(path: string, bytes: Uint8Array, mode: number): void;
  rename(from: string, to: string): void;
  pid: number;
}

export function openStateDir(dir: string, files: StateFiles): StateStore {
  try {
    files.makePrivateDir(dir, 0o700); // it may hold a private key
  } catch (e) {
    throw new DivsError(`state directory ${dir}: ${(e as Error).message}`, ExitCode.failure);
  }
  return {
    dir,
    read: (name) => files.readOrNull(pathOf(dir, name)),
    write(name, bytes) {
      const file = pathOf(dir, name);
      const temporary = `${file}.${files.pid}.tmp`;
      files.writeFile(temporary, bytes, 0o600);
      files.rename(temporary, file);
    },
  };
}

/** A file name inside the state directory: no separators, no dot files. */
function pathOf(dir: string, name: string): string {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) throw new Error(`bad state file name "${name}"`);
  return `${dir}/${name}`;
}
