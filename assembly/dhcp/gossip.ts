// The DHCP state made distributed (docs/dhcp.md, "Gossip"): a changed token
// or lease goes into the membership broadcast queue (DHCP_RANGE, DHCP_LEASE),
// push-pull carries all of both (section SECTION_DHCP), and once a second the
// ownership rules run on this node's view (seed, donate, reclaim).
import { config } from "../config";
import { BROADCAST_SPACE_DHCP_LEASE, BROADCAST_SPACE_DHCP_RANGE, broadcastEnqueue } from "../membership/broadcast";
import { SECTION_DHCP } from "../membership/codec";
import { PushPullSection, pushPullRegister } from "../membership/pushpull";
import { self } from "../node";
import { Stat, count } from "../stats";
import { wakeNow } from "../wake";
import {
  LEASE_MAX_LEN, LeaseRecord, MSG_DHCP_LEASE, MSG_DHCP_RANGE, RANGE_LEN, RangeToken, leaseDecode, leaseEncode,
  leaseLength, rangeDecode, rangeEncode,
} from "../wire/dhcpmsg";
import { LEASE_BOUND, LEASE_DECLINED, LEASE_RELEASED } from "./leases";
import { rebalance } from "./ownership";
import { absences, leases, poolReady, ranges, reclaimAfterMs, restored, saveDue } from "./pool";
import { currentView } from "./view";

/** How often the ownership rules run. */
const REBALANCE_INTERVAL_MS: f64 = 1000;
/** Gossip carries a lease's time left in a u32 of ms (49 days). */
const LEFT_MAX_MS: f64 = 4294967295;

const buf: usize = heap.alloc(LEASE_MAX_LEN);
const token = new RangeToken();
const record = new LeaseRecord();
const changed = new Array<i32>();

function fillToken(first: i32, end: i32): void {
  token.poolStart = ranges.start;
  token.poolSize = ranges.size;
  token.first = first;
  token.count = end - first;
  token.owner = ranges.owner(first);
  token.version = ranges.version(first);
}

/** Queues the run of tokens [first, end) (one owner, one version) for gossip. Keyed by the run, so a
 *  newer message for the same run replaces a queued one and an overlapping other run is kept. */
function enqueueRun(first: i32, end: i32): void {
  fillToken(first, end);
  const n = rangeEncode(buf, LEASE_MAX_LEN, token);
  broadcastEnqueue(buf, n, BROADCAST_SPACE_DHCP_RANGE, (<u64>first << 16) | <u64>(end - first));
  count(Stat.DhcpRangeChanges);
  saveDue.local = true;
}

/** Queues the blocks in `list` (ascending), changed here, as runs. */
export function enqueueBlocks(list: Array<i32>): void {
  let i = 0;
  while (i < list.length) {
    const first = unchecked(list[i]);
    let end = first + 1;
    i++;
    while (i < list.length && unchecked(list[i]) == end && ranges.owner(end) == ranges.owner(first) &&
      ranges.version(end) == ranges.version(first)) { end++; i++; }
    enqueueRun(first, end);
  }
}

function fillRecord(off: u32): void {
  record.poolStart = ranges.start;
  record.poolSize = ranges.size;
  record.offset = off;
  record.state = leases.state(off);
  record.mac = leases.mac(off);
  record.cid = leases.cid(off);
  record.node = leases.node(off);
  record.version = leases.version(off);
  record.leftMs = <u32>Math.min(LEFT_MAX_MS, Math.max(0, leases.expiry(off) - self.now));
  record.name = leases.name(off);
}

function gossipLease(off: u32): void {
  fillRecord(off);
  const n = leaseEncode(buf, LEASE_MAX_LEN, record);
  broadcastEnqueue(buf, n, BROADCAST_SPACE_DHCP_LEASE, <u64>off);
}

/** A lease changed here (bound, released, declined): tell the switch, keep it. */
export function leaseChanged(off: u32): void {
  gossipLease(off);
  saveDue.local = true;
}

/**
 * Whether a message names our pool. Another pool is ignored; it is counted as a mismatch of ours
 * (dhcp_pool_mismatch: the host then refuses to run) only while we own nothing of our pool, i.e.
 * we are the newcomer whose --dhcp differs from the switch's, else as foreign (dhcp_pool_foreign).
 */
function samePool(start: u32, size: u32): bool {
  if (start == ranges.start && size == ranges.size) return true;
  count(ranges.ownedBy(self.id) == 0 ? Stat.DhcpPoolMismatch : Stat.DhcpPoolForeign);
  return false;
}

