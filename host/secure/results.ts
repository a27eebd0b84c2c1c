// What the transport hands back to the host from each call: datagrams to send, and the data to
// deliver to the core. The arrays and objects are reused: valid until the transport's next call.
import type { AddrKey } from "./addr-key.ts";

export interface Transmit {
  addrKey: AddrKey;
  /** 18-byte address (docs/abi.md). */
  addr: Uint8Array;
  data: Uint8Array;
}

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
  transmits: Transmit[];
}

/** Where DATA may be opened: a buffer of `length` bytes for a datagram that came directly or `relayed`, or null. */
export type OpenInto = (length: number, relayed: boolean) => Uint8Array | null;
