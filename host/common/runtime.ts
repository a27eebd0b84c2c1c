// The services a runtime (Node, Deno) gives the runtime-agnostic host code.
// Small on purpose, like wireguard-go's tun.Device: platform code stays behind these interfaces.

/** A TAP device. Reads happen elsewhere (a reader thread feeding the driver); writes are synchronous. */
export interface TapDevice {
  readonly name: string;
  readonly mtu: number;
  /** Writes one Ethernet frame; `frame` may be a view into core memory, so copy if not done at once. */
  write(frame: Uint8Array): void;
  close(): void;
}

/** The underlay: sends a datagram to the 18-byte address at `address[offset..offset+18]`. */
export interface DatagramTransport {
  /**
   * `datagram` comes from the transport layer (a fresh sealed datagram or a handshake message that is
   * never modified), so it may be sent later without a copy.
   */
  send(address: Uint8Array, offset: number, datagram: Uint8Array): void;
  /** Datagrams the socket could not send (an IPv6 address, a full socket buffer): counted, never thrown. */
  readonly sendErrors: number;
  close(): void;
}

export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
}

export interface Timers {
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
  /** Runs `callback` soon, after pending I/O callbacks (batches datagrams into one process call). */
  defer(callback: () => void): void;
}

export interface Randomness {
  fill(buffer: Uint8Array): void;
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}
