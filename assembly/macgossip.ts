// The MAC table made distributed (docs/mactable.md, "Gossip"): new or moved
// local MACs and periodic refreshes go into the membership broadcast queue as
// MAC_UPDATE; received claims are applied and passed on epidemically; the
// push-pull exchange carries the table; a dead or departed member's MACs are
// dropped at once, and when it comes back a push-pull with it brings them back.
import { ADDR_LEN } from "./abi";
import { CLAIM_KEY_LEN, CLAIM_LEN, CLAIM_SIG_LEN, claimFormSign, claimFormVerify } from "./claims";
import { config } from "./config";
import {
  MAC_LOCAL, MAC_REMOTE, announced, dropOwner, macContest, macEntries, macFind, macKey, macSlots, slotKind, slotMac,
  slotOwner, slotSeen, slotSetSignature, slotSignature, slotSigned, slotTrailer, slotUsed, slotVersion, slotVlan,
  takeAnnouncement,
} from "./mactable";
import { BROADCAST_SPACE_MAC, broadcastEnqueue } from "./membership/broadcast";
import { SECTION_MACS } from "./membership/codec";
import { onMemberGone, onMemberJoin } from "./membership/events";
import { PushPullSection, pushPullRegister, pushPullSend } from "./membership/pushpull";
import { datagramBegin, datagramSend } from "./membership/send";
import { MemberState, memberById } from "./membership/state";
import { probeSilentHost } from "./hostprobe";
import { isBanned } from "./membership/bans";
import { self } from "./node";
import { serialNewer } from "./serial";
import { Stat, count } from "./stats";
import { wakeAt } from "./wake";
import {
  MACMSG_COPY_LEN, MACMSG_LEN, MAC_AGE_MAX, MAC_FROM_OWNER, macClaimForm, macCopyEncode, macMsgDecode, macMsgEncode,
  macUpdate, macUpdateApply,
} from "./wire/macmsg";

/** Slots the refresh sweep examines per slice at most (tens of microseconds), so no slice stalls the data path;
 *  what is due beyond it carries over to the next slices. */
const REFRESH_MAX_SLICE: f64 = 65536;
/** The sweep advances at most this often (as the ageing sweep, assembly/mactable.ts): a slice covers what accrued. */
const REFRESH_STEP_MS: f64 = 100;
/** Entries one push-pull carries at most (~1 MB with their keys and signatures); a larger table is
 *  covered over successive exchanges. */
const SECTION_MAX_ENTRIES: i32 = 8192;

const msg: usize = heap.alloc(MACMSG_LEN);
const trailer: usize = heap.alloc(CLAIM_LEN);

/** How often the owner re-announces each live local entry. */
export function macRefreshIntervalMs(): f64 {
  return config.macAgeingMs / <f64>config.macRefreshPerAgeing;
}

/** Members whose MACs we dropped when they died or left, so their return can be told from a new member. */
const droppedOwners = new Set<u64>();
const DROPPED_MAX: i32 = 4096;

function dropGone(id: u64): void {
  dropOwner(id);
  if (droppedOwners.size >= DROPPED_MAX) droppedOwners.clear(); // forgetting one costs a refresh interval at worst
  droppedOwners.add(id);
}
onMemberGone(dropGone);

/**
 * A member back from dead (a healed partition, a restart under the same id): while we held it dead we
 * refused its claims, and its side refused ours, so the tables would lag until the next refresh (up to a
 * refresh interval) or a lucky push-pull. A push-pull with it brings its MACs and those of its side
 * (and takes ours); returns in a burst (a heal) share one exchange per RESYNC_GAP_MS, with the latest.
 */
const RESYNC_GAP_MS: f64 = 1000;
let resyncWith: u64 = 0;
let resyncAt: f64 = Infinity;
let lastResync: f64 = -Infinity;

function resyncOnReturn(id: u64): void {
  if (!droppedOwners.has(id)) return; // a new member: its join push-pull brought it our table
  droppedOwners.delete(id);
  resyncWith = id;
  resyncAt = Math.max(self.now, lastResync + RESYNC_GAP_MS);
  wakeAt(resyncAt);
}
onMemberJoin(resyncOnReturn);

function resyncTick(now: f64): void {
  if (now < resyncAt) return;
  resyncAt = Infinity;
  lastResync = now;
  const m = memberById(resyncWith);
  if (m != null && m.live) pushPullSend(m.addr, 0);
}

/** A claim for a member we know to be dead, gone or removed would resurrect what dropOwner removed. */
function ownerGone(id: u64): bool {
  const m = memberById(id);
  return (m != null && !m.live) || isBanned(id);
}

