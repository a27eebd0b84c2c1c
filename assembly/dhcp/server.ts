// Answering DHCP clients behind our TAP (RFC 2131, docs/dhcp.md "Serving").
// A frame from the TAP to UDP port 67, or an ARP request for the server
// identifier, is taken here instead of being flooded; answers go back into
// the TAP. New addresses come only from blocks this node owns; a client's
// known lease is given back at any node, and extended there only while the
// block's owner is alive in our view (else only its time left), so an owner
// on the other side of a partition never sees its lease outlived.
import { OUT_DHCP_ADDRESS } from "../abi";
import { bindingLearn } from "../bindings";
import { putU32 } from "../wire/bytes";
import { config } from "../config";
import { self } from "../node";
import { outputLog, outputReserve } from "../queue";
import { Stat, count } from "../stats";
import { tapWrite } from "../tap";
import { ARP_OP_REQUEST, arpCheck, arpEmitReplyFrame, arpOp, arpSenderIp, arpSenderMac, arpTargetIp } from "../wire/arp";
import { WireCheck } from "../wire/check";
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, MAC_BROADCAST, ETH_TRUNCATED, ethEmit, ethInnerType, ethPayloadOffset } from "../wire/ethernet";
import {
  DHCPACK, DHCPDECLINE, DHCPDISCOVER, DHCPINFORM, DHCPNAK, DHCPOFFER, DHCPRELEASE, DHCPREQUEST, DHCP_CLIENT_PORT,
  DHCP_FLAG_BROADCAST, DHCP_REPLY_MAX, DHCP_SERVER_PORT, BOOTREQUEST, DhcpReply, DhcpRequest, dhcpEmit, dhcpParse,
} from "../wire/dhcp";
import {
  IPV4_HEADER_LEN, IP_PROTO_UDP, ipv4Check, ipv4Dst, ipv4HeaderLen, ipv4IsFragment, ipv4Emit, ipv4Protocol,
} from "../wire/ipv4";
import { UDP_HEADER_LEN, udpCheck, udpDstPort, udpEmit, udpFillChecksumIpv4, udpPayloadLen } from "../wire/udp";
import { leaseChanged } from "./gossip";
import { LEASE_BOUND, LEASE_DECLINED, LEASE_FREE, LEASE_OFFERED, LEASE_RELEASED, NO_NAME } from "./leases";
import { leaseCap } from "./ownership";
import { absences, leaseMs, leases, poolReady, ranges, reclaimAfterMs, restored, serverIp, serverMac } from "./pool";
import { ownerLive } from "./view";

/** OUT_DHCP_ADDRESS: u32 address, u32 prefix length, u32 lease s. */
const SELF_ADDRESS_LEN: u32 = 12;
/** An offer holds its address this long for the client's REQUEST. */
const OFFER_HOLD_MS: f64 = 10_000;
/** New addresses handed out per second at most, and the burst allowed (a client cycling MACs). */
const GRANTS_PER_S: f64 = 20;
const GRANT_BURST: f64 = 64;

const SCRATCH_LEN: u32 = 18 + IPV4_HEADER_LEN + UDP_HEADER_LEN + DHCP_REPLY_MAX;
const scratch: usize = heap.alloc(SCRATCH_LEN);
const req = new DhcpRequest();
const reply = new DhcpReply();
/** The exhaustion was logged: once until an address of ours is free again. */
let exhaustedLogged = false;
let grantCredit: f64 = GRANT_BURST;
let grantCreditAt: f64 = 0;

/** FNV-1a of the client id, 0 when there is none. */
function clientIdHash(p: usize, len: u32): u32 {
  if (len == 0) return 0;
  let h: u32 = 0x811c9dc5;
  for (let i: u32 = 0; i < len; i++) h = (h ^ <u32>load<u8>(p + i)) * 0x01000193;
  return h == 0 ? 1 : h;
}

/** Takes one grant from the per-node rate limit; false when it is spent. */
function takeGrant(now: f64): bool {
  grantCredit = Math.min(GRANT_BURST, grantCredit + (now - grantCreditAt) * GRANTS_PER_S / 1000);
  grantCreditAt = now;
  if (grantCredit < 1) { count(Stat.DhcpRateLimited); return false; }
  grantCredit -= 1;
  return true;
}

/**
 * A frame from our TAP (Ethernet header at `frame`, `len` bytes, in `vlan`): returns true when it was
 * a DHCP request to a server or an ARP request for the server identifier, handled here.
 */
