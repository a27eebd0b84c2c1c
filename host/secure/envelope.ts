// The RELAY envelope (docs/wire.md, docs/security.md): `ver, 0x85, addr(18), inner packet`. Sender ->
// relay: addr is the final destination; relay -> destination: addr is the original source. The inner
// packet is any transport packet between the two ends, sealed end to end; nothing here reads it.
import { ADDR_LEN } from "../net/address.ts";
import { WIRE_VERSION } from "./handshake.ts";

export const RELAY = 0x85;
export const OFF_RELAY_ADDR = 2;
export const RELAY_HEADER_LEN = OFF_RELAY_ADDR + ADDR_LEN; // 20
/** The smallest inner packet: a version and a type byte. */
const MIN_INNER = 2;

/** Writes the envelope header for `addr` at `out[0..20]`; the inner packet goes from RELAY_HEADER_LEN. */
export function emitRelayHeader(out: Uint8Array, addr: Uint8Array): void {
  out[0] = WIRE_VERSION;
  out[1] = RELAY;
  out.set(addr.subarray(0, ADDR_LEN), OFF_RELAY_ADDR);
}

/** A new envelope around `inner` (handshake messages: small, built once per send). */
export function wrapRelay(addr: Uint8Array, inner: Uint8Array): Uint8Array {
  const out = new Uint8Array(RELAY_HEADER_LEN + inner.length);
  emitRelayHeader(out, addr);
  out.set(inner, RELAY_HEADER_LEN);
  return out;
}

/** True when `packet` (version and type already checked) is long enough to carry an address and an inner packet. */
export function relayLengthOk(packet: Uint8Array): boolean {
  return packet.length >= RELAY_HEADER_LEN + MIN_INNER;
}

/** The envelope's address field (a view). */
export function relayAddr(packet: Uint8Array): Uint8Array {
  return packet.subarray(OFF_RELAY_ADDR, OFF_RELAY_ADDR + ADDR_LEN);
}

/** The inner packet (a view). */
export function relayInner(packet: Uint8Array): Uint8Array {
  return packet.subarray(RELAY_HEADER_LEN);
}
