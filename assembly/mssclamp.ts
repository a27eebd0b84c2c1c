// MSS clamping (tinc's ClampMSS, iptables' TCPMSS --clamp-mss-to-pmtu): a SYN or SYN-ACK crossing
// the switch, either way, has its MSS option lowered so that a full-sized segment of that
// connection fits one FRAME datagram of `room` bytes. It covers senders that do not hand us TSO
// frames (bridged VMs, hosts with a larger MTU) and the receiving side's own segments.
import { Stat, count } from "./stats";
import { getU16 } from "./wire/bytes";
import { FRAME_HEADER_LEN } from "./wire/divs";
import { FrameIp } from "./wire/ipframe";
import { IPV4_HEADER_LEN } from "./wire/ipv4";
import { IPV6_HEADER_LEN } from "./wire/ipv6";
import { TCP_HEADER_LEN, TCP_SYN, tcpFlags, tcpMssOffset, tcpReplaceU16 } from "./wire/tcp";

/** Lowers the MSS of the SYN in `frame` (parsed into `ip`, checksum complete) to fit `room`. */
export function mssClamp(frame: usize, ip: FrameIp, room: u32): void {
  if (ip.tcpLen == 0) return;
  const tcp = frame + ip.l4;
  if ((tcpFlags(tcp) & TCP_SYN) == 0) return;
  const at = tcpMssOffset(tcp);
  if (at == 0) return;
  // The MSS excludes IP and TCP options: the sender subtracts its own options (RFC 9293 3.7.1).
  const headers = FRAME_HEADER_LEN + ip.l3 + (ip.version == 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN) + TCP_HEADER_LEN;
  if (headers >= room) return;
  const max = room - headers;
  if (<u32>getU16(tcp + at) <= max) return;
  tcpReplaceU16(tcp, at, <u16>max);
  count(Stat.MssClamped);
}
