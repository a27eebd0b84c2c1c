// IP-to-MAC bindings per VLAN (docs/arp.md): learnt by the node that owns the MAC from its hosts'
// ARP and Neighbor Discovery (and the switch's DHCP leases), announced by that node as IP_BINDING
// gossip, and valid only while the MAC table says the same node owns the MAC: a binding ages and
// goes with its MAC. Per (VLAN, address) the newer version wins (assembly/serial.ts), ties to the higher owner id,
// like MAC entries. A binding that changes MAC is a move; two MACs taking turns within
// CONFLICT_MS is a conflict; MOVE_LIMIT moves in MOVE_WINDOW_MS freeze it here (EVPN dampening).
// Every claim is signed by its owner (docs/arp.md "Signed bindings"), kept in the claim signature pool
// like a MAC entry's, so a member speaks only for its own MACs' addresses.
import { CLAIM_KEY_LEN, CLAIM_LEN, CLAIM_SIG_LEN, claimFormSign, claimFormVerify } from "./claims";
import { SIG_NONE, sigKeep, sigPtr, sigRelease, sigTrailer } from "./claimsigs";
import { config } from "./config";
import { MAC_LOCAL, MAC_REMOTE, macFind, macKey, slotKind, slotOwner } from "./mactable";
import { BROADCAST_SPACE_BINDING, broadcastEnqueue } from "./membership/broadcast";
import { self } from "./node";
import { outputLog } from "./queue";
import { Stat, count } from "./stats";
import { wakeAt } from "./wake";
import { getU32, putU32, putU64 } from "./wire/bytes";
import { BINDMSG_V6_LEN, IpAddr, bindClaimForm, bindMsgDecode, bindMsgEncode, bindUpdate } from "./wire/bindmsg";
import { isBanned } from "./membership/bans";
import { memberById } from "./membership/state";
import { nextVersion, serialNewer } from "./serial";

/** Two MACs claiming one address less than this apart claim it at once: a conflict. */
export const CONFLICT_MS: f64 = 5_000;
/** EVPN (RFC 7432 15.1): this many moves within MOVE_WINDOW_MS freeze the binding for the window. */
export const MOVE_LIMIT: i32 = 5;
export const MOVE_WINDOW_MS: f64 = 180_000;
/** How long a binding whose MAC entry is missing or owned elsewhere is kept before it is removed
 *  (its IP_BINDING may arrive before the MAC_UPDATE it goes with). */
const ORPHAN_GRACE_MS: f64 = 10_000;
/** The sweep (removal, periodic re-announcement) runs at most this often. */
const SWEEP_INTERVAL_MS: f64 = 1_000;

export class Binding {
  readonly ip: IpAddr = new IpAddr();
  vlan: u32 = 0;
  mac: u64 = 0;
  owner: u64 = 0;
  version: u32 = 0;
  router: bool = false;
  /** Local: last claimed by the host; remote: last refreshed by the owner. */
  seen: f64 = 0;
  /** When the MAC last changed here, for conflicts. */
  changed: f64 = -Infinity;
  /** Local: when last queued for gossip. */
  announced: f64 = -Infinity;
  moves: i32 = 0;
  movesSince: f64 = -Infinity;
  frozenUntil: f64 = -Infinity;
  conflictLogged: bool = false;
  /** The owner's signature of the claim (owner, version, MAC, router flag): a claim signature pool
   *  reference (assembly/claimsigs.ts), SIG_NONE once the claim changed here and until it is signed. */
  sig: u32 = SIG_NONE;

  /** The claim changed: the signature held for the old one no longer applies. */
  unsign(): void {
    sigRelease(this.sig);
    this.sig = SIG_NONE;
  }
}

const table = new Map<string, Binding>();
const keyScratch: usize = heap.alloc(20);
const msg: usize = heap.alloc(BINDMSG_V6_LEN);
const trailer: usize = heap.alloc(CLAIM_LEN);
const scratchIp = new IpAddr();

/**
 * The owner's key and signature of `b` (in a buffer the next call reuses), or 0 when there are none to
 * pass on. Ours are signed once per claim, when first sent; a remote binding keeps the signature it
 * came with, and its key is its owner's (known while the owner is a member).
 */