/**
 * Push-pull passes on copies only for owners alive here. The receiver would not learn an owner we hold
 * suspect or dead (the member section does not add those there), so no death of it would reach it to
 * drop the entry (a node restarted under a new id got its old instance's MACs with its join, kept until
 * ageing: issue 19). Checked here, not where the copy lands: the member section may come in a later
 * datagram than the MACs.
 */
function ownerAlive(id: u64): bool {
  const m = memberById(id);
  return m != null && m.state == MemberState.Alive;
}

/** Queue the owner's claim, with its key and signature `ownerTrailer`, for gossip; a newer one for the same (mac, vlan) replaces it. */
function enqueue(mac: u64, vlan: u32, owner: u64, version: u32, ownerTrailer: usize): void {
  macMsgEncode(msg, MACMSG_LEN, mac, vlan, owner, version, MAC_FROM_OWNER, ownerTrailer);
  broadcastEnqueue(msg, MACMSG_LEN, BROADCAST_SPACE_MAC, macKey(mac, vlan));
}

/**
 * The owner's key and signature of the entry at slot `s` (in a buffer the next call reuses), or 0 when
 * it has none. Our own claims are signed once per (owner, version), when first sent; a remote entry
 * keeps the signature it came with, and its key is its owner's (known while the entry is).
 */
function trailerOf(s: i32): usize {
  if (slotTrailer(s, trailer)) return trailer;
  if (slotKind(s) != MAC_LOCAL) return 0;
  claimFormSign(macClaimForm(slotMac(s), slotVlan(s), slotOwner(s), slotVersion(s)), trailer);
  slotSetSignature(s, trailer + CLAIM_KEY_LEN);
  return trailer;
}

/** The entry at `s` holds exactly the decoded claim, already verified when it was installed. */
function holdsClaim(s: i32): bool {
  const u = macUpdate;
  return s >= 0 && slotSigned(s) && slotOwner(s) == u.owner && slotVersion(s) == u.version &&
    memory.compare(slotSignature(s), u.trailer + CLAIM_KEY_LEN, CLAIM_SIG_LEN) == 0;
}

/** The decoded claim carries its owner's key and signature. */
function signedByOwner(): bool {
  const u = macUpdate;
  if (claimFormVerify(macClaimForm(u.mac, u.vlan, u.owner, u.version), u.trailer)) return true;
  count(Stat.MacUpdateBadSignature);
  return false;
}

/**
 * Apply the decoded `macUpdate`, and pass on an owner's claim that was news
 * here: it changed the table, or it is the first refresh of its round (the
 * entry was last refreshed more than half a refresh interval ago). Later
 * copies of the same round are not news, so each member relays it once.
 */
function applyAndRelay(now: f64, src: usize): void {
  const u = macUpdate;
  if (u.owner != self.id && ownerGone(u.owner)) { count(Stat.MacUpdateOwnerGone); return; }
  const fromOwner = (u.flags & MAC_FROM_OWNER) != 0;
  const s = macFind(u.mac, u.vlan);
  const verified = holdsClaim(s);
  if (!verified && !signedByOwner()) return;
  if (u.owner != self.id && macContest(s, u.version, now)) { answerStale(src, s); return; }
  const before = s >= 0 ? slotSeen(s) : -Infinity;
  const previous = s >= 0 && slotKind(s) == MAC_REMOTE ? slotOwner(s) : 0;
  const ourHost = s >= 0 && slotKind(s) == MAC_LOCAL; // not contested above: silent for a while
  let news = macUpdateApply(now);
  if (news && ourHost && u.owner != self.id) probeSilentHost(u.mac, u.vlan);
  if (!news && beatsClaim(s)) answerStale(src, s);
  if (news && !verified) keepSignature();
  if (news && fromOwner && previous != 0 && previous != u.owner) tellPrevious(src, previous);
  if (!news && s >= 0 && fromOwner && slotKind(s) == MAC_REMOTE && slotOwner(s) == u.owner &&
    slotVersion(s) == u.version) {
    news = now - before >= macRefreshIntervalMs() / 2;
  }
  if (news && fromOwner && u.owner != self.id) {
    enqueue(u.mac, u.vlan, u.owner, u.version, u.trailer);
    count(Stat.MacUpdatesRelayed);
  }
}

