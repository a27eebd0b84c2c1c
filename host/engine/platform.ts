// Everything a runtime provides to run a node and the CLI. host/node and host/deno implement it;
// the rest of the host (engine/lifecycle.ts, cli/commands.ts) is shared.
import type { HostPort } from "../net/address.ts";
import type { Cidr } from "../net/cidr.ts";
import type { InterfaceAddress } from "../net/local-addresses.ts";
import type { CryptoProvider } from "../secure/provider.ts";
import type { StateStore } from "../state/state-dir.ts";
import type { UpOptions } from "./node-options.ts";
import type { Progress } from "./progress.ts";
import type { ServiceManager } from "../linux/sd-notify.ts";
import type { Clock, DatagramSink, DatagramTransport, Logger, Randomness, TapDevice, Timers } from "../base/services.ts";

/** Where a TAP reader hands frames: each one (a view valid only during the call), then the end of a batch. */
export interface FrameSink {
  frame(frame: Uint8Array): void;
  batchEnd(): void;
}

export interface OpenedTap {
  device: TapDevice;
  /** Every frame read and written carries a virtio-net header (IFF_VNET_HDR; docs/host.md "Offloads"). */
  vnetHeader: boolean;
  /** Starts reading frames into `sink`. */
  startReader(sink: FrameSink): void;
  /** Stops reading and waits for the reader; then the device can be closed. */
  stopReader(): Promise<void>;
  /** Replaces the TAP's IPv4 addresses (`--address dhcp`: the address leased from the pool; null: none). */
  setAddress(address: Cidr | null): void;
}

export interface ControlServer {
  close(): Promise<void>;
}

/** What `runNode` (lifecycle.ts) needs: one node's devices, timers, control socket and lifetime. */
export interface NodeRuntime {
  readonly runtime: string;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: Randomness;
  readonly log: Logger;
  /** The line that shows a starting node's steps on a terminal (host/engine/progress.ts), or null. */
  readonly progress: Progress | null;
  /** systemd, when it started the node with Type=notify (host/linux/sd-notify.ts), or null. */
  readonly serviceManager: ServiceManager | null;
  /** The transport layer's crypto (docs/security.md): ChaCha20-Poly1305, HMAC, HKDF. */
  readonly crypto: CryptoProvider;
  /** This machine's interface addresses (host/net/local-addresses.ts picks candidates among them). */
  interfaceAddresses(): InterfaceAddress[];
  loadCoreBytes(): Promise<Uint8Array<ArrayBuffer>>;
  /** Throws DivsError (not root, no /dev/net/tun) before anything is created. */
  checkPrivileges(): void;
  /** `offload`: let the kernel hand over TCP segments up to 64 KB (TUNSETOFFLOAD) where the runtime can. */
  openTap(name: string, mtu: number, address: Cidr | null, mac: string | null, offload: boolean): OpenedTap;
  bindUdp(listen: HostPort, sink: DatagramSink): Promise<DatagramTransport>;
  /** Creates the state directory (0700) when missing; throws DivsError when it cannot. */
  openStateDir(dir: string): StateStore;
  /** `answer` resolves with the response line (a ping waits for its pong). */
  serveControl(path: string, answer: (line: string) => Promise<string>): Promise<ControlServer>;
  /** The runtime's loop's latency wake (host/engine/latency-wake.ts): its wake-ups, for `divs status`. */
  latencyWakes(): number;
  /** Calls `handler` once on SIGINT or SIGTERM. */
  onShutdownSignal(handler: (signal: string) => void): void;
  print(text: string): void;
}

/** What the CLI needs from a runtime. */
export interface Platform {
  readonly runtime: string;
  readonly crypto: CryptoProvider;
  /** An environment variable (DIVS_KEY), or undefined. */
  env(name: string): string | undefined;
  /** All of standard input as text (`divs key install` without --key-file or DIVS_KEY). */
  readStdin(): Promise<string>;
  hostname(): string;
  readTextFile(path: string): Promise<string>;
  /** The permission bits of a file (a key file readable by others gets a warning). */
  fileMode(path: string): Promise<number>;
  /** Standard output and standard error are terminals (the progress line of `divs up`). */
  outputIsTerminal(): boolean;
  /** Throws DivsError (not root, no /dev/net/tun) before anything is created. */
  checkPrivileges(): void;
  /** Runs a node (`divs up`) until SIGINT or SIGTERM; resolves with the exit code. */
  up(options: UpOptions): Promise<number>;
  /**
   * Sends one control request, the line `JSON.stringify({ cmd, ...args })`; throws DivsError(notRunning)
   * when nothing answers within `timeoutMs` (default 5 s; `divs remove` waits for the whole removal).
   */
  controlRequest(path: string, cmd: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<unknown>;
  print(text: string): void;
  printError(text: string): void;
}
