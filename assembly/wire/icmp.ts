// The ICMP "too big" messages (RFC 792 / RFC 1191 "fragmentation needed", RFC 4443 Packet Too
// Big) a switch that cannot carry a frame sends back to its sender, and the error types that must
// never be answered with another error.
//   ICMPv4: type(1) code(1) checksum(2) unused(2) next_hop_mtu(2) original IP header + data
//   ICMPv6: type(1) code(1) checksum(2) mtu(4) as much of the original packet as fits 1280 bytes
import { putU16, putU32 } from "./bytes";

export const ICMP_TYPE: u32 = 0;
export const ICMP_CODE: u32 = 1;
export const ICMP_CHECKSUM: u32 = 2;
export const ICMP_HEADER_LEN: u32 = 8;
export const ICMPV4_NEXT_HOP_MTU: u32 = 6;
export const ICMPV6_MTU: u32 = 4;

export const ICMPV4_DEST_UNREACHABLE: u8 = 3;
export const ICMPV4_FRAG_NEEDED: u8 = 4;
export const ICMPV6_PACKET_TOO_BIG: u8 = 2;
/** ICMPv6 types below this are errors (RFC 4443 2.1). */
export const ICMPV6_INFO_FIRST: u8 = 128;

/** IPv4 ICMP errors (unreachable, source quench, redirect, time exceeded, parameter problem). */
export function icmpv4IsError(type: u8): bool {
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/** Writes the 8-byte header of a too-big message (checksum 0: fill it once the quote is in place). */
export function icmpTooBigEmit(p: usize, v6: bool, mtu: u32): void {
  store<u8>(p + ICMP_TYPE, v6 ? ICMPV6_PACKET_TOO_BIG : ICMPV4_DEST_UNREACHABLE);
  store<u8>(p + ICMP_CODE, v6 ? 0 : ICMPV4_FRAG_NEEDED);
  putU16(p + ICMP_CHECKSUM, 0);
  if (v6) {
    putU32(p + ICMPV6_MTU, mtu);
  } else {
    putU16(p + 4, 0);
    putU16(p + ICMPV4_NEXT_HOP_MTU, <u16>mtu);
  }
}