export function bindingTrailer(b: Binding): usize {
  if (sigTrailer(b.owner, b.sig, trailer)) return trailer;
  if (b.owner != self.id) return 0;
  claimFormSign(bindClaimForm(b.vlan, b.ip, b.mac, b.owner, b.version, b.router), trailer);
  b.sig = sigKeep(b.sig, trailer + CLAIM_KEY_LEN);
  return trailer;
}

/** The map key: VLAN and the address's bytes, as a 10-unit string. */
function keyOf(vlan: u32, ip: IpAddr): string {
  store<u32>(keyScratch, ip.v6 ? vlan | 0x8000_0000 : vlan);
  store<u64>(keyScratch + 4, ip.hi);
  store<u64>(keyScratch + 12, ip.lo);
  return String.UTF16.decodeUnsafe(keyScratch, 20);
}

/**
 * The broadcast queue key: a newer claim for the same (VLAN, address) replaces a queued one. A hash: two
 * addresses that collide only delay each other's claim until the next refresh or push-pull.
 */
function gossipKey(vlan: u32, ip: IpAddr): u64 {
  let h = (<u64>vlan << 1 | (ip.v6 ? 1 : 0)) * 0x9e37_79b9_7f4a_7c15;
  h = (h ^ ip.hi) * 0xbf58_476d_1ce4_e5b9;
  h = (h ^ ip.lo) * 0x94d0_49bb_1331_11eb;
  return h ^ (h >> 31);
}

/** Owners re-announce their bindings as often as their MACs. */
function refreshIntervalMs(): f64 { return config.macAgeingMs / <f64>config.macRefreshPerAgeing; }

/** Whether the MAC table agrees `b` is owned by `b.owner` now: our local MAC, or a remote one of that owner. */
function macBacks(b: Binding): bool {
  const s = macFind(b.mac, b.vlan);
  if (s < 0) return false;
  return b.owner == self.id ? slotKind(s) == MAC_LOCAL : slotKind(s) == MAC_REMOTE && slotOwner(s) == b.owner;
}

function valid(b: Binding, now: f64): bool {
  if (!macBacks(b)) return false;
  return b.owner == self.id || now - b.seen < config.macAgeingMs;
}

/** The binding of (vlan, ip) while its MAC is owned by another node, for an answer; null otherwise. */
export function bindingRemote(vlan: u32, ip: IpAddr, now: f64): Binding | null {
  const key = keyOf(vlan, ip);
  if (!table.has(key)) return null;
  const b = table.get(key);
  return b.owner != self.id && valid(b, now) ? b : null;
}

/** Bindings are bounded like MAC entries (`mac_capacity`): beyond it new addresses are not learnt, and flood. */
function full(): bool {
  if (<u32>table.size < config.macCapacity) return false;
  count(Stat.BindingTableFull);
  return true;
}

function ipText(ip: IpAddr): string {
  if (!ip.v6) {
    const v = <u32>ip.lo;
    return `${v >> 24}.${(v >> 16) & 0xff}.${(v >> 8) & 0xff}.${v & 0xff}`;
  }
  let s = "";
  for (let i = 0; i < 8; i++) {
    const word = <u32>(((i < 4 ? ip.hi : ip.lo) >> (<u64>(3 - (i & 3)) * 16)) & 0xffff);
    s += (i > 0 ? ":" : "") + word.toString(16);
  }
  return s;
}

function macText(mac: u64): string {
  let s = "";
  for (let i = 5; i >= 0; i--) {
    const byte = <u32>((mac >> (<u64>i * 8)) & 0xff);
    s += (byte < 16 ? "0" : "") + byte.toString(16) + (i > 0 ? ":" : "");
  }
  return s;
}

/** `b` changes from MAC `from` at `now`: a conflict when the previous change was under CONFLICT_MS ago. */
function noteMove(b: Binding, from: u64, now: f64): void {
  count(Stat.BindingsMoved);
  if (now - b.changed < CONFLICT_MS) {
    count(Stat.BindingConflicts);
    if (!b.conflictLogged) {
      b.conflictLogged = true;
      outputLog(`address conflict: ${ipText(b.ip)} vlan ${b.vlan} claimed by ${macText(from)} and ${macText(b.mac)}`);
    }
  }
  b.changed = now;
}

