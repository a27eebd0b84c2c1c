// Sending one path message alone in a datagram (no piggybacked gossip: these go to
// candidate endpoints that may not be the member's address, and their size must
// not depend on queued broadcasts).
import { DATAGRAM_UNROUTED } from "../abi";
import { emitDatagram } from "../membership/send";
import { DG_MESSAGE, WIRE_VERSION } from "../wire/divs";

const SCRATCH: u32 = 256;
const scratch: usize = heap.alloc(SCRATCH);

/** Where the message is written (`natMessageRoom` bytes available). */
export const natMessage: usize = scratch + DG_MESSAGE;
export const natMessageRoom: u32 = SCRATCH - DG_MESSAGE;

/**
 * Sends the `len`-byte message at `natMessage` to `addr`: along the host's route for it, or with
 * `unrouted` to that address itself (a probe of it, or the answer to one that came from there).
 */
export function natSend(addr: usize, len: u32, unrouted: bool = false): void {
  if (len == 0) return;
  store<u8>(scratch, WIRE_VERSION);
  emitDatagram(addr, scratch, DG_MESSAGE + len, unrouted ? DATAGRAM_UNROUTED : 0);
}
