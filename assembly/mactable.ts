// The distributed MAC table: which node owns each (MAC, VLAN). docs/mactable.md
// describes the rules; in short, the node that sees a MAC as a source on its
// TAP owns it and bumps its version, gossip spreads (owner, version), higher
// version wins and ties go to the higher owner id, so every node converges.
//
// Open addressing with linear probing over parallel arrays that double as the
// table fills (no allocation per lookup, one rehash per doubling), backward-shift
// deletion (no tombstones), load factor at most 1/2.
import { OUTPUT_CAPACITY, OUT_MAC, REC_HEADER, alignUp } from "./abi";
import { config } from "./config";
import { self } from "./node";
import { outputLength, outputReserve } from "./queue";
import { Stat, count } from "./stats";
import { wakeNow } from "./wake";
import { SIG_NONE, sigKeep, sigPtr, sigRelease, sigTrailer } from "./claimsigs";
import { putMac } from "./wire/bytes";
import { nextVersion, serialNewer } from "./serial";

// Entry kinds (also in OUT_MAC records).
export const MAC_LOCAL: u8 = 1; // seen as a source on our TAP (owner is this node)
export const MAC_REMOTE: u8 = 2; // learnt through gossip

/** No key packs to this: VLAN ids use 12 of the top 16 bits. */
const EMPTY: u64 = 0xffff_ffff_ffff_ffff;
const MAC_MASK: u64 = 0xffff_ffff_ffff;
export const VLAN_MAX: u32 = 0x0fff;

/**
 * A claim by another node on a MAC our TAP saw less than this long ago is contested, not followed: a
 * host that moved stops speaking here, so a real move waits at most this long (and the mover's next
 * frame) while a member claiming a speaking host's MAC loses at once (docs/mactable.md "Contested claims").
 */
export const MAC_CONTEST_MS: f64 = 1000;

/** Changed local keys the gossip layer has not taken yet; overflow is counted (periodic push covers it). */
const ANNOUNCE_CAPACITY: i32 = 1024;

// Ageing sweeps the whole table once per ageing/SWEEPS_PER_AGEING ms, in
// slices of at most AGE_MAX_SLICE slots per call so no call stalls the data path.
const SWEEPS_PER_AGEING: f64 = 4;
const AGE_MIN_SLICE: i32 = 64;
// A slice is swept this often while the table holds entries (the ageing tick's
// deadline, assembly/wake.ts; docs/mactable.md "Ageing").
const AGE_INTERVAL_MS: f64 = 100;
const AGE_MAX_SLICE: i32 = 4096;

// @ts-ignore: decorator
@inline export function macKey(mac: u64, vlan: u32): u64 {
  return ((<u64>vlan & VLAN_MAX) << 48) | (mac & MAC_MASK);
}
// @ts-ignore: decorator
@inline export function keyMac(key: u64): u64 { return key & MAC_MASK; }
// @ts-ignore: decorator
@inline export function keyVlan(key: u64): u32 { return <u32>(key >> 48); }

/**
 * Slots of the smallest table (33 KB). The table doubles when an insert would take it past half full, so
 * it holds what was learnt, not the capacity: sized for the default 65536 entries up front it was 4.3 MB,
 * all of it touched at the first learnt MAC (issue 19's memory budget, docs/performance.md "Memory").
 * Not smaller: with 16 to 256 slots the simulated 5/3 partition heal (tests/sim/heal.test.mjs) saw a MAC
 * table lag its members by 10-14 s in 2 of 12 seeds, the order entries are swept in being what changed.
 */
const MIN_SLOTS: i32 = 1024;
let shift: u32 = 64; // 64 - log2(slot count), for Fibonacci hashing
let mask: i32 = -1; // slot count - 1; -1 until the first insert sizes the table
let used: u32 = 0;
let keys = new StaticArray<u64>(0);
let owners = new StaticArray<u64>(0);
let versions = new StaticArray<u32>(0);
let seen = new StaticArray<f64>(0); // local: last seen on TAP; remote: last refreshed by gossip
let kinds = new StaticArray<u8>(0);
/** Per slot, the owner's signature of its (owner, version) claim, a reference into assembly/claimsigs.ts
 *  (SIG_NONE: none; a claim changed here, ours re-versioned, is signed again when sent). */
let sigRefs = new StaticArray<u32>(0);

const announceKeys = new StaticArray<u64>(ANNOUNCE_CAPACITY);
let announceHead: i32 = 0;
let announceLen: i32 = 0;

let ageCursor: i32 = 0;
let ageLast: f64 = 0;

