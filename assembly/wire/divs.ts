// The DiVS datagram as the core sees it (plaintext; sealing is the host's
// transport layer, see docs/wire.md).
//
//   datagram := u8 version, message            (a single message)
//             | u8 version, COMPOUND, u8 count, u8 reserved, count * (u16 len, message)
//   message  := u8 type, body
//
// FRAME carries an Ethernet frame: u8 type, u8 flags, then the frame, so a frame datagram has a
// 3-byte header. Flag FRAME_F_VNET is retired (it put a 64 KB GSO segment in one datagram the
// underlay had to fragment): receivers drop such FRAMEs (docs/wire.md). All multi-byte fields are big-endian.
import { getU16, putU16 } from "./bytes";

/** 2: MAC_UPDATE carries its owner's key and signature (docs/wire.md "Versioning"). */
export const WIRE_VERSION: u8 = 2;

export const DG_VERSION: u32 = 0;
export const DG_MESSAGE: u32 = 1;

// Message types. 0x0_: data, 0x1_: membership, 0x2_: MAC table.
export const MSG_FRAME: u8 = 0x01;
export const MSG_COMPOUND: u8 = 0x02;

export const FRAME_FLAGS: u32 = 1; // offset within the message
export const FRAME_PAYLOAD: u32 = 2;
export const FRAME_F_VNET: u8 = 0x01; // retired: dropped on receipt
export const FRAME_HEADER_LEN: u32 = 1 + FRAME_PAYLOAD; // version + type + flags

export const COMPOUND_COUNT: u32 = 1;
export const COMPOUND_ITEMS: u32 = 3;
export const COMPOUND_MAX_ITEMS: u32 = 255;
export const ITEM_LEN_SIZE: u32 = 2;

/** Result of checking a datagram's envelope. */
export enum Envelope {
  Ok,
  Truncated,
  BadVersion,
}

export function checkEnvelope(len: u32, p: usize): Envelope {
  if (len < 2) return Envelope.Truncated;
  if (load<u8>(p + DG_VERSION) != WIRE_VERSION) return Envelope.BadVersion;
  return Envelope.Ok;
}

/**
 * Iterates the messages of a compound body without allocating: call `reset`,
 * then `next` until it returns false; `ptr`/`len` then name the current message.
 * `malformed` is set when an item length runs past the end.
 */
export class CompoundReader {
  ptr: usize = 0;
  len: u32 = 0;
  malformed: bool = false;
  private cursor: usize = 0;
  private end: usize = 0;
  private remaining: u32 = 0;

  /** `msg` points at the COMPOUND type byte, `msgLen` bytes are available. */
  reset(msg: usize, msgLen: u32): bool {
    this.malformed = false;
    this.remaining = 0;
    if (msgLen < COMPOUND_ITEMS) { this.malformed = true; return false; }
    this.remaining = load<u8>(msg + COMPOUND_COUNT);
    this.cursor = msg + COMPOUND_ITEMS;
    this.end = msg + msgLen;
    return true;
  }

  next(): bool {
    if (this.remaining == 0) return false;
    if (this.end - this.cursor < ITEM_LEN_SIZE) { this.malformed = true; return false; }
    const n = <u32>getU16(this.cursor);
    const body = this.cursor + ITEM_LEN_SIZE;
    if (n == 0 || <usize>n > this.end - body) { this.malformed = true; return false; }
    this.ptr = body;
    this.len = n;
    this.cursor = body + n;
    this.remaining--;
    return true;
  }
}

/**
 * Builds a compound datagram in place: `begin` at a buffer, then `room()` /
 * `add()` per message, `finish()` gives the datagram length (a lone message
 * is emitted without the compound wrapper).
 */
export class CompoundWriter {
  private base: usize = 0;
  private cap: u32 = 0;
  private used: u32 = 0;
  private items: u32 = 0;
  private firstItem: usize = 0;

  begin(base: usize, cap: u32): void {
    this.base = base;
    this.cap = cap;
    this.items = 0;
    store<u8>(base + DG_VERSION, WIRE_VERSION);
    store<u8>(base + DG_MESSAGE, MSG_COMPOUND);
    store<u8>(base + DG_MESSAGE + COMPOUND_COUNT, 0);
    store<u8>(base + DG_MESSAGE + 2, 0);
    this.used = DG_MESSAGE + COMPOUND_ITEMS;
  }

  get count(): u32 { return this.items; }

  /** Bytes a next message may use, 0 when the datagram is full. */
  room(): u32 {
    if (this.items >= COMPOUND_MAX_ITEMS) return 0;
    const free = this.cap - this.used;
    return free > ITEM_LEN_SIZE ? free - ITEM_LEN_SIZE : 0;
  }

  /** Pointer where the next message's bytes go; commit it with `add(len)`. */
  cursor(): usize { return this.base + this.used + ITEM_LEN_SIZE; }

  add(len: u32): void {
    putU16(this.base + this.used, <u16>len);
    if (this.items == 0) this.firstItem = this.base + this.used + ITEM_LEN_SIZE;
    this.used += ITEM_LEN_SIZE + len;
    this.items++;
    store<u8>(this.base + DG_MESSAGE + COMPOUND_COUNT, <u8>this.items);
  }

  /** Datagram length; 0 when nothing was added. A single message is unwrapped. */
  finish(): u32 {
    if (this.items == 0) return 0;
    if (this.items == 1) {
      const n = this.used - DG_MESSAGE - COMPOUND_ITEMS - ITEM_LEN_SIZE;
      memory.copy(this.base + DG_MESSAGE, this.firstItem, n);
      return DG_MESSAGE + n;
    }
    return this.used;
  }
}
