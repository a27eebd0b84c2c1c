// MAC_UPDATE: one (MAC, VLAN) -> (owner, version) claim, gossiped inside
// COMPOUND datagrams (see divs.ts framing). Big-endian:
//
//   u8 type (0x20), u8 flags (0, ignored on receipt), u16 vlan, mac(6),
//   u64 owner, u32 version                                   = 22 bytes
import {
  VLAN_MAX, announced, applyRemote, nextLocal, slotMac, slotOwner, slotVersion, slotVlan, takeAnnouncement,
} from "../mactable";
import { Stat, count } from "../stats";
import { getMac, getU16, getU32, getU64, putMac, putU16, putU32, putU64 } from "./bytes";
import { CompoundWriter } from "./divs";
import { macIsGroup } from "./ethernet";

export const MSG_MAC_UPDATE: u8 = 0x20;

export const MACMSG_FLAGS: u32 = 1;
export const MACMSG_VLAN: u32 = 2;
export const MACMSG_MAC: u32 = 4;
export const MACMSG_OWNER: u32 = 10;
export const MACMSG_VERSION: u32 = 18;
export const MACMSG_LEN: u32 = 22;

/** The latest decoded update; reused by every `macMsgDecode`. */
export class MacUpdate {
  mac: u64 = 0;
  vlan: u32 = 0;
  owner: u64 = 0;
  version: u32 = 0;
}
export const macUpdate = new MacUpdate();

/** Write a MAC_UPDATE at `p` if `cap` bytes allow; returns its length or 0. */
export function macMsgEncode(p: usize, cap: u32, mac: u64, vlan: u32, owner: u64, version: u32): u32 {
  if (cap < MACMSG_LEN) return 0;
  store<u8>(p, MSG_MAC_UPDATE);
  store<u8>(p + MACMSG_FLAGS, 0);
  putU16(p + MACMSG_VLAN, <u16>vlan);
  putMac(p + MACMSG_MAC, mac);
  putU64(p + MACMSG_OWNER, owner);
  putU32(p + MACMSG_VERSION, version);
  return MACMSG_LEN;
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
  return true;
}

/** Decode and apply a received MAC_UPDATE at `now`; malformed ones are counted. Returns whether the table changed. */
export function macMsgApply(p: usize, len: u32, now: f64): bool {
  if (!macMsgDecode(p, len)) {
    count(Stat.MacUpdateMalformed);
    return false;
  }
  return applyRemote(macUpdate.mac, macUpdate.vlan, macUpdate.owner, macUpdate.version, now);
}

/** Add queued announcements (new or moved local MACs) to `w` while they fit; returns how many. */
export function macAnnounceInto(w: CompoundWriter): i32 {
  let n = 0;
  while (w.room() >= MACMSG_LEN && takeAnnouncement()) {
    w.add(macMsgEncode(w.cursor(), MACMSG_LEN, announced.mac, announced.vlan, announced.owner, announced.version));
    n++;
  }
  return n;
}

/**
 * Periodic refresh: add local entries from table slot `from` on to `w` while
 * they fit; returns the slot to continue from next time, 0 after the last one.
 * Cycling through all of them well within macAgeingMs keeps remote copies alive.
 */
export function macRefreshInto(w: CompoundWriter, from: i32): i32 {
  let i = nextLocal(from);
  while (i >= 0) {
    if (w.room() < MACMSG_LEN) return i;
    w.add(macMsgEncode(w.cursor(), MACMSG_LEN, slotMac(i), slotVlan(i), slotOwner(i), slotVersion(i)));
    i = nextLocal(i + 1);
  }
  return 0;
}
