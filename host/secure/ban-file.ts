// The identities removed from the switch that a node keeps refusing across restarts (docs/state.md
// "bans", docs/security.md "Removing a node"): text, one line per ban, `<node id> <ISO time>`, the id
// in the 16 hex digits `divs members` shows. Written whole on every new ban, read at start.
import { hexU64, u64OfHex } from "../base/node-id.ts";
import type { StateStore } from "../state/state-dir.ts";

export const BANS_FILE = "bans";

/** The banned node ids kept in `store` (8 bytes each); lines that are not a ban are skipped with a warning. */
export function loadBans(store: StateStore, warn: (message: string) => void): Uint8Array[] {
  const bytes = store.read(BANS_FILE);
  if (bytes === null) return [];
  const ids: Uint8Array[] = [];
  new TextDecoder().decode(bytes).split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const id = u64OfHex(line.split(" ")[0]);
    if (id === null) warn(`${store.dir}/${BANS_FILE} line ${i + 1} is not a ban ("<16 hex digits> <time>"): skipped`);
    else ids.push(id);
  });
  return ids;
}

/** Appends a ban made at `when` to the file (rewritten whole, so a crash leaves the old list or the new). */
export function saveBan(store: StateStore, nodeId: Uint8Array, when: Date): void {
  const old = store.read(BANS_FILE);
  const text = old === null ? "" : new TextDecoder().decode(old);
  const line = `${hexU64(nodeId, 0)} ${when.toISOString()}\n`;
  store.write(BANS_FILE, new TextEncoder().encode(text + (text === "" || text.endsWith("\n") ? "" : "\n") + line));
}