function announce(b: Binding, now: f64): void {
  b.announced = now;
  if (self.id == 0) return; // announced by the sweep once we have an id
  const len = bindMsgEncode(msg, BINDMSG_V6_LEN, b.vlan, b.ip, b.mac, b.owner, b.version, b.router, bindingTrailer(b));
  broadcastEnqueue(msg, len, BROADCAST_SPACE_BINDING, gossipKey(b.vlan, b.ip));
  count(Stat.BindingsAnnounced);
}

/**
 * A host behind our TAP with MAC `mac` (a local MAC entry) claims `ip` in `vlan` at `now`;
 * `router` is 1 or 0 when the claim says (an NA's R flag), -1 when it does not. A new binding,
 * a move to `mac` or a changed router flag is announced at a higher version.
 */
export function bindingClaim(mac: u64, vlan: u32, ip: IpAddr, router: i32, now: f64): void {
  if (!ip.isUnicast()) return;
  const key = keyOf(vlan, ip);
  if (!table.has(key)) {
    if (full()) return;
    const b = new Binding();
    b.ip.copy(ip);
    b.vlan = vlan;
    b.mac = mac;
    b.owner = self.id;
    b.version = 1;
    b.router = router == 1;
    b.seen = now;
    keep(key, b);
    count(Stat.BindingsLearned);
    announce(b, now);
    return;
  }
  const b = table.get(key);
  if (b.mac == mac) {
    b.seen = now;
    const routerChanged = router >= 0 && (router == 1) != b.router;
    if (b.owner == self.id && !routerChanged) return;
    if (router >= 0) b.router = router == 1;
    b.owner = self.id; // the MAC moved here, or the flag changed
    b.version = nextVersion(b.version);
    b.unsign();
    announce(b, now);
    return;
  }
  if (now < b.frozenUntil) { count(Stat.BindingMovesFrozen); return; }
  if (now - b.movesSince >= MOVE_WINDOW_MS) { b.moves = 0; b.movesSince = now; }
  b.moves++;
  const from = b.mac;
  b.mac = mac;
  b.owner = self.id;
  b.version = nextVersion(b.version);
  b.router = router == 1;
  b.seen = now;
  b.unsign();
  noteMove(b, from, now);
  if (b.moves >= MOVE_LIMIT) {
    b.frozenUntil = b.movesSince + MOVE_WINDOW_MS;
    count(Stat.BindingMoveAlarms);
    outputLog(`address ${ipText(b.ip)} vlan ${b.vlan} moved ${b.moves} times in ${<i32>(MOVE_WINDOW_MS / 1000)} s: frozen on ${macText(mac)}`);
  }
  announce(b, now);
}

/**
 * The switch's own DHCP server granted `ip` (`ipLen` 4 or 16 bytes at that address, network
 * order) to `mac` in `vlan` at `now`: a claim like the host's own, when the MAC is behind our TAP.
 */
export function bindingLearn(mac: u64, vlan: u16, ip: usize, ipLen: u32, now: f64): void {
  if (ipLen == 4) scratchIp.setV4(getU32(ip));
  else if (ipLen == 16) scratchIp.setV6(ip);
  else return;
  const s = macFind(mac, vlan);
  if (s < 0 || slotKind(s) != MAC_LOCAL) return;
  bindingClaim(mac, vlan, scratchIp, -1, now);
}

/** `b` holds exactly the decoded claim, with the signature it came with (checked when installed). */
function holdsClaim(b: Binding | null): bool {
  const u = bindUpdate;
  return b != null && b.sig != SIG_NONE && b.owner == u.owner && b.version == u.version && b.mac == u.mac &&
    b.router == u.router && memory.compare(sigPtr(b.sig), u.trailer + CLAIM_KEY_LEN, CLAIM_SIG_LEN) == 0;
}