export function dhcpFromTap(frame: usize, len: u32, vlan: u32, now: f64): bool {
  if (!poolReady()) return false;
  const off = ethPayloadOffset(frame, len);
  if (off == ETH_TRUNCATED) return false;
  const type = ethInnerType(frame, len);
  const p = frame + off;
  const plen = len - off;
  if (type == ETHERTYPE_ARP) return arpForServer(p, plen, vlan);
  if (type != ETHERTYPE_IPV4 || ipv4Check(p, plen) != WireCheck.Ok || ipv4IsFragment(p) ||
      ipv4Protocol(p) != IP_PROTO_UDP) return false;
  const dst = ipv4Dst(p);
  if (dst != 0xffff_ffff && dst != serverIp()) return false;
  const u = p + ipv4HeaderLen(p);
  const ulen = plen - ipv4HeaderLen(p);
  if (udpCheck(u, ulen) != WireCheck.Ok || udpDstPort(u) != DHCP_SERVER_PORT) return false;
  if (dhcpParse(u + UDP_HEADER_LEN, udpPayloadLen(u), req) != WireCheck.Ok || req.op != BOOTREQUEST) {
    count(Stat.DhcpMalformed);
    return true;
  }
  serve(vlan, now);
  return true;
}

function arpForServer(p: usize, len: u32, vlan: u32): bool {
  if (arpCheck(p, len) != WireCheck.Ok || arpOp(p) != ARP_OP_REQUEST || arpTargetIp(p) != serverIp()) return false;
  const n = arpEmitReplyFrame(scratch, SCRATCH_LEN, serverMac(), serverIp(), arpSenderMac(p), arpSenderIp(p), vlan);
  if (n != 0) tapWrite(scratch, n);
  count(Stat.DhcpArpAnswered);
  return true;
}

function serve(vlan: u32, now: f64): void {
  // A restarted node answers once it has heard the switch (assembly/dhcp/persist.ts); clients retry.
  if (restored.held()) { count(Stat.DhcpRestoreWait); return; }
  const cid = clientIdHash(req.clientId, req.clientIdLen);
  switch (req.type) {
    case DHCPDISCOVER: {
      count(Stat.DhcpDiscovers);
      const off = offer(cid, now);
      if (off < 0) return;
      answer(DHCPOFFER, ranges.start + <u32>off, grantSeconds(<u32>off, now), vlan);
      count(Stat.DhcpOffers);
      return;
    }
    case DHCPREQUEST:
      count(Stat.DhcpRequests);
      request(cid, vlan, now);
      return;
    case DHCPRELEASE: {
      count(Stat.DhcpReleases);
      const off = offsetOf(req.ciaddr);
      if (off >= 0 && leases.state(<u32>off) == LEASE_BOUND && leases.mac(<u32>off) == req.chaddr) {
        leases.set(<u32>off, LEASE_RELEASED, req.chaddr, cid, now, self.id, leases.name(<u32>off));
        leaseChanged(<u32>off);
      }
      return;
    }
    case DHCPDECLINE: {
      count(Stat.DhcpDeclines);
      const off = offsetOf(req.requestedIp);
      // Someone else answers ARP for it: quarantined for a lease time, a conflict we did not make.
      if (off >= 0) {
        leases.set(<u32>off, LEASE_DECLINED, 0, 0, now + leaseMs(), self.id, NO_NAME);
        leaseChanged(<u32>off);
      }
      return;
    }
    case DHCPINFORM:
      count(Stat.DhcpInforms);
      answer(DHCPACK, 0, 0, vlan);
      return;
  }
}

function hostname(): ArrayBuffer {
  if (req.hostnameLen == 0) return NO_NAME;
  const b = new ArrayBuffer(<i32>req.hostnameLen);
  memory.copy(changetype<usize>(b), req.hostname, req.hostnameLen);
  return b;
}

/** Pool offset of address `ip`, or -1 outside the pool or for the server identifier (offset 0). */
function offsetOf(ip: u32): i32 {
  const off = ip - ranges.start;
  return ip >= ranges.start && off < ranges.size && off != 0 ? <i32>off : -1;
}

