// The virtio-net header (struct virtio_net_hdr, 10 bytes, little-endian) that a TAP opened with
// IFF_VNET_HDR puts before every frame it reads and expects before every frame written to it. With
// TUNSETOFFLOAD the kernel hands over TCP segments up to gso_max_size with one header describing how
// to cut them into MTU-sized packets, and frames whose checksum is left for us to finish; it takes
// such large segments back the same way (a GSO write), whatever its own TUNSETOFFLOAD.
//   u8 flags, u8 gso_type, u16 hdr_len, u16 gso_size, u16 csum_start, u16 csum_offset
import { putU16 } from "./bytes";
import { onesFinish, onesSum } from "./checksum";

export const VNET_HDR_LEN: u32 = 10;
export const VNET_FLAGS: u32 = 0;
export const VNET_GSO_TYPE: u32 = 1;
export const VNET_HDR_LEN_FIELD: u32 = 2;
export const VNET_GSO_SIZE: u32 = 4;
export const VNET_CSUM_START: u32 = 6;
export const VNET_CSUM_OFFSET: u32 = 8;

export const VNET_F_NEEDS_CSUM: u8 = 1;
export const VNET_GSO_NONE: u8 = 0;
export const VNET_GSO_TCPV4: u8 = 1;
export const VNET_GSO_TCPV6: u8 = 4;
/** Flag bit of gso_type: the first segment carries CWR (ECN), the others must not. */
export const VNET_GSO_ECN: u8 = 0x80;

// @ts-ignore: decorator
@inline export function vnetGso(hdr: usize): bool { return load<u8>(hdr + VNET_GSO_TYPE) != VNET_GSO_NONE; }
// @ts-ignore: decorator
@inline export function vnetGsoType(hdr: usize): u8 { return load<u8>(hdr + VNET_GSO_TYPE); }
// @ts-ignore: decorator
@inline export function vnetHdrLen(hdr: usize): u32 { return <u32>load<u16>(hdr + VNET_HDR_LEN_FIELD); }
// @ts-ignore: decorator
@inline export function vnetGsoSize(hdr: usize): u32 { return <u32>load<u16>(hdr + VNET_GSO_SIZE); }
// @ts-ignore: decorator
@inline export function vnetCsumStart(hdr: usize): u32 { return <u32>load<u16>(hdr + VNET_CSUM_START); }
// @ts-ignore: decorator
@inline export function vnetCsumOffset(hdr: usize): u32 { return <u32>load<u16>(hdr + VNET_CSUM_OFFSET); }

/**
 * Finishes a checksum the kernel left partial (NEEDS_CSUM on a frame that is not a GSO segment), so the
 * frame travels as a plain one: the field at csum_start + csum_offset holds the pseudo-header sum, and
 * the checksum covers csum_start to the end. Returns false when the offsets run past the frame.
 */
export function vnetFinishChecksum(hdr: usize, frame: usize, len: u32): bool {
  const start = <u32>load<u16>(hdr + VNET_CSUM_START);
  const field = start + <u32>load<u16>(hdr + VNET_CSUM_OFFSET);
  if (field + 2 > len) return false;
  const sum = onesFinish(onesSum(frame + start, len - start, 0));
  putU16(frame + field, sum == 0 ? 0xffff : sum); // as the kernel's skb_checksum_help
  return true;
}

/** Marks a header as "nothing to do": a plain frame written to a TAP with IFF_VNET_HDR. */
export function vnetClear(hdr: usize): void {
  store<u64>(hdr, 0);
  store<u16>(hdr + 8, 0);
}

/**
 * Writes the header of a GSO write: the frame is one TCP segment the kernel cuts into `gsoSize`-byte
 * pieces, headers `hdrLen` bytes long, its checksum left partial (the field at csumStart + csumOffset
 * holds the pseudo-header sum, as Linux's own CHECKSUM_PARTIAL packets do).
 */
export function vnetEmitGso(hdr: usize, gsoType: u8, hdrLen: u32, gsoSize: u32, csumStart: u32, csumOffset: u32): void {
  store<u8>(hdr + VNET_FLAGS, VNET_F_NEEDS_CSUM);
  store<u8>(hdr + VNET_GSO_TYPE, gsoType);
  store<u16>(hdr + VNET_HDR_LEN_FIELD, <u16>hdrLen);
  store<u16>(hdr + VNET_GSO_SIZE, <u16>gsoSize);
  store<u16>(hdr + VNET_CSUM_START, <u16>csumStart);
  store<u16>(hdr + VNET_CSUM_OFFSET, <u16>csumOffset);
}
