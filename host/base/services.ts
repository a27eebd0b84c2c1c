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

/**
 * The underlay socket (host/linux/udp.ts): datagrams are queued and go out in batches, one per
 * process() drain, as TAP frames come in batches (docs/host.md "Threads and batching").
 */
export interface DatagramTransport {
  /**
   * Room for a datagram of `length` bytes in the batch being built: the transport layer seals into it,
   * then it is send()-ed without a copy. Valid until the next flush().
   */
  reserve(length: number): Uint8Array;
  /** Queues a datagram to the 18-byte address at `address[offset..offset+18]`, copying it unless reserved. */
  send(address: Uint8Array, offset: number, datagram: Uint8Array): void;
  /** Sends what is queued. */
  flush(): void;
  /** Datagrams the socket could not send (an IPv6 address on an IPv4 socket, a full socket buffer): counted, never thrown. */
  readonly sendErrors: number;
  /** Sends refused with EMSGSIZE (reported to the sink as sendTooBig). */
  readonly counters: { readonly send_too_big: number; readonly send_calls: number; readonly datagrams_sent: number;
    readonly recv_calls: number; readonly datagrams_received: number };
  close(): void;
}

/** Where an underlay socket hands what it read, like a TAP reader's FrameSink. */
export interface DatagramSink {
  /** One datagram from the 18-byte address at `address[offset..]`, a view valid only during the call. */
  datagram(address: Uint8Array, offset: number, datagram: Uint8Array): void;
  /** The end of a batch of datagram() calls. */
  batchEnd(): void;
  /** A send of `length` bytes to `address[offset..]` failed with EMSGSIZE: the path MTU is smaller (DF). */
  sendTooBig(address: Uint8Array, offset: number, length: number): void;
}

export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
}

export interface Timers {
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

export interface Randomness {
  fill(buffer: Uint8Array): void;
}

/** Structured context of a log line: JSON output keeps it as fields, text appends key=value. */
export type LogFields = Record<string, string | number | boolean | null>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}