/** The address for a DISCOVER: the client's own unexpired lease anywhere, else a free one of ours. */
function pick(cid: u32, now: f64): i32 {
  const known = leases.find(req.chaddr, cid);
  if (known >= 0 && (leases.expiry(<u32>known) > now || ranges.owns(self.id, <u32>known))) {
    if (leases.state(<u32>known) != LEASE_DECLINED) return known;
  }
  const wanted = offsetOf(req.requestedIp);
  if (wanted >= 0 && ranges.owns(self.id, <u32>wanted) && !leases.held(<u32>wanted, now)) {
    return takeGrant(now) ? wanted : -1;
  }
  // Never used first, then the longest expired, so a returning client likely finds its old address.
  let best: i32 = -1;
  let bestExpiry = Infinity;
  for (let off: u32 = 1; off < ranges.size; off++) {
    if (!ranges.owns(self.id, off) || leases.held(off, now)) continue;
    const e = leases.state(off) == LEASE_FREE ? -Infinity : leases.expiry(off);
    if (e < bestExpiry) { bestExpiry = e; best = <i32>off; }
    if (e == -Infinity) break;
  }
  if (best < 0) {
    count(Stat.DhcpPoolExhausted);
    if (!exhaustedLogged) {
      outputLog(`dhcp: every address of this node's share of the pool (${ranges.ownedBy(self.id)}) is held: ` +
        "DISCOVERs go unanswered (dhcp_pool_exhausted) until one is free or another node gives a share");
    }
    exhaustedLogged = true;
    return -1;
  }
  exhaustedLogged = false;
  return takeGrant(now) ? best : -1;
}

/** The lease time we may give at `off` now, s: the lease time, within the minority cap. */
function grantSeconds(off: u32, now: f64): u32 {
  const until = Math.min(now + leaseMs(), leaseCap(absences, reclaimAfterMs()));
  return <u32>Math.max(0, Math.floor((until - now) / 1000));
}

/** The address offered to `req`'s client (held for its REQUEST), or -1 (none free, rate-limited, capped). */
function offer(cid: u32, now: f64): i32 {
  const off = pick(cid, now);
  if (off < 0) return -1;
  // A minority side past its lease cap offers nothing (docs/dhcp.md, "Partitions").
  if (grantSeconds(<u32>off, now) == 0) { count(Stat.DhcpNoQuorum); return -1; }
  if (leases.state(<u32>off) != LEASE_BOUND || leases.expiry(<u32>off) <= now) {
    leases.set(<u32>off, LEASE_OFFERED, req.chaddr, cid, now + OFFER_HOLD_MS, self.id, hostname());
  }
  return off;
}

function request(cid: u32, vlan: u32, now: f64): void {
  // SELECTING names a server; every node is the same server (one identifier), so others' are not ours.
  if (req.hasServerId && req.serverId != serverIp()) return;
  const ip = req.requestedIp != 0 ? req.requestedIp : req.ciaddr;
  const secs = bind(cid, ip, vlan, now);
  if (secs < 0) return;
  if (secs == 0) { nak(vlan); return; }
  answer(DHCPACK, ip, <u32>secs, vlan);
  count(Stat.DhcpAcks);
}

/**
 * Binds (or extends) `ip` to `req`'s client: returns the lease time given, s; 0 when the answer is a
 * NAK; -1 for no answer (the new-address rate limit is spent: the client retries).
 */
function bind(cid: u32, ip: u32, vlan: u32, now: f64): i64 {
  const off = offsetOf(ip);
  if (off < 0) return 0;
  const o = <u32>off;
  const mine = leases.mac(o) == req.chaddr && (cid == 0 || leases.cid(o) == 0 || leases.cid(o) == cid);
  const state = leases.state(o);
  if (leases.held(o, now) && !mine) return 0;
  if (state == LEASE_DECLINED && leases.expiry(o) > now) return 0;
  if (ranges.owns(self.id, o) || (mine && state == LEASE_BOUND && ownerLive(ranges.owner(ranges.blockOf(o))))) {
    if (!mine || state != LEASE_BOUND || leases.expiry(o) <= now) {
      if (!(mine && state == LEASE_OFFERED) && !takeGrant(now)) return -1;
    }
    const secs = grantSeconds(o, now);
    if (secs > 0) leaseGranted(o, cid, now + <f64>secs * 1000, vlan);
    return secs;
  }
  if (mine && state == LEASE_BOUND && leases.expiry(o) > now) {
    return <i64>Math.floor((leases.expiry(o) - now) / 1000); // the owner is out of reach: no extension
  }
  return 0;
}