/** Our entry at `s` beats the decoded claim: a newer version, or the same version from a higher owner. */
function beatsClaim(s: i32): bool {
  if (s < 0) return false;
  const u = macUpdate;
  const v = slotVersion(s);
  return serialNewer(v, u.version) || (v == u.version && slotOwner(s) > u.owner);
}

/** Direct MAC messages (stale answers, moves told), at most (a token bucket): a MAC speaking behind
 *  two nodes at once (a duplicate, a flap) makes both contest each other's claims, and direct
 *  messages must not turn that into a ping-pong at the network's round trip; gossip carries the rest. */
const DIRECT_PER_SEC: f64 = 32;
let directTokens: f64 = DIRECT_PER_SEC;
let directRefilledAt: f64 = 0;

function takeDirectToken(): bool {
  const now = self.now;
  directTokens = Math.min(DIRECT_PER_SEC, directTokens + (now - directRefilledAt) * DIRECT_PER_SEC / 1000);
  directRefilledAt = now;
  if (directTokens < 1) { count(Stat.MacDirectLimited); return false; }
  directTokens -= 1;
  return true;
}

/**
 * The peer at `src` sent a claim that loses to our entry at `s` (stale, or contested here): it holds the
 * losing claim, so it gets ours back at once, alone in a datagram, rather than waiting for a broadcast
 * (each member misses one with probability about e^-limit) or the next push-pull. Without this a member
 * that took a spoofed claim and missed the owner's contest kept it up to a push-pull interval. One
 * answer of the same size per stale claim received, within DIRECT_PER_SEC: nothing to amplify.
 * `src` 0: a push-pull entry (its exchange answers it already).
 */
function answerStale(src: usize, s: i32): void {
  if (src == 0 || slotOwner(s) == 0) return; // a MAC learnt before IN_IDENTITY is nobody's claim yet
  if (!takeDirectToken()) return;
  const t = trailerOf(s);
  if (t == 0) return;
  sendClaim(src, slotMac(s), slotVlan(s), slotOwner(s), slotVersion(s), t);
  count(Stat.MacStaleAnswered);
}

/** One owner's claim (FROM_OWNER, with its `trailer`), alone in a datagram to `to`. */
function sendClaim(to: usize, mac: u64, vlan: u32, owner: u64, version: u32, trailer: usize): void {
  const w = datagramBegin();
  if (w.room() < MACMSG_LEN) return;
  macMsgEncode(w.cursor(), MACMSG_LEN, mac, vlan, owner, version, MAC_FROM_OWNER, trailer);
  w.add(MACMSG_LEN);
  datagramSend(to);
}

/**
 * The decoded claim, straight from its owner at `src`, took the MAC from `previous` here: the
 * previous owner hears of it at once, from each member the claimant told (about `limit`, not every
 * member), rather than by a broadcast it may miss. If its TAP still sees the MAC, it contests at once
 * (and answers us), before the claim has spread: a spoofed claim then reaches no further than the
 * members its maker sent it to. A real move costs the old owner those few datagrams. Within the
 * direct answers' budget.
 */
function tellPrevious(src: usize, previous: u64): void {
  if (src == 0) return; // a push-pull entry: a copy, not the claimant's word
  const u = macUpdate;
  const claimant = memberById(u.owner);
  const old = memberById(previous);
  if (claimant == null || old == null || !old.live || memory.compare(claimant.addr, src, ADDR_LEN) != 0) return;
  if (!takeDirectToken()) return;
  sendClaim(old.addr, u.mac, u.vlan, u.owner, u.version, u.trailer);
  count(Stat.MacMoveTold);
}

/** The decoded claim changed the table: its entry keeps the signature to pass the claim on (push-pull). */
function keepSignature(): void {
  const u = macUpdate;
  const t = macFind(u.mac, u.vlan);
  if (t >= 0 && slotOwner(t) == u.owner && slotVersion(t) == u.version) slotSetSignature(t, u.trailer + CLAIM_KEY_LEN);
}

/** A MAC_UPDATE message received from a peer. */
export function macGossipMessage(src: usize, p: usize, len: u32, now: f64): void {
  if (!macMsgDecode(p, len)) { count(Stat.MacUpdateMalformed); return; }
  applyAndRelay(now, src);
}

let refreshCursor: i32 = 0;
let refreshLast: f64 = 0;
let refreshCredit: f64 = 0;

/**
 * Queue the table's announcements (at most its 1024-key queue; learning one wakes the ticks) and the
 * slice of the refresh sweep due since the last call; returns the next deadline. Nothing is
 * announced before IN_IDENTITY gives us an id to own MACs with.
 */
