// The output queue: append-only records the host drains after each call.
import {
  ADDR_LEN, ADDR_SLOT, OUTPUT_CAPACITY, OUT_DATAGRAM, OUT_LOG, REC_FLAGS, REC_HEADER, REC_KIND, REC_LEN, alignUp,
} from "./abi";
import { Stat, count } from "./stats";
import { trafficSent } from "./traffic";

export const outputBase: usize = heap.alloc(OUTPUT_CAPACITY);
let outputLen: u32 = 0;
/** The newest record, and a count of records ever reserved (so a caller can tell its record is still the last). */
let lastRecord: usize = 0;
let records: u32 = 0;

export function outputReset(): void {
  outputLen = 0;
  records++;
}

/** Names the newest record: it stays the last one while outputRecords() returns the same value. */
export function outputRecords(): u32 {
  return records;
}

/** Grows the last record's body by `extra` bytes; false (nothing changes) when the output is full. */
export function outputGrowLast(extra: u32): bool {
  const bodyLen = load<u32>(lastRecord + REC_LEN) + extra;
  const end = <u32>(lastRecord - outputBase) + alignUp(REC_HEADER + bodyLen);
  if (end > OUTPUT_CAPACITY) {
    count(Stat.OutputOverflow);
    return false;
  }
  store<u32>(lastRecord + REC_LEN, bodyLen);
  outputLen = end;
  return true;
}

export function outputLength(): u32 {
  return outputLen;
}

/** An OUT_LOG record: a line for the host's log. */
export function outputLog(text: string): void {
  const len = <u32>String.UTF8.byteLength(text);
  const body = outputReserve(OUT_LOG, len);
  if (body != 0) String.UTF8.encodeUnsafe(changetype<usize>(text), text.length, body);
}

/** Whether a record of `bodyLen` bytes fits in what is left of the output. */
export function outputFits(bodyLen: u32): bool {
  return alignUp(REC_HEADER + bodyLen) <= OUTPUT_CAPACITY - outputLen;
}

/** Reserve a record of `bodyLen` bytes; returns the body pointer, or 0 when it does not fit (counted). */
export function outputReserve(kind: u16, bodyLen: u32): usize {
  const total = alignUp(REC_HEADER + bodyLen);
  if (total > OUTPUT_CAPACITY - outputLen) {
    count(Stat.OutputOverflow);
    return 0;
  }
  const rec = outputBase + <usize>outputLen;
  lastRecord = rec;
  records++;
  store<u16>(rec + REC_KIND, kind);
  store<u16>(rec + REC_FLAGS, 0);
  store<u32>(rec + REC_LEN, bodyLen);
  outputLen += total;
  return rec + REC_HEADER;
}

/** Append a record whose body is [addr slot][payload] (`flags` in the slot's padding); returns the payload pointer or 0. */
export function outputToAddr(kind: u16, addr: usize, payloadLen: u32, flags: u16 = 0): usize {
  const body = outputReserve(kind, ADDR_SLOT + payloadLen);
  if (body == 0) return 0;
  if (kind == OUT_DATAGRAM) trafficSent(addr); // counted until the peer answers (assembly/traffic.ts)
  memory.copy(body, addr, ADDR_LEN);
  store<u16>(body + ADDR_LEN, flags);
  return body + ADDR_SLOT;
}