/**
 * Empty the table (back to its smallest size). Capacity is only a limit on entries: lowering it stops
 * new entries until ageing brings the count under it.
 */
export function macReset(): void {
  for (let i = 0, n = sigRefs.length; i < n; i++) sigRelease(unchecked(sigRefs[i]));
  allocate(MIN_SLOTS);
  announceHead = 0;
  announceLen = 0;
  ageCursor = 0;
  ageLast = self.now;
}

function allocate(slots: i32): void {
  shift = 64 - <u32>ctz(slots);
  mask = slots - 1;
  used = 0;
  keys = new StaticArray<u64>(slots);
  owners = new StaticArray<u64>(slots);
  versions = new StaticArray<u32>(slots);
  seen = new StaticArray<f64>(slots);
  kinds = new StaticArray<u8>(slots);
  sigRefs = new StaticArray<u32>(slots);
  for (let i = 0; i < slots; i++) unchecked(keys[i] = EMPTY);
}

/** Doubles the table (a rehash; the first insert allocates the smallest one). */
function grow(): void {
  const oldKeys = keys, oldOwners = owners, oldVersions = versions, oldSeen = seen, oldKinds = kinds;
  const oldSigRefs = sigRefs;
  allocate(mask < 0 ? MIN_SLOTS : (mask + 1) * 2);
  for (let i = 0, n = oldKeys.length; i < n; i++) {
    const k = unchecked(oldKeys[i]);
    if (k == EMPTY) continue;
    const s = probe(k);
    place(~s, k, unchecked(oldOwners[i]), unchecked(oldVersions[i]), unchecked(oldSeen[i]), unchecked(oldKinds[i]));
    unchecked(sigRefs[~s] = oldSigRefs[i]);
  }
  ageCursor = 0;
}

// @ts-ignore: decorator
@inline function home(key: u64): i32 {
  return <i32>((key * 0x9e37_79b9_7f4a_7c15) >> shift);
}

/** Slot holding `key`, or ~slot of the empty slot where it would go. */
function probe(key: u64): i32 {
  let i = home(key);
  while (true) {
    const k = unchecked(keys[i]);
    if (k == key) return i;
    if (k == EMPTY) return ~i;
    i = (i + 1) & mask;
  }
}

/** Slot holding (mac, vlan), or -1. */
export function macFind(mac: u64, vlan: u32): i32 {
  if (used == 0) return -1;
  const s = probe(macKey(mac, vlan));
  return s < 0 ? -1 : s;
}

function place(slot: i32, key: u64, owner: u64, version: u32, at: f64, kind: u8): void {
  unchecked(keys[slot] = key);
  unchecked(owners[slot] = owner);
  unchecked(versions[slot] = version);
  unchecked(seen[slot] = at);
  unchecked(kinds[slot] = kind);
  unchecked(sigRefs[slot] = SIG_NONE);
  used++;
  if (used == 1) wakeNow(); // the ageing and refresh sweeps start again
}

/** Free slot for a new key, or -1 when the table is at capacity (counted). */
function claim(key: u64): i32 {
  if (used >= config.macCapacity) {
    count(Stat.MacTableFull);
    return -1;
  }
  if ((<i32>used + 1) * 2 > mask + 1) grow();
  return ~probe(key);
}

/** Remove the entry at `slot`, shifting later cluster members back so probes never meet a hole. */
function removeAt(slot: i32): void {
  sigRelease(unchecked(sigRefs[slot]));
  let hole = slot;
  let i = (slot + 1) & mask;
  while (true) {
    const k = unchecked(keys[i]);
    if (k == EMPTY) break;
    const h = home(k);
    // Move k into the hole unless its home lies cyclically in (hole, i].
    if (((i - h) & mask) >= ((i - hole) & mask)) {
      unchecked(keys[hole] = k);
      unchecked(owners[hole] = owners[i]);
      unchecked(versions[hole] = versions[i]);
      unchecked(seen[hole] = seen[i]);
      unchecked(kinds[hole] = kinds[i]);
      unchecked(sigRefs[hole] = sigRefs[i]);
      hole = i;
    }
    i = (i + 1) & mask;
  }
  unchecked(keys[hole] = EMPTY);
  used--;
}


/** A new (owner, version) at `slot`: the signature held for the old one no longer applies. */
function setClaim(slot: i32, owner: u64, version: u32): void {
  unchecked(owners[slot] = owner);
  unchecked(versions[slot] = version);
  sigRelease(unchecked(sigRefs[slot]));
  unchecked(sigRefs[slot] = SIG_NONE);
}

