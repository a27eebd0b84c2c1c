// Segmentation of the TAP's TSO frames (TCP segmentation offload done here, as wireguard-go's
// gsoSplit and Linux's tcp_gso_segment do): a TCP segment of up to 64 KB that the kernel handed
// over with a virtio-net GSO header is cut into TCP segments that each fit one FRAME datagram, so
// nothing relies on the underlay fragmenting IP. Each segment gets its own IPv4 total length and
// ID (the first segment's ID + its index) and header checksum, or its IPv6 payload length, its
// sequence number, FIN and PSH only on the last, CWR only on the first, the original options and
// a full TCP checksum.
import { OUT_DATAGRAM } from "./abi";
import { outputToAddr } from "./queue";
import { Stat, count } from "./stats";
import { getU16, putU16 } from "./wire/bytes";
import { DG_MESSAGE, DG_VERSION, FRAME_FLAGS, FRAME_HEADER_LEN, MSG_FRAME, WIRE_VERSION } from "./wire/divs";
import { FrameIp } from "./wire/ipframe";
import { IPV4_IDENT, IPV4_TOTAL_LEN, ipv4FillChecksum } from "./wire/ipv4";
import { IPV6_PAYLOAD_LEN } from "./wire/ipv6";
import {
  TCP_CHECKSUM, TCP_CWR, TCP_FIN, TCP_PSH, tcpFillChecksum, tcpFlags, tcpSeq, tcpSetFlags, tcpSetSeq,
} from "./wire/tcp";
import {
  VNET_F_NEEDS_CSUM, VNET_FLAGS, VNET_GSO_ECN, VNET_GSO_TCPV4, VNET_GSO_TCPV6, vnetCsumOffset, vnetCsumStart,
  vnetGsoSize, vnetGsoType, vnetHdrLen,
} from "./wire/vnet";

// The frame tsoPrepare accepted, cut by tsoCut once per destination.
const ip = new FrameIp();
let tsoFrame: usize = 0;
let tsoGsoSize: u32 = 0;

/**
 * Checks a frame whose virtio-net header asks for segmentation, and keeps it for tsoCut. False
 * when the header and the frame disagree or ask for what is not done here (UDP GSO, IPv6
 * extension headers, a gso_size of 0, offsets past the frame): such a frame is never sent as is.
 */
export function tsoPrepare(vnet: usize, frame: usize, len: u32): bool {
  const type = vnetGsoType(vnet) & ~VNET_GSO_ECN; // ECN only says CWR stays on the first segment, as done anyway
  if (type != VNET_GSO_TCPV4 && type != VNET_GSO_TCPV6) return false;
  tsoGsoSize = vnetGsoSize(vnet);
  if (tsoGsoSize == 0 || vnetHdrLen(vnet) > len) return false;
  if (!ip.parse(frame, len) || ip.tcpLen == 0) return false;
  if (ip.version != (type == VNET_GSO_TCPV4 ? 4 : 6)) return false;
  // The kernel's hdr_len is only a hint (wireguard-go does not trust it either); csum_start must name our TCP header.
  if ((load<u8>(vnet + VNET_FLAGS) & VNET_F_NEEDS_CSUM) != 0 &&
      (vnetCsumStart(vnet) != ip.l4 || vnetCsumOffset(vnet) != TCP_CHECKSUM)) return false;
  if (ip.headersLen >= ip.end) return false; // no payload to cut
  tsoFrame = frame;
  return true;
}

/**
 * Sends the prepared frame to `to` as FRAME datagrams of at most `room` bytes, each carrying
 * min(gso_size, what fits) bytes of payload. False when the output is full (counted there).
 */
export function tsoCut(to: usize, room: u32): bool {
  const frame = tsoFrame;
  const hdrs = ip.headersLen;
  if (FRAME_HEADER_LEN + hdrs >= room) { count(Stat.FramesTooBig); return true; }
  let mss = room - FRAME_HEADER_LEN - hdrs;
  if (mss > tsoGsoSize) mss = tsoGsoSize;
  const total = ip.end - hdrs;
  const tcp0 = frame + ip.l4;
  const seq0 = tcpSeq(tcp0);
  const flags0 = tcpFlags(tcp0);
  const id0 = getU16(frame + ip.l3 + IPV4_IDENT);
  let index: u16 = 0;
  for (let off: u32 = 0; off < total; off += mss, index++) {
    const n = min(mss, total - off);
    const dg = outputToAddr(OUT_DATAGRAM, to, FRAME_HEADER_LEN + hdrs + n);
    if (dg == 0) return false;
    store<u8>(dg + DG_VERSION, WIRE_VERSION);
    store<u8>(dg + DG_MESSAGE, MSG_FRAME);
    store<u8>(dg + DG_MESSAGE + FRAME_FLAGS, 0);
    const f = dg + FRAME_HEADER_LEN;
    memory.copy(f, frame, hdrs);
    memory.copy(f + hdrs, frame + hdrs + off, n);
    const iph = f + ip.l3;
    const tcpSegLen = ip.tcpLen + n;
    if (ip.version == 4) {
      putU16(iph + IPV4_TOTAL_LEN, <u16>(ip.l4 - ip.l3 + tcpSegLen));
      putU16(iph + IPV4_IDENT, id0 + index);
      ipv4FillChecksum(iph);
    } else {
      putU16(iph + IPV6_PAYLOAD_LEN, <u16>tcpSegLen);
    }
    const tcp = f + ip.l4;
    tcpSetSeq(tcp, seq0 + off);
    let flags = flags0;
    if (off + n < total) flags &= ~(TCP_FIN | TCP_PSH);
    if (index > 0) flags &= ~TCP_CWR;
    tcpSetFlags(tcp, flags);
    tcpFillChecksum(tcp, tcpSegLen, ip.pseudoSum(f, tcpSegLen));
    count(Stat.TsoSegmentsOut);
    count(Stat.DatagramsOut);
  }
  return true;
}
