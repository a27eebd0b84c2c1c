// A frame from our TAP too big for the datagram to its peer, that segmentation cannot help (not a
// TSO frame): dropped (counted in frames_too_big), and where IP allows, its sender is told the
// size that fits, as a router on the path would: IPv4 with DF gets ICMP "fragmentation needed"
// (type 3 code 4, RFC 1191), IPv6 gets Packet Too Big (RFC 8201), both written into our TAP as if
// from the destination (its MAC and IP address, as tinc does in switch mode). IPv4 without DF is
// only dropped: the overlay does not fragment. Answers are rate-limited (a token bucket on the
// host's clock): senders retry anyway.
import { Stat, count } from "./stats";
import { tapReserve } from "./tap";
import { getU16, putMac, putU16 } from "./wire/bytes";
import { onesFinish, onesSum } from "./wire/checksum";
import { FRAME_HEADER_LEN } from "./wire/divs";
import { ethDst, ethSrc, macIsGroup } from "./wire/ethernet";
import { ICMP_CHECKSUM, ICMP_HEADER_LEN, ICMPV6_INFO_FIRST, icmpTooBigEmit, icmpv4IsError } from "./wire/icmp";
import { FrameIp } from "./wire/ipframe";
import { IPV4_FLAG_DF, IPV4_FLAGS_FRAG, IPV4_HEADER_LEN, IP_PROTO_ICMP, IP_PROTO_ICMPV6, ipv4Dst, ipv4Emit, ipv4Src } from "./wire/ipv4";
import { IPV6_HEADER_LEN, ipv6Dst, ipv6Emit, ipv6PseudoSum, ipv6Src } from "./wire/ipv6";

const BURST: f64 = 10;
const REFILL_MS: f64 = 100; // one answer per 100 ms once the burst is spent
/** RFC 1812 4.3.2.3: quote as much as fits a 576-byte datagram; RFC 4443: as fits 1280. */
const IPV4_ERROR_MAX: u32 = 576;
const IPV6_ERROR_MAX: u32 = 1280;

let tokens: f64 = BURST;
let refilledAt: f64 = 0;

/** Drops the frame (counted) and answers its sender with ICMP when allowed; `room` is what a FRAME datagram may take. */
export function frameTooBig(frame: usize, ip: FrameIp, room: u32, now: f64): void {
  count(Stat.FramesTooBig);
  if (ip.version == 0 || ip.fragment || macIsGroup(ethDst(frame)) || FRAME_HEADER_LEN + ip.l3 >= room) return;
  const iph = frame + ip.l3;
  const hasType = ip.l4 < ip.end;
  let quote = ip.end - ip.l3;
  if (ip.version == 4) {
    if ((getU16(iph + IPV4_FLAGS_FRAG) & IPV4_FLAG_DF) == 0) return;
    const src = ipv4Src(iph);
    if (src == 0 || ipv4Dst(iph) >= 0xe000_0000) return; // multicast, broadcast: not one sender's path
    if (ip.proto == IP_PROTO_ICMP && hasType && icmpv4IsError(load<u8>(frame + ip.l4))) return;
    quote = min(quote, IPV4_ERROR_MAX - IPV4_HEADER_LEN - ICMP_HEADER_LEN);
  } else {
    const src = ipv6Src(iph);
    if (load<u8>(src) == 0xff || (load<u64>(src) == 0 && load<u64>(src + 8) == 0)) return;
    if (ip.proto == IP_PROTO_ICMPV6 && hasType && load<u8>(frame + ip.l4) < ICMPV6_INFO_FIRST) return;
    quote = min(quote, IPV6_ERROR_MAX - IPV6_HEADER_LEN - ICMP_HEADER_LEN);
  }
  if (!takeToken(now)) { count(Stat.IcmpTooBigRateLimited); return; }
  const v6 = ip.version == 6;
  const icmpLen = ICMP_HEADER_LEN + quote;
  const ipHdrLen = v6 ? IPV6_HEADER_LEN : IPV4_HEADER_LEN;
  const out = tapReserve(ip.l3 + ipHdrLen + icmpLen);
  if (out == 0) return;
  memory.copy(out, frame, ip.l3); // VLAN tags and ethertype as they came
  putMac(out, ethSrc(frame));
  putMac(out + 6, ethDst(frame));
  const outIp = out + ip.l3;
  if (v6) ipv6Emit(outIp, ipHdrLen, ipv6Dst(iph), ipv6Src(iph), IP_PROTO_ICMPV6, 255, icmpLen);
  else ipv4Emit(outIp, ipHdrLen, ipv4Dst(iph), ipv4Src(iph), IP_PROTO_ICMP, 64, 0, icmpLen);
  const icmp = outIp + ipHdrLen;
  icmpTooBigEmit(icmp, v6, room - FRAME_HEADER_LEN - ip.l3); // the largest IP packet that fits
  memory.copy(icmp + ICMP_HEADER_LEN, iph, quote);
  const pseudo = v6 ? ipv6PseudoSum(outIp, IP_PROTO_ICMPV6, icmpLen) : 0;
  putU16(icmp + ICMP_CHECKSUM, onesFinish(onesSum(icmp, icmpLen, pseudo)));
  count(Stat.IcmpTooBigSent);
}

function takeToken(now: f64): bool {
  tokens = Math.min(BURST, tokens + (now - refilledAt) / REFILL_MS);
  refilledAt = now;
  if (tokens < 1) return false;
  tokens -= 1;
  return true;
}