/** Merges a token; passes on what was news. */
function applyRange(relay: bool): void {
  if (!samePool(token.poolStart, token.poolSize)) return;
  const before = ranges.conflicts;
  const n = ranges.mergeRun(token.first, token.count, token.owner, token.version);
  if (n < 0) { count(Stat.DhcpGossipMalformed); return; }
  if (ranges.conflicts != before) count(Stat.DhcpRangeConflicts);
  if (n > 0) { saveDue.learnt = true; wakeNow(); }
  if (n > 0 && relay) {
    const news = rangeEncode(buf, LEASE_MAX_LEN, token);
    broadcastEnqueue(buf, news, BROADCAST_SPACE_DHCP_RANGE, (<u64>token.first << 16) | <u64>token.count);
  }
}

function applyLease(relay: bool, now: f64): void {
  if (!samePool(record.poolStart, record.poolSize)) return;
  if (!leases.merge(record.offset, record.state, record.mac, record.cid, now + <f64>record.leftMs, record.node,
    record.name, record.version)) return;
  count(Stat.DhcpLeasesLearnt);
  saveDue.learnt = true;
  wakeNow();
  if (relay) gossipLease(record.offset);
}

/** A DHCP_RANGE or DHCP_LEASE message from a peer. */
export function dhcpGossipMessage(p: usize, len: u32, now: f64): void {
  if (!poolReady()) return;
  const type = load<u8>(p);
  if (type == MSG_DHCP_RANGE) {
    if (!rangeDecode(p, len, token)) { count(Stat.DhcpGossipMalformed); return; }
    applyRange(true);
  } else if (type == MSG_DHCP_LEASE) {
    if (leaseLength(p, len) != len) { count(Stat.DhcpGossipMalformed); return; }
    leaseDecode(p, record);
    applyLease(true, now);
  }
}

let nextRebalance: f64 = 0;

/** Seeds once, then runs the ownership rules once a second; returns the next deadline. */
export function dhcpTick(now: f64): f64 {
  if (self.id == 0 || !poolReady()) return Infinity;
  if (config.dhcpSeed) {
    config.dhcpSeed = false;
    ranges.seed(self.id);
    for (let b = 0; b < ranges.blocks; b = ranges.runEnd(b)) if (ranges.owner(b) == self.id) enqueueRun(b, ranges.runEnd(b));
  }
  if (now < nextRebalance) return nextRebalance;
  nextRebalance = now + REBALANCE_INTERVAL_MS;
  // A restored node hears the switch first: its saved tokens may be older than the switch's.
  if (restored.held()) return nextRebalance;
  changed.length = 0;
  rebalance(ranges, leases, absences, currentView(now), reclaimAfterMs(), changed);
  for (let i = 0; i < changed.length; i++) {
    count(ranges.owner(unchecked(changed[i])) == self.id ? Stat.DhcpBlocksReclaimed : Stat.DhcpBlocksDonated);
  }
  changed.sort();
  enqueueBlocks(changed);
  return nextRebalance;
}

/**
 * Push-pull section SECTION_DHCP: every owned run of tokens (DHCP_RANGE), then every bound,
 * released or declined lease (DHCP_LEASE), each message whole.
 */
export class DhcpSection extends PushPullSection {
  private block: i32 = 0;
  private off: u32 = 0;
  constructor() { super(SECTION_DHCP); }

  begin(): void {
    this.block = 0;
    this.off = 0;
  }

  done(): bool { return !poolReady() || (this.block >= ranges.blocks && this.off >= leases.size); }

  write(p: usize, cap: u32): u32 {
    let used: u32 = 0;
    while (this.block < ranges.blocks) {
      const end = ranges.runEnd(this.block);
      if (ranges.owner(this.block) != 0) {
        if (cap - used < RANGE_LEN) return used;
        fillToken(this.block, end);
        used += rangeEncode(p + used, cap - used, token);
      }
      this.block = end;
    }
    while (this.off < leases.size) {
      const s = leases.state(this.off);
      if (s == LEASE_BOUND || s == LEASE_RELEASED || s == LEASE_DECLINED) {
        fillRecord(this.off);
        const n = leaseEncode(p + used, cap - used, record);
        if (n == 0) return used;
        used += n;
      }
      this.off++;
    }
    return used;
  }

  read(p: usize, len: u32, from: u64): void {
    if (!poolReady()) return;
    let off: u32 = 0;
    while (off < len) {
      const type = load<u8>(p + off);
      if (type == MSG_DHCP_RANGE && len - off >= RANGE_LEN) {
        rangeDecode(p + off, RANGE_LEN, token);
        applyRange(false);
        off += RANGE_LEN;
        continue;
      }
      const n = type == MSG_DHCP_LEASE ? leaseLength(p + off, len - off) : 0;
      if (n == 0) { count(Stat.DhcpGossipMalformed); return; }
      leaseDecode(p + off, record);
      applyLease(false, self.now);
      off += n;
    }
  }
}

pushPullRegister(new DhcpSection());
