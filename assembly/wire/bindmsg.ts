// IP_BINDING: one (VLAN, IP address) -> (MAC, owner, version) claim, gossiped like MAC_UPDATE
// (inside COMPOUND datagrams, through the membership broadcast queue). Big-endian:
//
//   u8 type (0x22), u8 flags, u16 vlan, mac(6), u64 owner, u32 version, address(4 | 16), key(32), signature(64)
//   = 122 bytes for IPv4, 134 for IPv6 (flag IPV6)
//
// The key and signature are the owner's, over the claim's signed form (bindClaimForm), so a binding
// travels by gossip and push-pull as its owner made it and nobody else can make one in its name
// (docs/arp.md "Signed bindings"). Type 0x21 was the same claim unsigned: retired, dropped and
// counted (docs/wire.md).
//
// Flag 0x01 ROUTER: the owner saw the address advertised as a router's (NA with R set).
// Flag 0x02 IPV6: the address is 16 bytes. Other flag bits are ignored. Nodes that predate
// this message count it as an unknown type and skip it (docs/wire.md).
import { CLAIM_FORM_MAX, CLAIM_LEN, claimForm } from "../claims";
import { VLAN_MAX } from "../mactable";
import { getMac, getU16, getU32, getU64, putMac, putU16, putU32, putU64 } from "./bytes";
import { macIsGroup } from "./ethernet";

export const MSG_IP_BINDING: u8 = 0x22;
/** The unsigned IP_BINDING of before (docs/wire.md): dropped and counted. */
export const MSG_IP_BINDING_UNSIGNED: u8 = 0x21;

export const BINDMSG_FLAGS: u32 = 1;
export const BINDMSG_VLAN: u32 = 2;
export const BINDMSG_MAC: u32 = 4;
export const BINDMSG_OWNER: u32 = 10;
export const BINDMSG_VERSION: u32 = 18;
export const BINDMSG_ADDR: u32 = 22;
export const BINDMSG_V4_LEN: u32 = BINDMSG_ADDR + 4 + CLAIM_LEN;
export const BINDMSG_V6_LEN: u32 = BINDMSG_ADDR + 16 + CLAIM_LEN;

/**
 * The signed form: u8 type, u8 flags (ROUTER, IPV6), u16 vlan, u64 owner (where claim_verify finds the
 * id), mac(6), u32 version, address: 26 bytes for IPv4. An IPv6 one would be 38, the length of a member
 * info with a one-byte name, so it is zero-padded to CLAIM_FORM_MAX (102), past the longest member
 * info: a signature on a binding never passes for an ALIVE (assembly/claims.ts).
 */
const FORM_FLAGS: u32 = 1;
const FORM_VLAN: u32 = 2;
const FORM_OWNER: u32 = 4;
const FORM_MAC: u32 = 12;
const FORM_VERSION: u32 = 18;
const FORM_ADDR: u32 = 22;
export const BIND_V4_FORM_LEN: u32 = FORM_ADDR + 4;
export const BIND_V6_FORM_LEN: u32 = CLAIM_FORM_MAX;

export const BIND_F_ROUTER: u8 = 0x01;
export const BIND_F_IPV6: u8 = 0x02;

/** An IP address as two u64 halves (network order value); IPv4 is `lo` alone, `hi` 0. */
export class IpAddr {
  v6: bool = false;
  hi: u64 = 0;
  lo: u64 = 0;

  setV4(ip: u32): IpAddr { this.v6 = false; this.hi = 0; this.lo = <u64>ip; return this; }
  /** Reads the 16 bytes at `p`. */
  setV6(p: usize): IpAddr { this.v6 = true; this.hi = getU64(p); this.lo = getU64(p + 8); return this; }
  copy(o: IpAddr): void { this.v6 = o.v6; this.hi = o.hi; this.lo = o.lo; }
  equals(o: IpAddr): bool { return this.v6 == o.v6 && this.hi == o.hi && this.lo == o.lo; }

  /** An address a host can hold: not unspecified, multicast or (IPv4) broadcast. */
  isUnicast(): bool {
    if (this.v6) return (this.hi != 0 || this.lo != 0) && (this.hi >> 56) != 0xff;
    const ip = <u32>this.lo;
    return ip != 0 && ip != 0xffff_ffff && (ip >> 28) != 0xe;
  }
}