function announce(key: u64): void {
  if (announceLen == ANNOUNCE_CAPACITY) {
    count(Stat.MacAnnounceOverflow);
    return;
  }
  unchecked(announceKeys[(announceHead + announceLen) % ANNOUNCE_CAPACITY] = key);
  announceLen++;
  wakeNow(); // the MAC gossip tick queues it (assembly/macgossip.ts)
}

/**
 * A MAC seen as a source on our TAP at `now`. Returns true when the entry is
 * new or moved here (it is then queued for announcement); a known local MAC
 * only has its last-seen time refreshed.
 */
export function learnLocal(mac: u64, vlan: u32, now: f64): bool {
  const key = macKey(mac, vlan);
  if (used > 0) {
    const s = probe(key);
    if (s >= 0) {
      const kind = unchecked(kinds[s]);
      if (kind == MAC_LOCAL) {
        unchecked(seen[s] = now);
        return false;
      }
      // Owned by another node: the MAC moved here.
      setClaim(s, self.id, nextVersion(versions[s]));
      unchecked(seen[s] = now);
      unchecked(kinds[s] = MAC_LOCAL);
      count(Stat.MacMoved);
      announce(key);
      return true;
    }
  }
  const slot = claim(key);
  if (slot < 0) return false;
  place(slot, key, self.id, 1, now, MAC_LOCAL);
  count(Stat.MacLearned);
  announce(key);
  return true;
}

/**
 * A gossiped (owner, version) for (mac, vlan). The newer version wins (serial
 * arithmetic, assembly/serial.ts: the owner's next claim always beats the last,
 * whatever value it had); on equal versions the higher owner id wins.
 * Returns true when the entry was installed or changed.
 *
 * `fromOwner`: the owner itself vouches for the entry now (its announcement or
 * refresh, possibly relayed by gossip); only such a claim refreshes an entry
 * with the same (owner, version). A copy from another node's table (push-pull)
 * gives `age`, ms since that node last had it refreshed by the owner: it is
 * installed as refreshed `age` ago and refreshes nothing, so relayed copies
 * cannot keep an entry alive after its owner stopped refreshing it.
 * An update naming this node as owner (our claim from before a restart, or
 * one coming back around) only raises the version of a MAC still behind our
 * TAP, keeping its last-seen time; otherwise it is ignored, so a claim we no
 * longer make ages away everywhere instead of being refreshed by us again.
 */
export function applyRemote(
  mac: u64, vlan: u32, owner: u64, version: u32, now: f64, fromOwner: bool = true, age: f64 = 0,
): bool {
  if (fromOwner || !(age > 0)) age = 0;
  if (age >= config.macAgeingMs) return false; // expired where it came from
  const at = now - age;
  const key = macKey(mac, vlan);
  const s = used > 0 ? probe(key) : -1;
  if (owner == self.id) return adoptOwnVersion(s, version);
  const kind = MAC_REMOTE;
  if (s < 0) {
    const slot = claim(key);
    if (slot < 0) return false;
    place(slot, key, owner, version, at, kind);
    count(Stat.MacRemoteApplied);
    return true;
  }
  const curVersion = unchecked(versions[s]);
  const curOwner = unchecked(owners[s]);
  if (version == curVersion && owner == curOwner) {
    if (fromOwner) unchecked(seen[s] = now);
    return false;
  }
  if (serialNewer(curVersion, version) || (version == curVersion && owner < curOwner)) {
    count(Stat.MacRemoteStale);
    return false;
  }
  if (unchecked(kinds[s]) == MAC_LOCAL) count(Stat.MacMovedAway);
  setClaim(s, owner, version);
  unchecked(seen[s] = at);
  unchecked(kinds[s] = kind);
  count(Stat.MacRemoteApplied);
  return true;
}

/**
 * Another node's claim at `version` on the MAC at slot `s` (-1: none), gossiped: when our TAP saw the
 * MAC less than MAC_CONTEST_MS before `now` it has not moved, so the claim is stale or spoofed (an
 * insider claiming it as its own) and ours, at the claim's version + 1, beats it everywhere. A claim
 * at our own version is contested whenever it comes: a node that takes a MAC claims the version after
 * the one it saw, so a tie is no move, only a bid for the tie-break (the higher owner id wins it, and
 * a member can grind its key for a high id), which a claim made before our host's last frame could
 * otherwise win long after. Returns whether it contested (the claim is then not applied).
 */
