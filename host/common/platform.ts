// Everything a runtime provides to run a node and the CLI. host/node and host/deno implement it;
// the rest of the host (up.ts, cli.ts) is shared.
import type { HostPort } from "./address.ts";
import type { Cidr } from "./cidr.ts";
import type { RingConsumer } from "./ring.ts";
import type { CryptoProvider } from "./secure/provider.ts";
import type { Clock, DatagramTransport, Logger, Randomness, TapDevice, Timers } from "./runtime.ts";

export interface OpenedTap {
  device: TapDevice;
  /** Frames read by the reader thread. */
  ring: RingConsumer;
  /** Every frame read and written carries a virtio-net header (IFF_VNET_HDR; docs/host.md "Offloads"). */
  vnetHeader: boolean;
  /** Stops the reader thread and waits for it; then the device can be closed. */
  stopReader(): Promise<void>;
}

export interface ControlServer {
  close(): Promise<void>;
}

export type DatagramSink = (address: Uint8Array, offset: number, datagram: Uint8Array) => void;

export interface Platform {
  readonly runtime: string;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: Randomness;
  readonly log: Logger;
  /** The transport layer's crypto (docs/security.md): node:crypto's ChaCha20-Poly1305, HMAC, HKDF. */
  readonly crypto: CryptoProvider;
  /** An environment variable (DIVS_KEY), or undefined. */
  env(name: string): string | undefined;
  /** All of standard input as text (`divs key install` without --key-file or DIVS_KEY). */
  readStdin(): Promise<string>;
  hostname(): string;
  /** A local IPv4 address other nodes can probably reach, for `--listen 0.0.0.0`. */
  guessAdvertiseAddress(): string | null;
  loadCoreBytes(): Promise<Uint8Array<ArrayBuffer>>;
  readTextFile(path: string): Promise<string>;
  /** Throws DivsError (not root, no /dev/net/tun) before anything is created. */
  checkPrivileges(): void;
  /** `offload`: let the kernel hand over TCP segments up to 64 KB (TUNSETOFFLOAD) where the runtime can. */
  openTap(name: string, mtu: number, address: Cidr | null, mac: string | null, offload: boolean): OpenedTap;
  bindUdp(listen: HostPort, sink: DatagramSink): Promise<DatagramTransport>;
  serveControl(path: string, answer: (line: string) => string): Promise<ControlServer>;
  /**
   * Sends one control request, the line `JSON.stringify({ cmd, ...args })`; throws DivsError(notRunning)
   * when nothing answers.
   */
  controlRequest(path: string, cmd: string, args?: Record<string, unknown>): Promise<unknown>;
  /** Calls `handler` once on SIGINT or SIGTERM. */
  onShutdownSignal(handler: (signal: string) => void): void;
  print(text: string): void;
  printError(text: string): void;
}
