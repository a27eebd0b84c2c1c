// A node id's text form: the core's u64 (little-endian, 8 bytes) as the 16 hex digits `divs members`
// shows, for tables, logs, state files and the control protocol.

/** u64 little-endian as 16 hex digits (ids are opaque; hex avoids float precision loss). */
export function hexU64(b: Uint8Array, offset: number): string {
  let s = "";
  for (let i = 7; i >= 0; i--) s += b[offset + i].toString(16).padStart(2, "0");
  return s;
}

/** The 8 bytes of a node id given as hexU64 prints it (16 hex digits); null for anything else. */
export function u64OfHex(id: string): Uint8Array | null {
  if (!/^[0-9a-f]{16}$/.test(id)) return null;
  const b = new Uint8Array(8);
  for (let i = 0; i < 8; i++) b[i] = parseInt(id.slice(14 - 2 * i, 16 - 2 * i), 16);
  return b;
}
