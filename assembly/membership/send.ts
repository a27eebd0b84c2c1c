// Sending membership datagrams: one message, followed by as many queued
// broadcasts as fit under the path MTU base (memberlist piggybacks the
// same way on every UDP message), emitted as OUT_DATAGRAM. The base fits
// every path (assembly/pmtu.ts), so membership never waits for discovery.
import { OUT_DATAGRAM } from "../abi";
import { pmtuBase } from "../pmtu";
import { outputToAddr } from "../queue";
import { Stat, count } from "../stats";
import { CompoundWriter } from "../wire/divs";
import { broadcastFill } from "./broadcast";

const SCRATCH_SIZE: u32 = 65536;
/** Where membership datagrams are built before they are copied to the output queue. */
export const scratch: usize = heap.alloc(SCRATCH_SIZE);
/** Where a lone message is built before `sendMessage` wraps it. */
export const messageScratch: usize = heap.alloc(SCRATCH_SIZE);
export const writer = new CompoundWriter();

/** Starts a datagram in `scratch` under the size every path carries. */
export function datagramBegin(): CompoundWriter {
  writer.begin(scratch, min(pmtuBase(), SCRATCH_SIZE));
  return writer;
}

/**
 * Copies `len` bytes at `ptr` to the output as a datagram to `addr` (`flags`: DATAGRAM_UNROUTED or 0);
 * false when the output is full.
 */
export function emitDatagram(addr: usize, ptr: usize, len: u32, flags: u16 = 0): bool {
  if (len == 0) return true;
  const out = outputToAddr(OUT_DATAGRAM, addr, len, flags);
  if (out == 0) return false;
  memory.copy(out, ptr, len);
  count(Stat.DatagramsOut);
  return true;
}

/** Finishes the datagram begun with `datagramBegin` and emits it to `addr`. */
export function datagramSend(addr: usize): void {
  emitDatagram(addr, scratch, writer.finish());
}

/** Sends the message at `messageScratch` (len bytes) to `addr`, with piggybacked broadcasts. */
export function sendMessage(addr: usize, len: u32): void {
  const w = datagramBegin();
  if (w.room() < len) return;
  memory.copy(w.cursor(), messageScratch, len);
  w.add(len);
  broadcastFill(w);
  datagramSend(addr);
}
