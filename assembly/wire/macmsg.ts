// MAC_UPDATE: one (MAC, VLAN) -> (owner, version) claim, gossiped inside
// COMPOUND datagrams (see divs.ts framing) and carried in push-pull (the MAC
// section, assembly/macgossip.ts). Big-endian:
//
//   u8 type (0x20), u8 flags, u16 vlan, mac(6), u64 owner, u32 version, key(32), signature(64)  = 118 bytes
//   [u32 age ms]                                                       optional: a copy's age  = 122 bytes
//
// The key and signature are the owner's, over the claim's signed form (macClaimForm: no flags, no
// age), so a claim travels by gossip and push-pull as its owner made it and nobody else can make one
// in its name (docs/mactable.md "Signed claims").
//
// Flag 0x01 FROM_OWNER: the owner vouches for the entry now (an announcement
// or refresh, possibly relayed); only such a claim refreshes an entry. Without
// it the message is a copy from another node's table, and the age says how long
// ago that node last had it refreshed by the owner. Other flag bits are ignored.
import { CLAIM_LEN, claimForm } from "../claims";
import { VLAN_MAX, applyRemote } from "../mactable";
import { Stat, count } from "../stats";
import { getMac, getU16, getU32, getU64, putMac, putU16, putU32, putU64 } from "./bytes";
import { macIsGroup } from "./ethernet";

export const MSG_MAC_UPDATE: u8 = 0x20;

export const MACMSG_FLAGS: u32 = 1;
export const MACMSG_VLAN: u32 = 2;
export const MACMSG_MAC: u32 = 4;
export const MACMSG_OWNER: u32 = 10;
export const MACMSG_VERSION: u32 = 18;
export const MACMSG_TRAILER: u32 = 22;
export const MACMSG_LEN: u32 = MACMSG_TRAILER + CLAIM_LEN;
export const MACMSG_AGE: u32 = MACMSG_LEN;
export const MACMSG_COPY_LEN: u32 = MACMSG_AGE + 4;

/** The signed form: u8 type, u8 0, u16 vlan, u64 owner (where claim_verify finds the id), mac(6), u32 version. */
const FORM_VLAN: u32 = 2;
const FORM_OWNER: u32 = 4;
const FORM_MAC: u32 = 12;
const FORM_VERSION: u32 = 18;
export const MAC_FORM_LEN: u32 = 22;

export const MAC_FROM_OWNER: u8 = 0x01;
/** The largest age a copy can state (u32 ms, about 49 days; far beyond any ageing time). */
export const MAC_AGE_MAX: f64 = 4294967295;

/** The latest decoded update; reused by every `macMsgDecode`. */
export class MacUpdate {
  mac: u64 = 0;
  vlan: u32 = 0;
  owner: u64 = 0;
  version: u32 = 0;
  /** Known flag bits only (MAC_FROM_OWNER). */
  flags: u8 = 0;
  /** Whether the age field was present; `age` is 0 when not. */
  hasAge: bool = false;
  age: u32 = 0;
  /** The owner's key and signature (CLAIM_LEN bytes in the decoded message). */
  trailer: usize = 0;
}
export const macUpdate = new MacUpdate();

/** Writes the signed form of a claim into `claimForm` (assembly/claims.ts); returns its length. */
export function macClaimForm(mac: u64, vlan: u32, owner: u64, version: u32): u32 {
  const p = claimForm;
  store<u8>(p, MSG_MAC_UPDATE);
  store<u8>(p + 1, 0);
  putU16(p + FORM_VLAN, <u16>vlan);
  putU64(p + FORM_OWNER, owner);
  putMac(p + FORM_MAC, mac);
  putU32(p + FORM_VERSION, version);
  return MAC_FORM_LEN;
}

/** Write a MAC_UPDATE with the owner's `trailer` (zeros when 0) at `p` if `cap` bytes allow; returns its length or 0. */
export function macMsgEncode(
  p: usize, cap: u32, mac: u64, vlan: u32, owner: u64, version: u32, flags: u8, trailer: usize = 0,
): u32 {
  if (cap < MACMSG_LEN) return 0;
  store<u8>(p, MSG_MAC_UPDATE);
  store<u8>(p + MACMSG_FLAGS, flags);
  putU16(p + MACMSG_VLAN, <u16>vlan);
  putMac(p + MACMSG_MAC, mac);
  putU64(p + MACMSG_OWNER, owner);
  putU32(p + MACMSG_VERSION, version);
  if (trailer != 0) memory.copy(p + MACMSG_TRAILER, trailer, CLAIM_LEN);
  else memory.fill(p + MACMSG_TRAILER, 0, CLAIM_LEN);
  return MACMSG_LEN;
}

/** Write a MAC_UPDATE with the age field (a push-pull entry); returns its length or 0. */
export function macCopyEncode(
  p: usize, cap: u32, mac: u64, vlan: u32, owner: u64, version: u32, flags: u8, ageMs: u32, trailer: usize = 0,
): u32 {
  if (cap < MACMSG_COPY_LEN) return 0;
  macMsgEncode(p, cap, mac, vlan, owner, version, flags, trailer);
  putU32(p + MACMSG_AGE, ageMs);
  return MACMSG_COPY_LEN;
}

/**
 * Decode the MAC_UPDATE at `p` (`len` bytes available) into `macUpdate`.
 * False for a short message, another type, or a claim no node can make
 * (VLAN id over 4095, a group MAC, owner 0, version 0). Longer messages are
 * accepted so later versions can append fields.
 */
export function macMsgDecode(p: usize, len: u32): bool {
  if (len < MACMSG_LEN || load<u8>(p) != MSG_MAC_UPDATE) return false;
  const vlan = getU16(p + MACMSG_VLAN);
  const mac = getMac(p + MACMSG_MAC);
  const owner = getU64(p + MACMSG_OWNER);
  const version = getU32(p + MACMSG_VERSION);
  if (<u32>vlan > VLAN_MAX || macIsGroup(mac) || mac == 0 || owner == 0 || version == 0) return false;
  macUpdate.mac = mac;
  macUpdate.vlan = vlan;
  macUpdate.owner = owner;
  macUpdate.version = version;
  macUpdate.flags = load<u8>(p + MACMSG_FLAGS) & MAC_FROM_OWNER;
  macUpdate.hasAge = len >= MACMSG_COPY_LEN;
  macUpdate.age = macUpdate.hasAge ? getU32(p + MACMSG_AGE) : 0;
  macUpdate.trailer = p + MACMSG_TRAILER;
  return true;
}

/** Decode and apply a received MAC_UPDATE at `now`; malformed ones are counted. Returns whether the table changed. */
export function macMsgApply(p: usize, len: u32, now: f64): bool {
  if (!macMsgDecode(p, len)) {
    count(Stat.MacUpdateMalformed);
    return false;
  }
  return macUpdateApply(now);
}

/** Apply the decoded `macUpdate` to the table (the version rule; FROM_OWNER refreshes, a copy has an age). */
export function macUpdateApply(now: f64): bool {
  const u = macUpdate;
  return applyRemote(u.mac, u.vlan, u.owner, u.version, now, (u.flags & MAC_FROM_OWNER) != 0, <f64>u.age);
}