/** The latest decoded claim; reused by every `bindMsgDecode`. */
export class BindUpdate {
  vlan: u32 = 0;
  mac: u64 = 0;
  owner: u64 = 0;
  version: u32 = 0;
  router: bool = false;
  readonly ip: IpAddr = new IpAddr();
  /** The owner's key and signature (CLAIM_LEN bytes in the decoded message). */
  trailer: usize = 0;
}
export const bindUpdate = new BindUpdate();

/** Bytes an IP_BINDING for this address family takes. */
export function bindMsgLen(v6: bool): u32 { return v6 ? BINDMSG_V6_LEN : BINDMSG_V4_LEN; }

function flagsOf(ip: IpAddr, router: bool): u8 { return (router ? BIND_F_ROUTER : 0) | (ip.v6 ? BIND_F_IPV6 : 0); }

/** Writes the signed form of a binding into `claimForm` (assembly/claims.ts); returns its length. */
export function bindClaimForm(vlan: u32, ip: IpAddr, mac: u64, owner: u64, version: u32, router: bool): u32 {
  const p = claimForm;
  store<u8>(p, MSG_IP_BINDING);
  store<u8>(p + FORM_FLAGS, flagsOf(ip, router));
  putU16(p + FORM_VLAN, <u16>vlan);
  putU64(p + FORM_OWNER, owner);
  putMac(p + FORM_MAC, mac);
  putU32(p + FORM_VERSION, version);
  if (!ip.v6) {
    putU32(p + FORM_ADDR, <u32>ip.lo);
    return BIND_V4_FORM_LEN;
  }
  putU64(p + FORM_ADDR, ip.hi);
  putU64(p + FORM_ADDR + 8, ip.lo);
  memory.fill(p + FORM_ADDR + 16, 0, BIND_V6_FORM_LEN - FORM_ADDR - 16);
  return BIND_V6_FORM_LEN;
}

/** Write an IP_BINDING with the owner's `trailer` (CLAIM_LEN bytes) at `p` if `cap` bytes allow; returns its length or 0. */
export function bindMsgEncode(
  p: usize, cap: u32, vlan: u32, ip: IpAddr, mac: u64, owner: u64, version: u32, router: bool, trailer: usize,
): u32 {
  const len = bindMsgLen(ip.v6);
  if (cap < len) return 0;
  store<u8>(p, MSG_IP_BINDING);
  store<u8>(p + BINDMSG_FLAGS, flagsOf(ip, router));
  putU16(p + BINDMSG_VLAN, <u16>vlan);
  putMac(p + BINDMSG_MAC, mac);
  putU64(p + BINDMSG_OWNER, owner);
  putU32(p + BINDMSG_VERSION, version);
  if (ip.v6) {
    putU64(p + BINDMSG_ADDR, ip.hi);
    putU64(p + BINDMSG_ADDR + 8, ip.lo);
  } else {
    putU32(p + BINDMSG_ADDR, <u32>ip.lo);
  }
  memory.copy(p + len - CLAIM_LEN, trailer, CLAIM_LEN);
  return len;
}

/**
 * Decode the IP_BINDING at `p` (`len` bytes available) into `bindUpdate`. False for a short
 * message, another type, or a claim no node can make (VLAN over 4095, a group or zero MAC,
 * owner 0, version 0, an address no host holds). Longer messages are accepted so later
 * versions can append fields.
 */
export function bindMsgDecode(p: usize, len: u32): bool {
  if (len < BINDMSG_V4_LEN || load<u8>(p) != MSG_IP_BINDING) return false;
  const flags = load<u8>(p + BINDMSG_FLAGS);
  const v6 = (flags & BIND_F_IPV6) != 0;
  if (v6 && len < BINDMSG_V6_LEN) return false;
  bindUpdate.trailer = p + bindMsgLen(v6) - CLAIM_LEN;
  const u = bindUpdate;
  u.vlan = <u32>getU16(p + BINDMSG_VLAN);
  u.mac = getMac(p + BINDMSG_MAC);
  u.owner = getU64(p + BINDMSG_OWNER);
  u.version = getU32(p + BINDMSG_VERSION);
  u.router = (flags & BIND_F_ROUTER) != 0;
  if (v6) u.ip.setV6(p + BINDMSG_ADDR);
  else u.ip.setV4(getU32(p + BINDMSG_ADDR));
  return u.vlan <= VLAN_MAX && !macIsGroup(u.mac) && u.mac != 0 && u.owner != 0 && u.version != 0 && u.ip.isUnicast();
}