export function macGossipTick(now: f64): f64 {
  if (self.id == 0) return Infinity;
  while (takeAnnouncement()) {
    const s = macFind(announced.mac, announced.vlan);
    enqueue(announced.mac, announced.vlan, announced.owner, announced.version, trailerOf(s));
    count(Stat.MacAnnounced);
  }
  resyncTick(now);
  return Math.min(refreshTick(now), resyncAt);
}

/**
 * The periodic refresh, spread over time: the sweep walks the table's slots at
 * a rate that covers them all once per refresh interval, re-announcing each
 * local entry seen on our TAP within the ageing time. Returns when the next
 * slice is due (every REFRESH_STEP_MS while the table holds entries).
 */
function refreshTick(now: f64): f64 {
  const slots = macSlots();
  if (slots <= 0 || macEntries() == 0) {
    refreshCredit = 0;
    refreshLast = now; // an empty table accrues nothing: the first entry, learnt later, wakes the ticks
    return Infinity;
  }
  const dt = now - refreshLast;
  if (dt < REFRESH_STEP_MS) return refreshLast + REFRESH_STEP_MS;
  refreshLast = now;
  refreshCredit = Math.min(refreshCredit + <f64>slots * dt / macRefreshIntervalMs(), <f64>slots);
  const n = <i32>Math.min(refreshCredit, REFRESH_MAX_SLICE);
  refreshCredit -= <f64>n;
  let i = refreshCursor & (slots - 1);
  for (let k = 0; k < n; k++) {
    if (slotUsed(i) && slotKind(i) == MAC_LOCAL && now - slotSeen(i) < config.macAgeingMs) {
      enqueue(slotMac(i), slotVlan(i), slotOwner(i), slotVersion(i), trailerOf(i));
      count(Stat.MacRefreshesQueued);
    }
    i = (i + 1) & (slots - 1);
  }
  refreshCursor = i;
  return now + REFRESH_STEP_MS;
}

/**
 * The MAC table in push-pull (section SECTION_MACS): MAC_UPDATE entries with
 * their age (MACMSG_COPY_LEN bytes each). Our own live entries go with
 * FROM_OWNER and age 0; remote ones as copies, with the time since their owner
 * last refreshed them, so a copy expires where it lands when it would have
 * where it came from. Each exchange starts where the previous one stopped.
 */
class MacSection extends PushPullSection {
  private start: i32 = 0;
  private cursor: i32 = 0;
  private slots: i32 = 0;
  private visited: i32 = 0;
  private written: i32 = 0;
  constructor() { super(SECTION_MACS); }

  begin(): void {
    this.slots = macSlots();
    this.cursor = this.slots > 0 ? this.start & (this.slots - 1) : 0;
    this.visited = 0;
    this.written = 0;
  }

  done(): bool { return this.visited >= this.slots || this.written >= SECTION_MAX_ENTRIES; }

  write(buf: usize, cap: u32): u32 {
    const now = self.now;
    let used: u32 = 0;
    while (!this.done()) {
      const i = this.cursor;
      if (slotUsed(i)) {
        const kind = slotKind(i);
        const age = now - slotSeen(i);
        const sendable = (kind == MAC_LOCAL || (kind == MAC_REMOTE && ownerAlive(slotOwner(i)))) &&
          age < config.macAgeingMs && slotOwner(i) != 0;
        const t = sendable ? trailerOf(i) : 0;
        if (t != 0) {
          if (cap - used < MACMSG_COPY_LEN) break;
          const local = kind == MAC_LOCAL;
          const ageMs = local ? 0 : <u32>Math.min(Math.max(age, 0), MAC_AGE_MAX);
          macCopyEncode(buf + used, MACMSG_COPY_LEN, slotMac(i), slotVlan(i), slotOwner(i), slotVersion(i),
            local ? MAC_FROM_OWNER : 0, ageMs, t);
          used += MACMSG_COPY_LEN;
          this.written++;
        }
      }
      this.cursor = (i + 1) & (this.slots - 1);
      this.visited++;
    }
    if (this.done()) this.start = this.cursor;
    return used;
  }

  read(ptr: usize, len: u32, from: u64): void {
    if (len % MACMSG_COPY_LEN != 0) { count(Stat.MacUpdateMalformed); return; }
    for (let off: u32 = 0; off < len; off += MACMSG_COPY_LEN) {
      if (!macMsgDecode(ptr + off, MACMSG_COPY_LEN)) { count(Stat.MacUpdateMalformed); continue; }
      applyAndRelay(self.now, 0);
    }
  }
}

pushPullRegister(new MacSection());
