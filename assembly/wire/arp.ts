// ARP for IPv4 over Ethernet (RFC 826).
//   htype(2) ptype(2) hlen(1) plen(1) op(2) sha(6) spa(4) tha(6) tpa(4)
// MACs are u64 (low 48 bits), IPv4 addresses u32, both network order value.
import { WireCheck } from "./check";
import { getMac, getU16, getU32, putMac, putU16, putU32 } from "./bytes";
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ethEmit } from "./ethernet";

export const ARP_HTYPE: u32 = 0;
export const ARP_PTYPE: u32 = 2;
export const ARP_HLEN: u32 = 4;
export const ARP_PLEN: u32 = 5;
export const ARP_OP: u32 = 6;
export const ARP_SHA: u32 = 8;
export const ARP_SPA: u32 = 14;
export const ARP_THA: u32 = 18;
export const ARP_TPA: u32 = 24;
export const ARP_LEN: u32 = 28;

export const ARP_HTYPE_ETHERNET: u16 = 1;
export const ARP_OP_REQUEST: u16 = 1;
export const ARP_OP_REPLY: u16 = 2;

/**
 * Checks the `len` bytes at `p` hold an ARP packet for IPv4 over Ethernet
 * (trailing bytes, e.g. Ethernet padding, are allowed). Other hardware or
 * protocol types are Malformed for us. Accessors require Ok.
 */
export function arpCheck(p: usize, len: u32): WireCheck {
  if (len < ARP_LEN) return WireCheck.Truncated;
  if (getU16(p + ARP_HTYPE) != ARP_HTYPE_ETHERNET || getU16(p + ARP_PTYPE) != ETHERTYPE_IPV4 ||
      load<u8>(p + ARP_HLEN) != 6 || load<u8>(p + ARP_PLEN) != 4) return WireCheck.Malformed;
  return WireCheck.Ok;
}

// @ts-ignore: decorator
@inline export function arpOp(p: usize): u16 { return getU16(p + ARP_OP); }
// @ts-ignore: decorator
@inline export function arpSenderMac(p: usize): u64 { return getMac(p + ARP_SHA); }
// @ts-ignore: decorator
@inline export function arpSenderIp(p: usize): u32 { return getU32(p + ARP_SPA); }
// @ts-ignore: decorator
@inline export function arpTargetMac(p: usize): u64 { return getMac(p + ARP_THA); }
// @ts-ignore: decorator
@inline export function arpTargetIp(p: usize): u32 { return getU32(p + ARP_TPA); }

/** Writes an ARP packet (28 bytes) at `p`; the caller has checked the room. */
export function arpEmit(p: usize, op: u16, senderMac: u64, senderIp: u32, targetMac: u64, targetIp: u32): void {
  putU16(p + ARP_HTYPE, ARP_HTYPE_ETHERNET);
  putU16(p + ARP_PTYPE, ETHERTYPE_IPV4);
  store<u8>(p + ARP_HLEN, 6);
  store<u8>(p + ARP_PLEN, 4);
  putU16(p + ARP_OP, op);
  putMac(p + ARP_SHA, senderMac);
  putU32(p + ARP_SPA, senderIp);
  putMac(p + ARP_THA, targetMac);
  putU32(p + ARP_TPA, targetIp);
}

/**
 * Writes a complete Ethernet frame at `p` (room for `cap` bytes) carrying the
 * reply "`ownerIp` is at `ownerMac`" to the requester `requesterMac`/`requesterIp`,
 * tagged with `vlan` unless it is 0 (answer in the request's VLAN). Returns the
 * frame length (42, or 46 tagged; TAP needs no padding to 60), or 0 when it
 * does not fit.
 */
export function arpEmitReplyFrame(
  p: usize, cap: u32, ownerMac: u64, ownerIp: u32, requesterMac: u64, requesterIp: u32, vlan: u32,
): u32 {
  const headerLen = ethEmit(p, cap, requesterMac, ownerMac, vlan, ETHERTYPE_ARP);
  if (headerLen == 0 || cap - headerLen < ARP_LEN) return 0;
  arpEmit(p + headerLen, ARP_OP_REPLY, ownerMac, ownerIp, requesterMac, requesterIp);
  return headerLen + ARP_LEN;
}
