// Receive-side coalescing toward the TAP (GRO, as Linux's tcp_gro_receive and wireguard-go's
// tcpGRO do): consecutive in-order TCP segments of one flow that arrive from peers in one
// process() call become ONE frame written with a virtio-net GSO header, so the kernel takes a
// 64 KB segment in one write instead of ~45 frames. Only ACK segments with payload (PSH allowed on
// the last) whose headers are identical apart from sequence number, IPv4 ID (consecutive), lengths
// and checksums join; options must be byte-identical (timestamps included, as in Linux and
// wireguard-go). A segment's checksums are verified before it joins: a bad one goes to the TAP
// alone and unchanged, for the kernel to drop. Segments stay in the input region (valid for the
// whole process() call) until groFlushAll, which index.ts calls at the end of every call.
// Order: a TCP segment that does not join a pending flow of the same 4-tuple flushes it first.
import { OUT_FRAME } from "./abi";
import { outputReserve } from "./queue";
import { Stat, count, countBy } from "./stats";
import { getU16, putU16 } from "./wire/bytes";
import { FrameIp, ipPseudoSum } from "./wire/ipframe";
import {
  IPV4_CHECKSUM, IPV4_FLAGS_FRAG, IPV4_HEADER_LEN, IPV4_IDENT, IPV4_SRC, IPV4_TOTAL_LEN, IP_PROTO_TCP, ipv4ChecksumValid,
  ipv4FillChecksum,
} from "./wire/ipv4";
import { IPV6_PAYLOAD_LEN, IPV6_SRC } from "./wire/ipv6";
import {
  TCP_ACK, TCP_ACK_NUM, TCP_CHECKSUM, TCP_FLAGS, TCP_PSH, TCP_SRC_PORT, TCP_URGENT, TCP_WINDOW,
  tcpChecksumValid, tcpFlags, tcpSeq,
} from "./wire/tcp";
import { VNET_GSO_TCPV4, VNET_GSO_TCPV6, VNET_HDR_LEN, vnetEmitGso } from "./wire/vnet";
import { tapWrite } from "./tap";

const MAX_FLOWS: i32 = 16;
const MAX_SEGMENTS: i32 = 64;
/** IPv4 total length and IPv6 payload length are 16 bits. */
const MAX_IP_LEN: u32 = 0xffff;

class Flow {
  frame: usize = 0; // the first segment: its headers head the coalesced frame
  frameLen: u32 = 0;
  version: u8 = 0;
  l3: u32 = 0;
  l4: u32 = 0;
  tcpLen: u32 = 0;
  gsoSize: u32 = 0; // the first segment's payload: every other must be as long, the last at most
  bytes: u32 = 0;
  nextSeq: u32 = 0;
  nextId: u16 = 0;
  psh: bool = false;
  closed: bool = false; // a short or PSH segment joined: nothing may follow it
  segments: i32 = 0;
  readonly payloads: StaticArray<usize> = new StaticArray<usize>(MAX_SEGMENTS);
  readonly lens: StaticArray<u32> = new StaticArray<u32>(MAX_SEGMENTS);
}

const flows = new StaticArray<Flow>(MAX_FLOWS);
for (let i = 0; i < MAX_FLOWS; i++) flows[i] = new Flow();
let pending: i32 = 0;
const ip = new FrameIp();

/** A frame from a peer for our TAP (config.tapVnetHdr): joins a flow, or is written after flushing its flow. */
export function groFrame(frame: usize, len: u32): void {
  if (!ip.parse(frame, len) || ip.tcpLen == 0) { tapWrite(frame, len); return; }
  const i = findFlow(frame);
  if (!candidate(frame)) {
    if (i >= 0) flush(i);
    tapWrite(frame, len);
    return;
  }
  if (i >= 0) {
    if (join(unchecked(flows[i]), frame)) return;
    flush(i);
  }
  if (pending == MAX_FLOWS) flush(0);
  start(unchecked(flows[pending++]), frame, len);
}

/** Writes every pending flow to the TAP: the end of a process() call. */
export function groFlushAll(): void {
  while (pending > 0) flush(pending - 1);
}

/** An ACK (PSH allowed) with payload and right checksums: what may be coalesced. */
function candidate(frame: usize): bool {
  const tcp = frame + ip.l4;
  if ((tcpFlags(tcp) & ~TCP_PSH) != TCP_ACK || ip.headersLen >= ip.end) return false;
  if ((ip.version == 4 && !ipv4ChecksumValid(frame + ip.l3)) ||
      !tcpChecksumValid(tcp, ip.end - ip.l4, ip.pseudoSum(frame, ip.end - ip.l4))) {
    count(Stat.GroBadChecksum);
    return false;
  }
  return true;
}

/** The pending flow with this frame's Ethernet header, IP addresses and ports, or -1. */
function findFlow(frame: usize): i32 {
  const addrAt: u32 = ip.version == 4 ? IPV4_SRC : IPV6_SRC;
  const addrLen: u32 = ip.version == 4 ? 8 : 32;
  for (let i = 0; i < pending; i++) {
    const f = unchecked(flows[i]);
    if (f.version != ip.version || f.l3 != ip.l3 || memory.compare(f.frame, frame, ip.l3) != 0) continue;
    if (memory.compare(f.frame + f.l3 + addrAt, frame + ip.l3 + addrAt, addrLen) != 0) continue;
    if (load<u32>(f.frame + f.l4 + TCP_SRC_PORT) == load<u32>(frame + ip.l4 + TCP_SRC_PORT)) return i;
  }
  return -1;
}

