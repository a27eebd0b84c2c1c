// How big a TAP frame can be so its datagram fits one underlay packet:
//   underlay MTU 1500 = IPv4 20 + UDP 8 + sealing (DATA header and tag, DATA_OVERHEAD) 30 + DiVS datagram
//   DiVS FRAME datagram = 3-byte header + Ethernet header 14 + payload (the TAP MTU)
// The default max datagram is this IPv4 figure; an IPv6 path carries 20 bytes less at the same MTU,
// which each peer's path MTU search finds (the socket refuses larger datagrams with EMSGSIZE, DF on
// both families; docs/pmtu.md).

import { DATA_OVERHEAD } from "../secure/handshake.ts";

export const UNDERLAY_MTU = 1500;
export const IPV4_UDP_OVERHEAD = 20 + 8;
export const IPV6_UDP_OVERHEAD = 40 + 8;
export const FRAME_DATAGRAM_HEADER = 3;
export const ETHERNET_HEADER = 14;

/** The largest plaintext DiVS datagram for an underlay MTU. */
export function maxDatagramFor(underlayMtu: number): number {
  return underlayMtu - IPV4_UDP_OVERHEAD - DATA_OVERHEAD;
}

/** The TAP MTU whose full frames still fit: 1425 for a 1500-byte underlay. */
export function tapMtuFor(underlayMtu: number): number {
  return maxDatagramFor(underlayMtu) - FRAME_DATAGRAM_HEADER - ETHERNET_HEADER;
}

export const DEFAULT_TAP_MTU = tapMtuFor(UNDERLAY_MTU);

// TAP offloads (docs/host.md "Offloads"). Every TAP record starts with a 10-byte virtio-net header.
export const VNET_HDR = 10;
/** Room in a TAP record for the virtio-net header, the Ethernet header and one VLAN tag on top of the MTU. */
export const TAP_FRAME_OVERHEAD = VNET_HDR + ETHERNET_HEADER + 4;
/** The kernel's TSO frames stay under this; the core cuts them into datagrams that fit the underlay. */
export const TAP_GSO_MAX_SIZE = 64000;
/** The largest record the TAP hands over with offload on: header, Ethernet header, a 64 KB segment. */
export const TAP_MAX_GSO_FRAME = VNET_HDR + ETHERNET_HEADER + 65535;

/** The largest record one TAP read returns. */
export function tapMaxRecord(mtu: number, offload: boolean): number {
  return offload ? TAP_MAX_GSO_FRAME : mtu + TAP_FRAME_OVERHEAD;
}

/** The underlay IP MTU a path MTU of `maxDatagram` plaintext bytes stands for (`divs members` shows it). */
export function underlayMtuOf(maxDatagram: number, ipv6: boolean): number {
  return maxDatagram + DATA_OVERHEAD + (ipv6 ? IPV6_UDP_OVERHEAD : IPV4_UDP_OVERHEAD);
}
