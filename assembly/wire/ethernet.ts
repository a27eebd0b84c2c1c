// Ethernet II header view, with up to two VLAN tags (802.1ad outer, 802.1Q).
//   dst(6) src(6) [tpid(2) tci(2)]{0,2} ethertype(2) payload
import { getMac, getU16, putMac, putU16 } from "./bytes";

export const ETH_DST: u32 = 0;
export const ETH_SRC: u32 = 6;
export const ETH_TYPE: u32 = 12;
export const ETH_HEADER_LEN: u32 = 14;
export const VLAN_TAG_LEN: u32 = 4;
export const VLAN_VID_MASK: u16 = 0x0fff;

export const ETHERTYPE_IPV4: u16 = 0x0800;
export const ETHERTYPE_ARP: u16 = 0x0806;
export const ETHERTYPE_IPV6: u16 = 0x86dd;
export const ETHERTYPE_VLAN: u16 = 0x8100; // 802.1Q
export const ETHERTYPE_QINQ: u16 = 0x88a8; // 802.1ad

export const MAC_BROADCAST: u64 = 0xffff_ffff_ffff;
/** Returned by `ethVlan`/`ethPayloadOffset` when a tag runs past the frame. */
export const ETH_TRUNCATED: u32 = 0xffff_ffff;

// @ts-ignore: decorator
@inline export function ethCheck(len: u32): bool { return len >= ETH_HEADER_LEN; }
// @ts-ignore: decorator
@inline export function ethDst(p: usize): u64 { return getMac(p + ETH_DST); }
// @ts-ignore: decorator
@inline export function ethSrc(p: usize): u64 { return getMac(p + ETH_SRC); }

/** Group bit: broadcast and multicast destinations (and invalid as a source). */
// @ts-ignore: decorator
@inline export function macIsGroup(mac: u64): bool { return (mac & 0x0100_0000_0000) != 0; }

function isTag(t: u16): bool { return t == ETHERTYPE_VLAN || t == ETHERTYPE_QINQ; }

/**
 * VLAN id of the outermost tag (0 when untagged), or ETH_TRUNCATED when a tag
 * does not fit in `len`. Requires ethCheck(len).
 */
export function ethVlan(p: usize, len: u32): u32 {
  if (!isTag(getU16(p + ETH_TYPE))) return 0;
  if (len < ETH_HEADER_LEN + VLAN_TAG_LEN) return ETH_TRUNCATED;
  return <u32>(getU16(p + ETH_TYPE + 2) & VLAN_VID_MASK);
}

/** Offset of the inner ethertype field after up to two tags, or ETH_TRUNCATED. Requires ethCheck(len). */
export function ethTypeOffset(p: usize, len: u32): u32 {
  let off = ETH_TYPE;
  for (let tags = 0; tags < 2 && isTag(getU16(p + off)); tags++) {
    off += VLAN_TAG_LEN;
    if (off + 2 > len) return ETH_TRUNCATED;
  }
  return off;
}

/** The ethertype after any tags, or 0 when truncated. */
export function ethInnerType(p: usize, len: u32): u16 {
  const off = ethTypeOffset(p, len);
  return off == ETH_TRUNCATED ? 0 : getU16(p + off);
}

/** Offset of the payload after any tags, or ETH_TRUNCATED. */
export function ethPayloadOffset(p: usize, len: u32): u32 {
  const off = ethTypeOffset(p, len);
  return off == ETH_TRUNCATED ? ETH_TRUNCATED : off + 2;
}

/**
 * Writes an Ethernet header at `p` (room for `cap` bytes): dst, src, an 802.1Q
 * tag when `vlan` is not 0, then `ethertype`. Returns the header length (14 or
 * 18), or 0 when it does not fit or `vlan` is not a 12-bit id.
 */
export function ethEmit(p: usize, cap: u32, dst: u64, src: u64, vlan: u32, ethertype: u16): u32 {
  if (vlan > <u32>VLAN_VID_MASK) return 0;
  const headerLen = vlan == 0 ? ETH_HEADER_LEN : ETH_HEADER_LEN + VLAN_TAG_LEN;
  if (cap < headerLen) return 0;
  putMac(p + ETH_DST, dst);
  putMac(p + ETH_SRC, src);
  let off = ETH_TYPE;
  if (vlan != 0) {
    putU16(p + off, ETHERTYPE_VLAN);
    putU16(p + off + 2, <u16>vlan);
    off += VLAN_TAG_LEN;
  }
  putU16(p + off, ethertype);
  return headerLen;
}