export function macContest(s: i32, version: u32, now: f64): bool {
  if (s < 0 || unchecked(kinds[s]) != MAC_LOCAL) return false;
  const ours = unchecked(versions[s]);
  const speaking = now - unchecked(seen[s]) < MAC_CONTEST_MS;
  if (version != ours && !(speaking && serialNewer(version, ours))) return false;
  setClaim(s, self.id, nextVersion(version));
  count(Stat.MacClaimContested);
  announce(unchecked(keys[s]));
  return true;
}

/** Our own claim at `version` for the entry at slot `s` (-1: none): adopted only by a local entry. */
function adoptOwnVersion(s: i32, version: u32): bool {
  if (s < 0 || unchecked(kinds[s]) != MAC_LOCAL || !serialNewer(version, unchecked(versions[s]))) return false;
  setClaim(s, self.id, version);
  count(Stat.MacRemoteApplied);
  return true;
}

/**
 * Our node id changed (IN_IDENTITY; it is 0 before the first one): every local
 * entry is re-owned by the new `self.id` at version + 1, so the new claim beats
 * the old one everywhere, and queued for announcement. Returns how many.
 */
export function macAdoptIdentity(): i32 {
  let n = 0;
  for (let i = 0; i <= mask; i++) {
    const k = unchecked(keys[i]);
    if (k == EMPTY || unchecked(kinds[i]) != MAC_LOCAL) continue;
    setClaim(i, self.id, nextVersion(versions[i]));
    announce(k);
    n++;
  }
  return n;
}

/**
 * Queues every local entry for announcement again: we refuted an accusation, so members that took us
 * for dead dropped our MACs (assembly/macgossip.ts) and must learn them again now, not at the next
 * refresh. Returns how many.
 */
export function macAnnounceLocal(): i32 {
  let n = 0;
  for (let i = 0; i <= mask; i++) {
    const k = unchecked(keys[i]);
    if (k == EMPTY || unchecked(kinds[i]) != MAC_LOCAL) continue;
    announce(k);
    n++;
  }
  return n;
}

/** Owner of (mac, vlan), 0 when unknown. */
export function lookup(mac: u64, vlan: u32): u64 {
  const s = macFind(mac, vlan);
  return s < 0 ? 0 : unchecked(owners[s]);
}

/**
 * Remove entries not seen (local) or refreshed (remote) for config.macAgeingMs.
 * Examines at most `budget` slots from where the last call stopped; returns
 * how many entries were removed.
 */
export function age(now: f64, budget: i32): i32 {
  if (used == 0) return 0;
  const slots = mask + 1;
  if (budget > slots) budget = slots;
  const cutoff = now - config.macAgeingMs;
  let removed = 0;
  let i = ageCursor & mask;
  for (let n = 0; n < budget; n++) {
    if (unchecked(keys[i]) != EMPTY && unchecked(seen[i]) <= cutoff) {
      // The shift may pull an unexamined entry into slot i: look at it again.
      removeAt(i);
      removed++;
      count(Stat.MacAged);
      continue;
    }
    i = (i + 1) & mask;
  }
  ageCursor = i;
  return removed;
}

/**
 * The ageing slice due at `now`: enough slots that a full sweep takes about
 * macAgeingMs / SWEEPS_PER_AGEING, bounded per slice. Returns when the next is
 * due (Infinity while the table is empty: the first entry wakes the ticks).
 */
export function ageTick(now: f64): f64 {
  if (used == 0) return Infinity;
  const dt = now - ageLast;
  if (dt < AGE_INTERVAL_MS) return ageLast + AGE_INTERVAL_MS;
  ageLast = now;
  const want = <f64>(mask + 1) * dt * SWEEPS_PER_AGEING / config.macAgeingMs;
  let slice = want >= <f64>AGE_MAX_SLICE ? AGE_MAX_SLICE : <i32>Math.ceil(want);
  if (slice < AGE_MIN_SLICE) slice = AGE_MIN_SLICE;
  age(now, slice);
  return used == 0 ? Infinity : now + AGE_INTERVAL_MS;
}

/**
 * Remove every entry owned by node `id` (it died or left); returns how
 * many. One pass suffices: a
 * backward shift only moves entries from ahead of the scan into the hole at it.
 */
export function dropOwner(id: u64): i32 {
  let removed = 0;
  let i = 0;
  while (i <= mask && used > 0) {
    if (unchecked(keys[i]) != EMPTY && unchecked(owners[i]) == id) {
      removeAt(i);
      removed++;
      count(Stat.MacDroppedOwner);
      continue;
    }
    i++;
  }
  return removed;
}

