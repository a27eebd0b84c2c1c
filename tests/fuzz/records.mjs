// A tiny, independent writer/reader for the core's record queues (docs/abi.md).
// Written from the document, not shared with host/, so the fuzzer checks the
// ABI as specified rather than as the host happens to implement it.

export const REC_HEADER = 8;
export const REC_ALIGN = 8;
export const ADDR_LEN = 18;
export const ADDR_SLOT = 20;
/** OUT_DATAGRAM's u16 LE after the destination address: flags (docs/abi.md); the only one: send past the route. */
export const DATAGRAM_UNROUTED = 1;
export const WIRE_VERSION = 2;

export const IN = { FRAME: 1, DATAGRAM: 2, RANDOM: 3, IDENTITY: 4, JOIN: 5, LEAVE: 6, SEND_TOO_BIG: 7, CANDIDATES: 8, DATAGRAM_VIA: 9, PING: 10, DHCP_RESTORE: 11, DHCP_SELF: 12, PATHS_QUERY: 13, BAN: 14 };
export const OUT = {
  FRAME: 1, DATAGRAM: 2, TIMER: 3, EVENT: 4, STAT: 5, MEMBER: 6, MAC: 7, ROUTE: 8, RELAY_ALLOW: 9, PONG: 10, PATH: 11, SELF: 12, DHCP_RANGE: 13, DHCP_LEASE: 14, LOG: 16, DHCP_SAVE: 17,
  DHCP_STATE: 18, DHCP_ADDRESS: 19, PATHS_REPORT: 20,
};
export const OUT_NAMES = Object.fromEntries(Object.entries(OUT).map(([k, v]) => [v, k]));

export const alignUp = (n) => (n + REC_ALIGN - 1) & ~(REC_ALIGN - 1);

/**
 * Serialises records into `dst` starting at 0; returns the byte length.
 * A record is { kind, body, flags?, len? }: `len` overrides the header's body
 * length (to forge malformed records); the body is copied as given.
 */
export function writeRecords(dst, records) {
  const view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  let off = 0;
  for (const r of records) {
    const total = alignUp(REC_HEADER + r.body.length);
    if (off + total > dst.length) throw new RangeError(`records exceed ${dst.length} bytes`);
    view.setUint16(off, r.kind, true);
    view.setUint16(off + 2, r.flags ?? 0, true);
    view.setUint32(off + 4, r.len ?? r.body.length, true);
    dst.set(r.body, off + REC_HEADER);
    dst.fill(0, off + REC_HEADER + r.body.length, off + total);
    off += total;
  }
  return off;
}

/** Size `writeRecords` needs for these records. */
export const recordsSize = (records) =>
  records.reduce((n, r) => n + alignUp(REC_HEADER + r.body.length), 0);

/**
 * Parses `len` bytes of output records. Returns { records, error }: `error`
 * names the first structural defect (records before it are returned).
 * Each record's body is a view into `src`; copy it before the next call.
 */
export function readRecords(src, len) {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const records = [];
  let off = 0;
  while (off < len) {
    if (len - off < REC_HEADER) return { records, error: `${len - off} stray bytes at ${off}` };
    const kind = view.getUint16(off, true);
    const flags = view.getUint16(off + 2, true);
    const bodyLen = view.getUint32(off + 4, true);
    if (bodyLen > len - off - REC_HEADER) {
      return { records, error: `record at ${off} (kind ${kind}) body ${bodyLen} runs past ${len}` };
    }
    const end = off + alignUp(REC_HEADER + bodyLen);
    if (end > len) return { records, error: `record at ${off} padding runs past ${len}` };
    records.push({ kind, flags, offset: off, body: src.subarray(off + REC_HEADER, off + REC_HEADER + bodyLen) });
    off = end;
  }
  return { records, error: null };
}

/** An 18-byte underlay address in a 20-byte slot: ::ffff:a.b.c.d, port big-endian. */
export function addrSlot(ipv4, port) {
  const slot = new Uint8Array(ADDR_SLOT);
  slot[10] = 0xff;
  slot[11] = 0xff;
  slot.set(ipv4, 12);
  slot[16] = port >> 8;
  slot[17] = port & 0xff;
  return slot;
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
