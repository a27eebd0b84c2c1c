// This node's share of the distributed DHCP server: the pool as configured,
// its ownership (ranges.ts), the leases (leases.ts) and what ownership.ts
// remembers of absent owners. The pool's first address is the server
// identifier every node answers for on its own TAP; it is never leased.
import { config } from "../config";
import { membershipJoining } from "../membership/membership";
import { self } from "../node";
import { Absences } from "./ownership";
import { LeaseTable } from "./leases";
import { RangeTable } from "./ranges";

export const ranges = new RangeTable();
export const leases = new LeaseTable();
export const absences = new Absences();

/** What this node keeps in its state directory changed (docs/state.md): saved by persist.ts. */
class SaveDue {
  /** A change made here (a grant, a token moved): saved at the end of this process call. */
  local: bool = false;
  /** A change heard from peers: saved with the next once-a-second tick. */
  learnt: bool = false;
}
export const saveDue = new SaveDue();

/** A state restored at start (IN_DHCP_RESTORE, assembly/dhcp/persist.ts). */
class Restored {
  /** Restored, and not yet released by persist.ts: nothing is served before this node has heard the switch. */
  pending: bool = false;
  /** The id of the node that saved it (this node's id before a restart). */
  saver: u64 = 0;
  /** When it was saved, on this node's clock. */
  savedAt: f64 = 0;

  /** Serving waits while a restored node joins: the seed's state may hold newer tokens than the saved ones. */
  held(): bool { return this.pending && membershipJoining(); }
}
export const restored = new Restored();

/** Whether this node serves DHCP: a pool is configured. */
export function dhcpServing(): bool { return config.dhcpPoolSize != 0; }

/** Rebuilds the tables when the configured pool differs from theirs; true when serving. */
export function poolReady(): bool {
  if (config.dhcpPoolSize == 0) return false;
  if (ranges.start != config.dhcpPoolStart || ranges.size != config.dhcpPoolSize) {
    ranges.reset(config.dhcpPoolStart, config.dhcpPoolSize);
    leases.reset(config.dhcpPoolSize);
    absences.ids.length = 0;
    absences.since.length = 0;
    absences.outnumberedAt = -1;
    absences.quorum = true;
  }
  return true;
}

/** The server identifier: the pool's first address. */
export function serverIp(): u32 { return config.dhcpPoolStart; }

/** The MAC this node answers with for the server identifier: locally administered, from the node id. */
export function serverMac(): u64 { return 0x0200_0000_0000 | (self.id & 0x00ff_ffff_ffff); }

/** The longest the lease of a client may last, ms. */
export function leaseMs(): f64 { return <f64>config.dhcpLeaseS * 1000; }

/** How long an owner must have been absent before its blocks are reclaimed: at least twice the lease time. */
export function reclaimAfterMs(): f64 { return Math.max(config.dhcpReclaimAfterMs, 2 * leaseMs()); }
