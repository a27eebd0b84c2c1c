// What `divs up` was asked for: the options runNode (up.ts) takes, parsed by cli.ts, posted to the data-plane thread.
import type { HostPort } from "./address.ts";
import type { Cidr } from "./cidr.ts";
import type { CoreConfig } from "./config.ts";
import type { UiOptions } from "./ui.ts";
import type { Invitation } from "./token.ts";
import type { LogOptions } from "./log.ts";
import type { MetricsOptions } from "./metrics.ts";

export interface UpOptions {
  listen: HostPort;
  advertise: HostPort | null;
  /** Seeds to join through; none: this node creates a switch. */
  join: HostPort[];
  /** The network key: the primary (and only) key of the node's keyring at start; null when an invitation brings it. */
  key: Uint8Array | null;
  /** Redeem this invitation with the seed (its issuer) for the network key first (host/common/invitations.ts). */
  invitation: Invitation | null;
  tap: string;
  /** "dhcp": from the switch's pool (`--address dhcp`, host/common/self-address.ts). */
  address: Cidr | "dhcp" | null;
  mac: string | null;
  mtu: number;
  /** TCP segmentation and checksum offload on the TAP (docs/host.md "Offloads"). */
  offload: boolean;
  /** While frames flow, wake at least this often (ms; 0: off), host/common/latency-wake.ts. */
  latencyWakeMs: number;
  /** Relaying for one pair of members is capped at this many Mbit/s (docs/host.md "Routes and relaying"). */
  relayCapMbit: number;
  config: CoreConfig;
  name: string;
  control: string;
  /** Files that outlive a restart (host/common/state-dir.ts, docs/state.md). */
  stateDir: string;
  /** Where GET /metrics is served, and its token (host/common/metrics.ts), or null. */
  metrics: MetricsOptions | null;
  /** How the node logs (host/common/log.ts). */
  log: LogOptions;
  /** Show the start's steps on a line rewritten in place (stdout and stderr are a terminal, text logs). */
  progress: boolean;
  version: string;
  /** The status page (`--ui`, docs/ui.md), or null. */
  ui: UiOptions | null;
}
