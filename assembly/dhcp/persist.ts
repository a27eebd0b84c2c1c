// Leases that outlive a restart (docs/dhcp.md "Restart", docs/state.md "dhcp-state"). The core asks
// the host to save (OUT_DHCP_SAVE) when what it keeps changed: at the end of the `process` call of a
// change made here (a grant, a token moved), so a lease is on disk in the pass that acknowledged it;
// once a second for changes heard from peers. `dhcp_save` writes the state as OUT_DHCP_STATE chunks:
// the saving node's id, then the DHCP_RANGE and DHCP_LEASE messages push-pull carries (times left as
// of the save). At start the host hands them back (IN_DHCP_RESTORE) with the time elapsed since.
//
// A restored node merges the state as if a peer had sent it, then serves nothing until it has heard
// the switch (its join answered): the switch may have reclaimed its blocks meanwhile. Then blocks
// still owned by the saving id, when that id is not ours (node ids random per start), are re-owned:
// the saver was this node, and nobody else changes its tokens.
import { OUT_DHCP_SAVE, OUT_DHCP_STATE } from "../abi";
import { self } from "../node";
import { outputFits, outputReserve } from "../queue";
import { Stat, count } from "../stats";
import { wakeNow } from "../wake";
import {
  LeaseRecord, MSG_DHCP_LEASE, MSG_DHCP_RANGE, RANGE_LEN, RangeToken, leaseDecode, leaseLength, rangeDecode,
} from "../wire/dhcpmsg";
import { DhcpSection, enqueueBlocks } from "./gossip";
import { absences, leases, poolReady, ranges, reclaimAfterMs, restored, saveDue } from "./pool";

/** IN_DHCP_RESTORE: f64 ms elapsed since the save, then an OUT_DHCP_STATE body. */
const RESTORE_ELAPSED: u32 = 0;
const STATE_SAVER: u32 = 8;
export const RESTORE_HEADER: u32 = 16;
/** OUT_DHCP_STATE bodies are at most this long, so each one fits an input record when restored. */
const CHUNK_MAX: u32 = 60 * 1024;
/** Changes heard from peers are saved at most this often. */
const LEARNT_SAVE_MS: f64 = 1000;

const section = new DhcpSection();
const chunk: usize = heap.alloc(CHUNK_MAX);
const token = new RangeToken();
const record = new LeaseRecord();
const reowned = new Array<i32>();
let nextLearntSave: f64 = 0;
/** Blocks given to the saving id after the restart (a donor that had not seen it die) are re-owned too, this often. */
const REOWN_INTERVAL_MS: f64 = 1000;
let nextReown: f64 = 0;

/**
 * IN_DHCP_RESTORE at `now`: merges a saved chunk, counting what was news (`dhcp_restored`) and another
 * pool's messages (`dhcp_restore_skipped`); false when malformed (the caller counts `input_malformed`).
 */
export function dhcpRestore(p: usize, len: u32, now: f64): bool {
  if (len < RESTORE_HEADER) return false;
  if (!poolReady()) { count(Stat.DhcpRestoreSkipped); return true; }
  const elapsed = Math.max(0, load<f64>(p + RESTORE_ELAPSED)); // a clock set back: no time passed
  if (!isFinite(elapsed)) return false;
  let off = RESTORE_HEADER;
  while (off < len) {
    const type = load<u8>(p + off);
    const n = type == MSG_DHCP_RANGE ? (len - off >= RANGE_LEN ? RANGE_LEN : 0) : type == MSG_DHCP_LEASE ? leaseLength(p + off, len - off) : 0;
    if (n == 0) return false;
    if (type == MSG_DHCP_RANGE) restoreRange(p + off);
    else restoreLease(p + off, now - elapsed);
    off += n;
  }
  restored.pending = true;
  restored.saver = load<u64>(p + STATE_SAVER);
  wakeNow();
  restored.savedAt = now - elapsed;
  // What happened while it was down is unknown: count as outnumbered since the save until half the owners are seen.
  if (absences.outnumberedAt < 0 || absences.outnumberedAt > restored.savedAt) absences.outnumberedAt = restored.savedAt;
  return true;
}

function restoreRange(p: usize): void {
  rangeDecode(p, RANGE_LEN, token);
  const changed = token.poolStart != ranges.start || token.poolSize != ranges.size ? -1 :
    ranges.mergeRun(token.first, token.count, token.owner, token.version);
  if (changed < 0) count(Stat.DhcpRestoreSkipped);
  else if (changed > 0) count(Stat.DhcpRestored);
}

function restoreLease(p: usize, savedAt: f64): void {
  leaseDecode(p, record);
  if (record.poolStart != ranges.start || record.poolSize != ranges.size) { count(Stat.DhcpRestoreSkipped); return; }
  if (leases.merge(record.offset, record.state, record.mac, record.cid, savedAt + <f64>record.leftMs, record.node,
    record.name, record.version)) count(Stat.DhcpRestored);
}

/**
 * Releases a restored state once the switch is heard (re-owning the
 * saver's blocks), and asks the host to save what changed. Returns the next deadline.
 */
export function dhcpPersistTick(now: f64): f64 {
  if (self.id == 0 || !poolReady()) return Infinity;
  if (restored.pending) {
    if (restored.held()) return Infinity; // the join's answer wakes the ticks (assembly/membership/membership.ts)
    restored.pending = false;
  }
  if (restored.saver != 0 && now >= nextReown) {
    nextReown = now + REOWN_INTERVAL_MS;
    reown(now);
  }
  const reownAt = restored.saver != 0 ? nextReown : Infinity;
  if (saveDue.learnt && !saveDue.local && now < nextLearntSave) return Math.min(nextLearntSave, reownAt);
  if (!saveDue.local && !saveDue.learnt) return reownAt;
  outputReserve(OUT_DHCP_SAVE, 0);
  saveDue.local = false;
  saveDue.learnt = false;
  nextLearntSave = now + LEARNT_SAVE_MS;
  return reownAt;
}

/**
 * Blocks owned by the saver become ours at version + 1 (also ones a donor gave it after the restart,
 * not having seen it die) until half the reclaim bound after the save: from then on the switch may be
 * reclaiming them (at version + 2) and they are left to it.
 */
function reown(now: f64): void {
  const saver = restored.saver;
  if (saver == self.id || now - restored.savedAt >= reclaimAfterMs() / 2) {
    restored.saver = 0;
    return;
  }
  reowned.length = 0;
  for (let b = 0; b < ranges.blocks; b++) if (ranges.owner(b) == saver) reowned.push(b);
  if (reowned.length == 0) return;
  ranges.assignAll(reowned, self.id, 1);
  leases.adoptNode(saver, self.id);
  enqueueBlocks(reowned);
  for (let i = 0; i < reowned.length; i++) count(Stat.DhcpBlocksReowned);
}

/**
 * `dhcp_save`: OUT_DHCP_STATE chunks from the start (`restart`) or from where the last call stopped,
 * until the output is full; a first call always writes one (the saver's id, even with nothing to keep).
 */
export function dhcpSave(restart: bool): void {
  if (!poolReady()) return;
  if (restart) section.begin();
  else if (section.done()) return;
  do {
    if (!outputFits(CHUNK_MAX)) return; // the host calls again for the rest
    store<u64>(chunk, self.id);
    const n = <u32>8 + section.write(chunk + 8, CHUNK_MAX - 8);
    memory.copy(outputReserve(OUT_DHCP_STATE, n), chunk, n);
  } while (!section.done());
}
