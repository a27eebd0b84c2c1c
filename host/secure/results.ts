// What the transport hands the host: each datagram to send, through the sink, as it is made (the core's
// records reach the driver's visitor the same way), and from incoming() the data to deliver to the core
// (an object reused: valid until the transport's next call).
import type { AddrKey } from "./addr-key.ts";

/**
 * Where each datagram to send goes, during the call that made it: `addr` is the 18-byte address
 * (docs/abi.md) and `addrKey` its key; both views, and `data`, are valid only during the call (the
 * socket copies them into its batch, or sends `data` from its own arena: SecureTransport.sealInto).
 */
export type TransmitSink = (addrKey: AddrKey, addr: Uint8Array, data: Uint8Array) => void;

export interface Incoming {
  /** Authenticated, fresh plaintext for the core, or null. */
  deliver: Uint8Array | null;
  /**
   * Who sent it (a view): the datagram's source; the peer's address when that source is the peer's
   * direct route's endpoint; the original sender for a relayed one.
   */
  source: Uint8Array;
  /** The relay it came through (its 18-byte address), or null when it came directly. */
  via: Uint8Array | null;
  /** An authenticated CONTROL message for the host (never for the core), or null. */
  control: Uint8Array | null;
  /** The static identity key of the session `control` came on. */
  controlFrom: Uint8Array | null;
}

/** Where DATA may be opened: a buffer of `length` bytes for a datagram that came directly or `relayed`, or null. */
export type OpenInto = (length: number, relayed: boolean) => Uint8Array | null;
