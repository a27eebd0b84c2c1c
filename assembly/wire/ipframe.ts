// Where the IP packet and its transport header sit inside an Ethernet frame (after up to two VLAN
// tags). The offload code (segmentation, coalescing, ICMP too-big, MSS clamp) works on frames
// through this one parse. IPv6 extension headers are not walked: a packet whose fixed header is not
// followed directly by TCP is simply "not TCP" here.
import { WireCheck } from "./check";
import { ETH_TRUNCATED, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ethTypeOffset } from "./ethernet";
import { getU16 } from "./bytes";
import { IP_PROTO_TCP, ipv4Check, ipv4HeaderLen, ipv4IsFragment, ipv4Protocol, ipv4PseudoSum, ipv4Src, ipv4Dst, ipv4TotalLen } from "./ipv4";
import { IPV6_HEADER_LEN, ipv6Check, ipv6NextHeader, ipv6PayloadLen, ipv6PseudoSum } from "./ipv6";
import { tcpCheck, tcpHeaderLen } from "./tcp";

export class FrameIp {
  /** 4 or 6; 0 when the frame holds no whole IP packet. */
  version: u8 = 0;
  /** Offset of the IP header in the frame (= the Ethernet header's length, tags included). */
  l3: u32 = 0;
  /** Offset of the transport header. */
  l4: u32 = 0;
  /** The transport protocol (IPv6: the fixed header's next header). */
  proto: u8 = 0;
  /** Offset just past the IP packet (a frame may carry padding after it). */
  end: u32 = 0;
  /** A non-first or non-last IPv4 fragment: its transport header is not where l4 says. */
  fragment: bool = false;
  /** TCP header length when proto is TCP and the header is whole, else 0. */
  tcpLen: u32 = 0;

  /** Parses the `len`-byte frame at `f`; false (version 0) when it holds no whole IPv4/IPv6 packet. */
  parse(f: usize, len: u32): bool {
    this.version = 0;
    this.tcpLen = 0;
    const typeAt = ethTypeOffset(f, len);
    if (typeAt == ETH_TRUNCATED) return false;
    const type = getU16(f + typeAt);
    const l3 = typeAt + 2;
    const ip = f + l3;
    if (type == ETHERTYPE_IPV4) {
      if (ipv4Check(ip, len - l3) != WireCheck.Ok) return false;
      this.l4 = l3 + ipv4HeaderLen(ip);
      this.end = l3 + ipv4TotalLen(ip);
      this.proto = ipv4Protocol(ip);
      this.fragment = ipv4IsFragment(ip);
      this.version = 4;
    } else if (type == ETHERTYPE_IPV6) {
      if (ipv6Check(ip, len - l3) != WireCheck.Ok) return false;
      this.l4 = l3 + IPV6_HEADER_LEN;
      this.end = this.l4 + ipv6PayloadLen(ip);
      this.proto = ipv6NextHeader(ip);
      this.fragment = false;
      this.version = 6;
    } else {
      return false;
    }
    this.l3 = l3;
    if (this.proto == IP_PROTO_TCP && !this.fragment && tcpCheck(f + this.l4, this.end - this.l4) == WireCheck.Ok) {
      this.tcpLen = tcpHeaderLen(f + this.l4);
    }
    return true;
  }

  /** Headers up to the TCP payload (requires tcpLen != 0). */
  // @ts-ignore: decorator
  @inline get headersLen(): u32 { return this.l4 + this.tcpLen; }

  /** The pseudo-header partial sum for a transport segment of `upperLen` bytes in frame `f`. */
  pseudoSum(f: usize, upperLen: u32): u32 {
    return ipPseudoSum(f + this.l3, this.version, this.proto, upperLen);
  }
}

/** The pseudo-header partial sum under the IPv4 (`version` 4) or IPv6 header at `ip`. */
export function ipPseudoSum(ip: usize, version: u8, proto: u8, upperLen: u32): u32 {
  return version == 4
    ? ipv4PseudoSum(ipv4Src(ip), ipv4Dst(ip), proto, upperLen)
    : ipv6PseudoSum(ip, proto, upperLen);
}