/** `b` beats the decoded claim of another node: a newer version, or the same from a higher owner. */
function beaten(b: Binding): bool {
  const u = bindUpdate;
  return serialNewer(b.version, u.version) || (u.version == b.version && u.owner < b.owner);
}

/** The decoded claim carries its owner's key and signature. */
function signedByOwner(): bool {
  const u = bindUpdate;
  if (claimFormVerify(bindClaimForm(u.vlan, u.ip, u.mac, u.owner, u.version, u.router), u.trailer)) return true;
  count(Stat.BindingBadSignature);
  return false;
}

/**
 * Apply the decoded `bindUpdate`, signed by its owner and not beaten by `b` (null: none for its address),
 * at `now` (the version rule; the owner's claim refreshes). Returns whether it is news to pass on.
 */
function bindingApply(b: Binding | null, now: f64): bool {
  const u = bindUpdate;
  if (b == null) {
    if (u.owner == self.id || full()) return false; // our own claim we no longer hold: let it age away
    b = new Binding();
    b.ip.copy(u.ip);
    b.vlan = u.vlan;
    b.mac = u.mac;
    b.owner = u.owner;
    b.version = u.version;
    b.router = u.router;
    b.seen = now;
    b.sig = sigKeep(SIG_NONE, u.trailer + CLAIM_KEY_LEN);
    keep(keyOf(u.vlan, u.ip), b);
    count(Stat.BindingUpdatesApplied);
    return true;
  }
  if (u.owner == self.id) {
    // Our claim from before a restart, newer than what we hold: raise ours past it so it wins again.
    // Our current claim coming back around is no news.
    if (b.owner != self.id || !serialNewer(u.version, b.version)) return false;
    b.version = nextVersion(u.version);
    b.unsign();
    announce(b, now);
    return true;
  }
  if (u.version == b.version && u.owner == b.owner) {
    // The first copy of an owner's refresh round is news (relayed once), later copies are not.
    const news = now - b.seen >= refreshIntervalMs() / 2;
    b.seen = now;
    return news;
  }
  const from = b.mac;
  b.owner = u.owner;
  b.version = u.version;
  b.router = u.router;
  b.seen = now;
  b.sig = sigKeep(b.sig, u.trailer + CLAIM_KEY_LEN);
  if (u.mac != from) {
    b.mac = u.mac;
    noteMove(b, from, now);
  }
  count(Stat.BindingUpdatesApplied);
  return true;
}

/**
 * An IP_BINDING received from a peer: applied when its owner signed it, and passed on once when it
 * changed something. Only a claim that would change something costs a signature check: one the
 * binding held beats (a late copy, a replay of an older version) is dropped before it.
 */
export function bindingGossipMessage(p: usize, len: u32, now: f64): void {
  if (!bindMsgDecode(p, len)) { count(Stat.BindingUpdateMalformed); return; }
  const u = bindUpdate;
  if (u.owner != self.id && ownerGone(u.owner)) { count(Stat.BindingOwnerGone); return; }
  const key = keyOf(u.vlan, u.ip);
  const b = table.has(key) ? table.get(key) : null;
  if (b != null && u.owner != self.id && beaten(b)) { count(Stat.BindingUpdatesStale); return; } // nothing to check
  if (!holdsClaim(b) && !signedByOwner()) return;
  if (bindingApply(b, now) && u.owner != self.id) {
    const n = bindMsgEncode(msg, BINDMSG_V6_LEN, u.vlan, u.ip, u.mac, u.owner, u.version, u.router, u.trailer);
    broadcastEnqueue(msg, n, BROADCAST_SPACE_BINDING, gossipKey(u.vlan, u.ip));
  }
}

/** A claim for a member we know to be dead, gone or removed would outlive its MAC entries. */
function ownerGone(id: u64): bool {
  const m = memberById(id);
  return (m != null && !m.live) || isBanned(id);
}

/** Up to `max` addresses our hosts claimed for `mac` in `vlan` (assembly/hostprobe.ts asks the host at them). */
export function ownAddressesOf(mac: u64, vlan: u32, max: i32): Array<IpAddr> {
  const out = new Array<IpAddr>();
  const all = table.values();
  for (let i = 0; i < all.length && out.length < max; i++) {
    const b = unchecked(all[i]);
    if (b.owner == self.id && b.mac == mac && b.vlan == vlan) out.push(b.ip);
  }
  return out;
}

