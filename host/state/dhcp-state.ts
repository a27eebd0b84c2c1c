// The DHCP state a node keeps across restarts (docs/state.md "dhcp-state", docs/dhcp.md "Restart"):
// the core's OUT_DHCP_STATE chunks in one file with the wall-clock time of the save, given back at
// start as IN_DHCP_RESTORE records with the time elapsed since. The chunks are the core's business.
import type { Logger } from "../base/services.ts";
import type { StateStore } from "./state-dir.ts";

export const DHCP_STATE_FILE = "dhcp-state";
const MAGIC = "divsdhcp";
const FORMAT = 1;
/** magic(8) format(u32) chunks(u32) saved_at_unix_ms(f64), then per chunk: length(u32) bytes. */
const HEADER = 24;

export interface SavedDhcpState {
  /** Wall-clock ms between the save and now (0 when the clock went back). */
  elapsedMs: number;
  chunks: Uint8Array[];
}

export function encodeDhcpState(chunks: readonly Uint8Array[], savedAtMs: number): Uint8Array {
  const out = new Uint8Array(HEADER + chunks.reduce((n, c) => n + 4 + c.length, 0));
  const v = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC));
  v.setUint32(8, FORMAT, true);
  v.setUint32(12, chunks.length, true);
  v.setFloat64(16, savedAtMs, true);
  let off = HEADER;
  for (const c of chunks) {
    v.setUint32(off, c.length, true);
    out.set(c, off + 4);
    off += 4 + c.length;
  }
  return out;
}

/** The saved state, or a reason it cannot be used (another format, truncated). */
export function decodeDhcpState(bytes: Uint8Array, nowMs: number): SavedDhcpState | string {
  if (bytes.length < HEADER || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) return "not a DiVS DHCP state file";
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(8, true) !== FORMAT) return `format ${v.getUint32(8, true)}, this divs reads ${FORMAT}`;
  const chunks: Uint8Array[] = [];
  let off = HEADER;
  for (let i = v.getUint32(12, true); i > 0; i--) {
    if (off + 4 > bytes.length) return "truncated";
    const len = v.getUint32(off, true);
    if (off + 4 + len > bytes.length) return "truncated";
    chunks.push(bytes.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return { elapsedMs: Math.max(0, nowMs - v.getFloat64(16, true)), chunks };
}

/** Reads the saved state; null when there is none, or (logged) when it cannot be used. */
export function loadDhcpState(store: StateStore, nowMs: number, warn: (m: string) => void): SavedDhcpState | null {
  const bytes = store.read(DHCP_STATE_FILE);
  if (bytes === null) return null;
  const state = decodeDhcpState(bytes, nowMs);
  if (typeof state !== "string") return state;
  warn(`${store.dir}/${DHCP_STATE_FILE}: ${state}; starting without saved leases`);
  return null;
}

/** Writes the state whenever the core asks; a failure (a full disk) is logged once until a write succeeds, and serving goes on. */
export function dhcpSaver(store: StateStore, log: Logger): (chunks: Uint8Array[]) => void {
  let failing = false;
  return (chunks) => {
    try {
      store.write(DHCP_STATE_FILE, encodeDhcpState(chunks, Date.now()));
      failing = false;
    } catch (e) {
      if (!failing) log.warn(`cannot save the DHCP state in ${store.dir}: ${(e as Error).message}; leases given from now may not survive a restart`);
      failing = true;
    }
  };
}