/**
 * IN_DHCP_SELF (`--address dhcp`, docs/dhcp.md "The node's own address"): a lease for the node's own
 * TAP, MAC `mac`, as a DISCOVER and REQUEST would get it here (its lease again while known, else a
 * free address of ours), reported in OUT_DHCP_ADDRESS; address 0 when none can be given now.
 */
export function dhcpSelfLease(mac: u64, name: usize, nameLen: u32, now: f64): void {
  let ip: u32 = 0;
  let secs: i64 = 0;
  if (poolReady() && !restored.held()) {
    req.chaddr = mac;
    req.requestedIp = 0;
    req.ciaddr = 0;
    req.clientIdLen = 0;
    req.hostname = name;
    req.hostnameLen = nameLen;
    const off = offer(0, now);
    if (off >= 0) {
      secs = bind(0, ranges.start + <u32>off, 0, now);
      if (secs > 0) ip = ranges.start + <u32>off;
    }
  }
  const p = outputReserve(OUT_DHCP_ADDRESS, SELF_ADDRESS_LEN);
  if (p == 0) return;
  store<u32>(p, ip);
  store<u32>(p + 4, ip == 0 ? 0 : config.dhcpPrefixLen);
  store<u32>(p + 8, ip == 0 ? 0 : <u32>secs);
}

/** The granted address in network order, for bindingLearn. */
const leaseIp: usize = heap.alloc(4);

/** Binds `off` to the requesting client until `expiry` and tells the switch; the one place a lease is granted. */
function leaseGranted(off: u32, cid: u32, expiry: f64, vlan: u32): void {
  leases.set(off, LEASE_BOUND, req.chaddr, cid, expiry, self.id, hostname());
  leaseChanged(off);
  // The lease is an IP-to-MAC binding as good as the client's own ARP (docs/arp.md): the ARP/ND proxy answers for it.
  putU32(leaseIp, ranges.start + off);
  bindingLearn(req.chaddr, <u16>vlan, leaseIp, 4, self.now);
}

function nak(vlan: u32): void {
  count(Stat.DhcpNaks);
  answer(DHCPNAK, 0, 0, vlan);
}

/** Writes the reply into the TAP, addressed as RFC 2131 4.1 says (no relays here). */
function answer(type: u8, yiaddr: u32, leaseS: u32, vlan: u32): void {
  const r = reply;
  r.type = type;
  r.xid = req.xid;
  r.flags = req.flags;
  r.ciaddr = type == DHCPNAK ? 0 : req.ciaddr;
  r.yiaddr = yiaddr;
  r.chaddr = req.chaddr;
  r.serverId = serverIp();
  const full = type != DHCPNAK;
  r.leaseS = leaseS;
  r.mask = full ? <u32>(0xffff_ffff_ffff_ffff << (32 - config.dhcpPrefixLen)) : 0;
  r.router = full ? config.dhcpRouter : 0;
  r.dns1 = full ? config.dhcpDns1 : 0;
  r.dns2 = full ? config.dhcpDns2 : 0;
  r.mtu = full ? <u16>config.dhcpMtu : 0;
  r.clientId = req.clientId;
  r.clientIdLen = req.clientIdLen;
  let dstIp: u32 = 0xffff_ffff;
  let dstMac: u64 = MAC_BROADCAST;
  if (type != DHCPNAK && req.ciaddr != 0) { dstIp = req.ciaddr; dstMac = req.chaddr; }
  else if (type != DHCPNAK && (req.flags & DHCP_FLAG_BROADCAST) == 0 && yiaddr != 0) { dstIp = yiaddr; dstMac = req.chaddr; }
  const out = scratch;
  const eth = ethEmit(out, SCRATCH_LEN, dstMac, serverMac(), vlan, ETHERTYPE_IPV4);
  const ip = out + eth;
  const udp = ip + IPV4_HEADER_LEN;
  const n = dhcpEmit(udp + UDP_HEADER_LEN, DHCP_REPLY_MAX, r);
  udpEmit(udp, UDP_HEADER_LEN + n, DHCP_SERVER_PORT, DHCP_CLIENT_PORT, n);
  ipv4Emit(ip, IPV4_HEADER_LEN, serverIp(), dstIp, IP_PROTO_UDP, 64, 0, UDP_HEADER_LEN + n);
  udpFillChecksumIpv4(udp, serverIp(), dstIp);
  tapWrite(out, eth + IPV4_HEADER_LEN + UDP_HEADER_LEN + n);
}