// Announcements: local entries that are new or moved, for the gossip layer.
/** The entry taken by the latest successful `takeAnnouncement`. */
export class MacEntry {
  mac: u64 = 0;
  vlan: u32 = 0;
  owner: u64 = 0;
  version: u32 = 0;
}
export const announced = new MacEntry();

/**
 * Take the next changed local entry into `announced`; false when none is left.
 * Keys that are no longer ours (moved away or aged since) are skipped.
 */
export function takeAnnouncement(): bool {
  while (announceLen > 0) {
    const key = unchecked(announceKeys[announceHead]);
    announceHead = (announceHead + 1) % ANNOUNCE_CAPACITY;
    announceLen--;
    const s = used > 0 ? probe(key) : -1;
    if (s < 0 || unchecked(kinds[s]) != MAC_LOCAL) continue;
    announced.mac = keyMac(key);
    announced.vlan = keyVlan(key);
    announced.owner = unchecked(owners[s]);
    announced.version = unchecked(versions[s]);
    return true;
  }
  return false;
}

// Slot access for iteration (periodic refresh, push-pull, dumps). Slots are
// stable only while the table is not modified.
export function macEntries(): u32 { return used; }
export function macSlots(): i32 { return mask + 1; }
export function slotUsed(i: i32): bool { return unchecked(keys[i]) != EMPTY; }
export function slotMac(i: i32): u64 { return keyMac(unchecked(keys[i])); }
export function slotVlan(i: i32): u32 { return keyVlan(unchecked(keys[i])); }
export function slotOwner(i: i32): u64 { return unchecked(owners[i]); }
export function slotVersion(i: i32): u32 { return unchecked(versions[i]); }
export function slotSeen(i: i32): f64 { return unchecked(seen[i]); }
export function slotKind(i: i32): u8 { return unchecked(kinds[i]); }
/** The owner's signature of the entry's claim (64 bytes), meaningful when `slotSigned`. */
export function slotSignature(i: i32): usize { return sigPtr(unchecked(sigRefs[i])); }
export function slotSigned(i: i32): bool { return unchecked(sigRefs[i]) != SIG_NONE; }
export function slotSetSignature(i: i32, sig: usize): void {
  unchecked(sigRefs[i] = sigKeep(unchecked(sigRefs[i]), sig));
}
/** The entry's claim trailer (its owner's key, the signature) at `out`; false when it has none to pass on. */
export function slotTrailer(i: i32, out: usize): bool { return sigTrailer(unchecked(owners[i]), unchecked(sigRefs[i]), out); }

// OUT_MAC record body (docs/abi.md), little-endian like every record field.
export const DUMP_MAC: u32 = 0; // 6 bytes, network order
export const DUMP_VLAN: u32 = 6; // u16
export const DUMP_OWNER: u32 = 8; // u64
export const DUMP_AGE: u32 = 16; // f64 ms since last seen/refreshed
export const DUMP_VERSION: u32 = 24; // u32
export const DUMP_KIND: u32 = 28; // u8 kind (MAC_LOCAL..), then 3 bytes zero
export const DUMP_LEN: u32 = 32;

function noExtraLen(key: u64): u32 { return 0; }
function noExtra(key: u64, p: usize): void {}

/**
 * Write one OUT_MAC record per entry from slot `from` on, until the output is
 * full; returns the slot to continue from, or 0 when the dump is complete.
 * Each record's body is followed by `extraLen(key)` bytes `writeExtra` fills (the MAC's IP bindings).
 */
export function macDump(
  from: i32, now: f64, extraLen: (key: u64) => u32 = noExtraLen, writeExtra: (key: u64, p: usize) => void = noExtra,
): i32 {
  for (let i = from < 0 ? 0 : from; i <= mask; i++) {
    const key = unchecked(keys[i]);
    if (key == EMPTY) continue;
    const extra = extraLen(key);
    if (OUTPUT_CAPACITY - outputLength() < alignUp(REC_HEADER + DUMP_LEN + extra)) return i; // next page
    const body = outputReserve(OUT_MAC, DUMP_LEN + extra);
    store<u64>(body + DUMP_MAC, 0); // zero the 2 bytes after the MAC
    putMac(body + DUMP_MAC, keyMac(key));
    store<u16>(body + DUMP_VLAN, <u16>keyVlan(key));
    store<u64>(body + DUMP_OWNER, unchecked(owners[i]));
    store<f64>(body + DUMP_AGE, now - unchecked(seen[i]));
    store<u32>(body + DUMP_VERSION, unchecked(versions[i]));
    store<u32>(body + DUMP_KIND, <u32>unchecked(kinds[i]));
    writeExtra(key, body + DUMP_LEN);
  }
  return 0;
}