function start(f: Flow, frame: usize, len: u32): void {
  const n = ip.end - ip.headersLen;
  const tcp = frame + ip.l4;
  f.frame = frame;
  f.frameLen = len;
  f.version = ip.version;
  f.l3 = ip.l3;
  f.l4 = ip.l4;
  f.tcpLen = ip.tcpLen;
  f.gsoSize = n;
  f.bytes = n;
  f.nextSeq = tcpSeq(tcp) + n;
  f.nextId = ip.version == 4 ? getU16(frame + ip.l3 + IPV4_IDENT) + 1 : 0;
  f.psh = (tcpFlags(tcp) & TCP_PSH) != 0;
  f.closed = f.psh;
  f.segments = 1;
  unchecked(f.payloads[0] = frame + ip.headersLen);
  unchecked(f.lens[0] = n);
}

/** Same bytes at [from, to) of both headers. */
function same(a: usize, b: usize, from: u32, to: u32): bool {
  return memory.compare(a + from, b + from, to - from) == 0;
}

function join(f: Flow, frame: usize): bool {
  const n = ip.end - ip.headersLen;
  if (f.closed || f.segments == MAX_SEGMENTS || n > f.gsoSize) return false;
  if (ip.l4 != f.l4 || ip.tcpLen != f.tcpLen || f.l4 - f.l3 + f.tcpLen + f.bytes + n > MAX_IP_LEN) return false;
  const a = f.frame + f.l3;
  const b = frame + ip.l3;
  if (ip.version == 4) {
    // Same version/IHL/TOS, flags/fragment, TTL, protocol and options; the ID follows on.
    if (!same(a, b, 0, IPV4_TOTAL_LEN) || !same(a, b, IPV4_FLAGS_FRAG, IPV4_CHECKSUM) ||
        !same(a, b, IPV4_HEADER_LEN, f.l4 - f.l3)) return false;
    if (getU16(b + IPV4_IDENT) != f.nextId) return false;
  } else if (!same(a, b, 0, IPV6_PAYLOAD_LEN) || !same(a, b, IPV6_PAYLOAD_LEN + 2, IPV6_SRC)) {
    return false; // traffic class, flow label, next header, hop limit
  }
  const ta = f.frame + f.l4;
  const tb = frame + ip.l4;
  if (tcpSeq(tb) != f.nextSeq) return false;
  // Same ACK number, data offset, flags but PSH, window, urgent pointer and options.
  if (!same(ta, tb, TCP_ACK_NUM, TCP_FLAGS) || !same(ta, tb, TCP_WINDOW, TCP_CHECKSUM) || !same(ta, tb, TCP_URGENT, f.tcpLen)) return false;
  if (((load<u8>(ta + TCP_FLAGS) ^ load<u8>(tb + TCP_FLAGS)) & ~TCP_PSH) != 0) return false;
  unchecked(f.payloads[f.segments] = frame + ip.headersLen);
  unchecked(f.lens[f.segments] = n);
  f.segments++;
  f.bytes += n;
  f.nextSeq += n;
  f.nextId++;
  if ((tcpFlags(tb) & TCP_PSH) != 0) f.psh = true;
  f.closed = f.psh || n < f.gsoSize;
  return true;
}

/** Writes flow `i` to the TAP (one GSO frame, or the lone segment as it came) and forgets it. */
function flush(i: i32): void {
  const f = unchecked(flows[i]);
  if (f.segments == 1) tapWrite(f.frame, f.frameLen);
  else writeCoalesced(f);
  pending--;
  unchecked(flows[i] = flows[pending]);
  unchecked(flows[pending] = f);
}

function writeCoalesced(f: Flow): void {
  const hdrs = f.l4 + f.tcpLen;
  const out = outputReserve(OUT_FRAME, VNET_HDR_LEN + hdrs + f.bytes);
  if (out == 0) return;
  vnetEmitGso(out, f.version == 4 ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6, hdrs, f.gsoSize, f.l4, TCP_CHECKSUM);
  const frame = out + VNET_HDR_LEN;
  memory.copy(frame, f.frame, hdrs);
  let at = frame + hdrs;
  for (let s = 0; s < f.segments; s++) {
    const n = unchecked(f.lens[s]);
    memory.copy(at, unchecked(f.payloads[s]), n);
    at += n;
  }
  const tcpSegLen = f.tcpLen + f.bytes;
  const iph = frame + f.l3;
  if (f.version == 4) {
    putU16(iph + IPV4_TOTAL_LEN, <u16>(f.l4 - f.l3 + tcpSegLen));
    ipv4FillChecksum(iph);
  } else {
    putU16(iph + IPV6_PAYLOAD_LEN, <u16>tcpSegLen);
  }
  const tcp = frame + f.l4;
  if (f.psh) store<u8>(tcp + TCP_FLAGS, load<u8>(tcp + TCP_FLAGS) | TCP_PSH);
  // NEEDS_CSUM: the field holds the pseudo-header sum (not complemented) for the kernel to finish.
  putU16(tcp + TCP_CHECKSUM, <u16>ipPseudoSum(iph, f.version, IP_PROTO_TCP, tcpSegLen));
  count(Stat.FramesToTap);
  count(Stat.GroFramesToTap);
  countBy(Stat.GroSegmentsJoined, f.segments);
}
