// A node's state directory: files that outlive a restart (its identity key, DHCP leases), one per name.
// Made 0700 on first start; files are written whole (temporary file, then rename) with mode 0600.

/** Default: one directory per TAP, so two nodes on one machine keep apart (docs/state.md). */
export function defaultStateDir(tap: string): string {
  return `/var/lib/divs/${tap}`;
}

/** Synchronous, so the data-plane thread can save from inside a core callback. */
export interface StateStore {
  readonly dir: string;
  /** The file's bytes, or null when it does not exist yet. */
  read(name: string): Uint8Array | null;
  /** Replaces the file atomically: a crash leaves the old or the new content, never a mix. */
  write(name: string, bytes: Uint8Array): void;
}

/** A file name inside the state directory: no separators, no dot files. */
export function checkStateName(name: string): void {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) throw new Error(`bad state file name "${name}"`);
}
