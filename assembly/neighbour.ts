// ARP and Neighbor Discovery seen on our TAP (docs/arp.md): the hosts' claims about their own
// addresses become bindings (bindings.ts), and a broadcast ARP request or multicast Neighbor
// Solicitation for an address bound to a MAC behind another node is answered here, into our TAP,
// instead of being flooded to every member (Linux bridge neigh_suppress). Unicast requests, unknown
// addresses, double-tagged frames and anything malformed go on as a switch forwards them.
import { Binding, bindingClaim, bindingRemote } from "./bindings";
import { config } from "./config";
import { Stat, count } from "./stats";
import { tapReserve } from "./tap";
import { ARP_LEN, ARP_OP_REPLY, ARP_OP_REQUEST, arpCheck, arpEmitReplyFrame, arpOp, arpSenderIp, arpSenderMac, arpTargetIp } from "./wire/arp";
import { IpAddr } from "./wire/bindmsg";
import { WireCheck } from "./wire/check";
import {
  ETHERTYPE_ARP, ETHERTYPE_IPV6, ETH_HEADER_LEN, ETH_TRUNCATED, MAC_BROADCAST, VLAN_TAG_LEN, ethDst, ethEmit,
  ethPayloadOffset, macIsGroup,
} from "./wire/ethernet";
import { getU16 } from "./wire/bytes";
import { IPV6_HEADER_LEN, ipv6Src } from "./wire/ipv6";
import {
  ICMPV6_NA, NA_F_OVERRIDE, NA_F_ROUTER, NA_F_SOLICITED, NA_LEN, NDP_NO_MAC, NDP_OPT_SOURCE_LL,
  NDP_OPT_TARGET_LL, ndpCheck, ndpEmitAdvert, ndpFlags, ndpLinkLayer, ndpTarget, ndpType,
} from "./wire/ndp";

/** Answers go out with at most the one 802.1Q tag the request had. */
const MAX_ANSWER_OFFSET: u32 = ETH_HEADER_LEN + VLAN_TAG_LEN;
/** ff02::1, where an answer to a duplicate-address probe goes (RFC 4861 7.2.4). */
const ALL_NODES: usize = memory.data<u8>([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const ALL_NODES_MAC: u64 = 0x3333_0000_0001;

/** An answer's Ethernet header: tagged in the request's VLAN (a priority tag, VLAN 0, is not kept). */
function answerHeaderLen(vlan: u32): u32 { return vlan != 0 ? ETH_HEADER_LEN + VLAN_TAG_LEN : ETH_HEADER_LEN; }

const asked = new IpAddr();
const claimed = new IpAddr();

/**
 * An ARP or ND frame of `len` bytes read from our TAP, whose source `src` (in `vlan`) was just
 * learnt as local. Learns what the sender claims; returns true when the frame was answered here
 * and must not be forwarded.
 */
export function neighbourFromTap(frame: usize, len: u32, vlan: u32, src: u64, now: f64): bool {
  const off = ethPayloadOffset(frame, len);
  if (off == ETH_TRUNCATED) return false;
  const type = getU16(frame + off - 2);
  if (type == ETHERTYPE_ARP) return arpFromTap(frame, len, off, vlan, src, now);
  if (type == ETHERTYPE_IPV6) return ndFromTap(frame, len, off, vlan, src, now);
  return false;
}

function arpFromTap(frame: usize, len: u32, off: u32, vlan: u32, src: u64, now: f64): bool {
  const p = frame + off;
  if (arpCheck(p, len - off) != WireCheck.Ok) { count(Stat.ArpMalformed); return false; }
  const op = arpOp(p);
  if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY) { count(Stat.ArpMalformed); return false; }
  const sha = arpSenderMac(p);
  // The sender speaks for itself only: a sender MAC other than the frame's is not learnt.
  if (sha == src && arpSenderIp(p) != 0) bindingClaim(src, vlan, claimed.setV4(arpSenderIp(p)), -1, now);
  if (op != ARP_OP_REQUEST || ethDst(frame) != MAC_BROADCAST) return false;
  const b = config.arpProxy && off <= MAX_ANSWER_OFFSET ? bindingRemote(vlan, asked.setV4(arpTargetIp(p)), now) : null;
  // A host asking for (or probing) its own address is not answered: only another MAC's binding is.
  if (b == null || b.mac == sha) { count(Stat.ArpFlooded); return false; }
  const hdr = answerHeaderLen(vlan);
  const out = tapReserve(hdr + ARP_LEN);
  if (out == 0) return true; // output full (counted); the host asks again
  arpEmitReplyFrame(out, hdr + ARP_LEN, b.mac, <u32>b.ip.lo, sha, arpSenderIp(p), vlan);
  count(Stat.ArpAnswered);
  return true;
}

function ndFromTap(frame: usize, len: u32, off: u32, vlan: u32, src: u64, now: f64): bool {
  const ip6 = frame + off;
  const check = ndpCheck(ip6, len - off);
  if (check == WireCheck.BadVersion) return false; // not NS/NA: forwarded untouched
  if (check != WireCheck.Ok) { count(Stat.NdMalformed); return false; }
  claimed.setV6(ipv6Src(ip6));
  const dad = claimed.hi == 0 && claimed.lo == 0; // from :: : a duplicate-address probe
  if (ndpType(ip6) == ICMPV6_NA) {
    const tlla = ndpLinkLayer(ip6, NDP_OPT_TARGET_LL);
    if (tlla == NDP_NO_MAC || tlla == src) {
      bindingClaim(src, vlan, claimed.setV6(ndpTarget(ip6)), (ndpFlags(ip6) & NA_F_ROUTER) != 0 ? 1 : 0, now);
    }
    return false;
  }
  const slla = ndpLinkLayer(ip6, NDP_OPT_SOURCE_LL);
  if (dad && slla != NDP_NO_MAC) { count(Stat.NdMalformed); return false; } // RFC 4861 7.1.1
  if (!dad && slla == src) bindingClaim(src, vlan, claimed, -1, now);
  if (!macIsGroup(ethDst(frame))) return false; // unicast NS (reachability) passes untouched
  const b = config.arpProxy && off <= MAX_ANSWER_OFFSET ? bindingRemote(vlan, asked.setV6(ndpTarget(ip6)), now) : null;
  if (b == null || b.mac == src) { count(Stat.NdFlooded); return false; }
  return advertise(frame, off, vlan, src, slla, dad, b);
}

/** Writes the NA for `b` answering the NS in `frame` into our TAP. */
function advertise(frame: usize, off: u32, vlan: u32, src: u64, slla: u64, dad: bool, b: Binding): bool {
  const ip6 = frame + off;
  const hdr = answerHeaderLen(vlan);
  const out = tapReserve(hdr + IPV6_HEADER_LEN + NA_LEN);
  if (out == 0) return true;
  const flags = (b.router ? NA_F_ROUTER : 0) | (dad ? 0 : NA_F_SOLICITED | NA_F_OVERRIDE);
  const toMac = dad ? ALL_NODES_MAC : slla != NDP_NO_MAC ? slla : src;
  ethEmit(out, hdr, toMac, b.mac, vlan, ETHERTYPE_IPV6);
  // The target is the NS's own: the bound address, as asked.
  ndpEmitAdvert(out + hdr, IPV6_HEADER_LEN + NA_LEN, ndpTarget(ip6), dad ? ALL_NODES : ipv6Src(ip6), flags, b.mac);
  count(Stat.NdAnswered);
  return true;
}