/** The bindings usable now (their MAC backs them), for push-pull. */
export function bindingsValid(): Array<Binding> {
  return table.values().filter((b: Binding): bool => valid(b, self.now));
}

let sweepLast: f64 = -Infinity;

/** Puts `b` in the table under `key`: the sweep runs while the table holds any. */
function keep(key: string, b: Binding): void {
  table.set(key, b);
  wakeAt(sweepLast + SWEEP_INTERVAL_MS);
}

/**
 * Once per SWEEP_INTERVAL_MS while the table holds any: removes bindings whose MAC is gone or
 * owned elsewhere (after ORPHAN_GRACE_MS) and remote ones not refreshed within the MAC ageing
 * time, and re-announces our live ones once per MAC refresh interval. Returns the next deadline.
 */
export function bindingsTick(now: f64): f64 {
  if (table.size == 0) return Infinity;
  if (now - sweepLast < SWEEP_INTERVAL_MS) return sweepLast + SWEEP_INTERVAL_MS;
  sweepLast = now;
  const refresh = refreshIntervalMs();
  const all = table.values();
  for (let i = 0; i < all.length; i++) {
    const b = unchecked(all[i]);
    const backed = macBacks(b);
    const expired = b.owner != self.id && now - b.seen >= config.macAgeingMs;
    if (expired || (!backed && now - b.seen >= ORPHAN_GRACE_MS)) {
      table.delete(keyOf(b.vlan, b.ip));
      b.unsign();
      count(Stat.BindingsRemoved);
      continue;
    }
    if (backed && b.owner == self.id && now - b.announced >= refresh) announce(b, now);
  }
  return table.size == 0 ? Infinity : now + SWEEP_INTERVAL_MS;
}

/** Our node id changed (IN_IDENTITY): our bindings are re-owned at a higher version, as MAC entries are. */
export function bindingsAdoptIdentity(oldId: u64, now: f64): void {
  const all = table.values();
  for (let i = 0; i < all.length; i++) {
    const b = unchecked(all[i]);
    if (b.owner != oldId) continue;
    b.owner = self.id;
    b.version = nextVersion(b.version);
    b.unsign();
    announce(b, now);
  }
}

// The MAC dump's addresses (docs/abi.md): after each OUT_MAC body, 16 bytes per address, IPv4 as
// ::ffff:a.b.c.d, at most DUMP_IPS_MAX per MAC.
export const DUMP_IP_LEN: u32 = 16;
export const DUMP_IPS_MAX: i32 = 16;

let dumpIps = new Map<u64, Array<Binding>>();

/** Groups the valid bindings by MAC entry key (mactable macKey) for the dump that follows. */
export function bindingsDumpBegin(now: f64): void {
  dumpIps = new Map<u64, Array<Binding>>();
  const all = table.values();
  for (let i = 0; i < all.length; i++) {
    const b = unchecked(all[i]);
    if (!valid(b, now)) continue;
    const k = macKey(b.mac, b.vlan);
    if (!dumpIps.has(k)) dumpIps.set(k, new Array<Binding>());
    const list = dumpIps.get(k);
    if (list.length < DUMP_IPS_MAX) list.push(b);
  }
}

export function bindingsDumpLen(key: u64): u32 {
  return dumpIps.has(key) ? <u32>dumpIps.get(key).length * DUMP_IP_LEN : 0;
}

export function bindingsDumpWrite(key: u64, p: usize): void {
  if (!dumpIps.has(key)) return;
  const list = dumpIps.get(key);
  for (let i = 0; i < list.length; i++) {
    const ip = unchecked(list[i]).ip;
    const at = p + <usize>i * DUMP_IP_LEN;
    if (ip.v6) {
      putU64(at, ip.hi);
      putU64(at + 8, ip.lo);
    } else {
      store<u64>(at, 0);
      putU32(at + 8, 0xffff);
      putU32(at + 12, <u32>ip.lo);
    }
  }
}

