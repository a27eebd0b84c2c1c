// The broadcast queue (memberlist's TransmitLimitedQueue): updates waiting to
// be piggybacked on probes and gossip. Each is sent up to
// retransmitMult * ceil(log10(N + 1)) times, least-sent first and newest first
// among equals; a new update with the same (space, key) replaces the old one.
// Any layer may enqueue its own messages (u8 type, body): the MAC table uses
// space BROADCAST_SPACE_MAC with the packed (MAC, VLAN) as key.
import { config } from "../config";
import { Stat, count } from "../stats";
import { wakeNow } from "../wake";
import { CompoundWriter } from "../wire/divs";
import { memberCount } from "./state";

/** Invalidation namespaces; SPACE_NONE never invalidates. */
export const BROADCAST_SPACE_NONE: u8 = 0;
export const BROADCAST_SPACE_MEMBER: u8 = 1; // key: node id
export const BROADCAST_SPACE_MAC: u8 = 2; // key: packed (MAC, VLAN), assembly/macgossip.ts
export const BROADCAST_SPACE_CANDIDATES: u8 = 3; // key: node id, assembly/nat/observed.ts
export const BROADCAST_SPACE_DHCP_RANGE: u8 = 4; // key: block, assembly/dhcp/gossip.ts
export const BROADCAST_SPACE_DHCP_LEASE: u8 = 5; // key: pool offset
export const BROADCAST_SPACE_BINDING: u8 = 6; // key: (VLAN, IP) folded to 64 bits, assembly/bindings.ts

class Broadcast {
  transmits: i32 = 0;
  invalid: bool = false;
  constructor(readonly bytes: StaticArray<u8>, readonly space: u8, readonly key: u64) {}
}

// tiers[t]: broadcasts sent t times, oldest first (we take from the end).
const tiers = new Array<Array<Broadcast>>();
const latest = new Map<u32, Map<u64, Broadcast>>();
let pending: i32 = 0;
const sentNow = new Array<Broadcast>();

/** memberlist retransmitLimit: mult * ceil(log10(n + 1)). */
export function retransmitLimit(n: i32): i32 {
  return config.retransmitMult * <i32>Math.ceil(Math.log10(<f64>n + 1));
}

/** Queues a copy of the message at [ptr, ptr+len); it replaces any queued one with the same space and key. */
export function broadcastEnqueue(ptr: usize, len: u32, space: u8, key: u64): void {
  const bytes = new StaticArray<u8>(len);
  memory.copy(changetype<usize>(bytes), ptr, len);
  const b = new Broadcast(bytes, space, key);
  if (space != BROADCAST_SPACE_NONE) {
    if (!latest.has(space)) latest.set(space, new Map<u64, Broadcast>());
    const keyed = latest.get(space);
    if (keyed.has(key)) {
      const old = keyed.get(key);
      if (!old.invalid) { old.invalid = true; pending--; }
    }
    keyed.set(key, b);
  }
  if (tiers.length == 0) tiers.push(new Array<Broadcast>());
  unchecked(tiers[0]).push(b);
  pending++;
  count(Stat.BroadcastsQueued);
  wakeNow(); // the gossip tick notes it pending (assembly/membership/gossip.ts)
}

/** Broadcasts still to be sent at least once more. */
export function broadcastPending(): i32 { return pending; }

function retire(b: Broadcast): void {
  if (b.space != BROADCAST_SPACE_NONE) {
    const keyed = latest.get(b.space);
    if (keyed.has(b.key) && keyed.get(b.key) == b) keyed.delete(b.key);
  }
}

/** Adds as many queued broadcasts as fit to `w`; returns how many. */
export function broadcastFill(w: CompoundWriter): i32 {
  const limit = retransmitLimit(memberCount());
  let added = 0;
  for (let t = 0; t < tiers.length; t++) {
    const tier = unchecked(tiers[t]);
    while (tier.length > 0) {
      const b = tier[tier.length - 1];
      if (b.invalid) { tier.pop(); continue; }
      if (b.transmits >= limit) { tier.pop(); b.invalid = true; pending--; retire(b); continue; }
      const n = <u32>b.bytes.length;
      if (w.room() < n) break; // a smaller one may fit in a lower tier; this one goes first next time
      memory.copy(w.cursor(), changetype<usize>(b.bytes), n);
      w.add(n);
      tier.pop();
      sentNow.push(b);
      added++;
    }
    if (w.room() == 0) break;
  }
  // Promote after the walk so one datagram never carries the same broadcast twice.
  for (let i = sentNow.length - 1; i >= 0; i--) {
    const b = unchecked(sentNow[i]);
    b.transmits++;
    if (b.transmits >= limit) { b.invalid = true; pending--; retire(b); continue; }
    while (tiers.length <= b.transmits) tiers.push(new Array<Broadcast>());
    unchecked(tiers[b.transmits]).push(b);
  }
  sentNow.length = 0;
  if (added > 0) for (let i = 0; i < added; i++) count(Stat.BroadcastsSent);
  return added;
}
