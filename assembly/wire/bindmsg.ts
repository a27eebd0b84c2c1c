// IP_BINDING: one (VLAN, IP address) -> (MAC, owner, version) claim, gossiped like MAC_UPDATE
// (inside COMPOUND datagrams, through the membership broadcast queue). Big-endian:
//
//   u8 type (0x21), u8 flags, u16 vlan, mac(6), u64 owner, u32 version, address(4 | 16)
//   = 26 bytes for IPv4, 38 for IPv6 (flag IPV6)
//
// Flag 0x01 ROUTER: the owner saw the address advertised as a router's (NA with R set).
// Flag 0x02 IPV6: the address is 16 bytes. Other flag bits are ignored. Nodes that predate
// this message count it as an unknown type and skip it (docs/wire.md).
import { VLAN_MAX } from "../mactable";
import { getMac, getU16, getU32, getU64, putMac, putU16, putU32, putU64 } from "./bytes";
import { macIsGroup } from "./ethernet";

export const MSG_IP_BINDING: u8 = 0x21;

export const BINDMSG_FLAGS: u32 = 1;
export const BINDMSG_VLAN: u32 = 2;
export const BINDMSG_MAC: u32 = 4;
export const BINDMSG_OWNER: u32 = 10;
export const BINDMSG_VERSION: u32 = 18;
export const BINDMSG_ADDR: u32 = 22;
export const BINDMSG_V4_LEN: u32 = 26;
export const BINDMSG_V6_LEN: u32 = 38;

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
}
export const bindUpdate = new BindUpdate();

/** Bytes an IP_BINDING for this address family takes. */
export function bindMsgLen(v6: bool): u32 { return v6 ? BINDMSG_V6_LEN : BINDMSG_V4_LEN; }

/** Write an IP_BINDING at `p` if `cap` bytes allow; returns its length or 0. */
export function bindMsgEncode(
  p: usize, cap: u32, vlan: u32, ip: IpAddr, mac: u64, owner: u64, version: u32, router: bool,
): u32 {
  const len = bindMsgLen(ip.v6);
  if (cap < len) return 0;
  store<u8>(p, MSG_IP_BINDING);
  store<u8>(p + BINDMSG_FLAGS, (router ? BIND_F_ROUTER : 0) | (ip.v6 ? BIND_F_IPV6 : 0));
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
