import { ADDR_LEN, OUT_DATAGRAM, OUT_FRAME, OUT_LOG, REC_HEADER, REC_KIND, REC_LEN, alignUp } from "../../assembly/abi";
import { MOVE_LIMIT, bindingGossipMessage, bindingLearn, bindingRemote } from "../../assembly/bindings";
import { config } from "../../assembly/config";
import { forwardFromTap } from "../../assembly/forward";
import { applyRemote, dropOwner, macReset } from "../../assembly/mactable";
import { self } from "../../assembly/node";
import { peerCount, peerId, peerRemove, peerUpsert } from "../../assembly/peers";
import { outputBase, outputLength, outputReset } from "../../assembly/queue";
import { Stat, statValue } from "../../assembly/stats";
import {
  ARP_LEN, ARP_OP_REPLY, ARP_OP_REQUEST, arpCheck, arpEmit, arpOp, arpSenderIp, arpSenderMac, arpTargetIp, arpTargetMac,
} from "../../assembly/wire/arp";
import {
  BINDMSG_FLAGS, BINDMSG_MAC, BINDMSG_OWNER, BIND_F_IPV6, BIND_F_ROUTER, IpAddr, bindClaimForm,
} from "../../assembly/wire/bindmsg";
import { putMac, putU16, putU32, putU64 } from "../../assembly/wire/bytes";
import { banAdd } from "../../assembly/membership/bans";
import { INFO_NAME, NAME_MAX } from "../../assembly/membership/codec";
import { WireCheck } from "../../assembly/wire/check";
import { onesFinish } from "../../assembly/wire/checksum";
import { ETHERTYPE_ARP, ETHERTYPE_IPV6, MAC_BROADCAST, ethDst, ethEmit, ethSrc, ethVlan } from "../../assembly/wire/ethernet";
import { ipv6Emit } from "../../assembly/wire/ipv6";
import {
  ICMPV6_NA, NA_F_ROUTER, NA_F_SOLICITED, NDP_OPT_TARGET_LL, icmpv6Sum, ndpCheck, ndpFlags, ndpLinkLayer, ndpType,
} from "../../assembly/wire/ndp";
import { signedBinding } from "./member-helpers";
import { ip4 } from "./wire-helpers";

const SELF: u64 = 1;
const P2: u64 = 2;
const P3: u64 = 3;
const HOST_A: u64 = 0x0200_0000_00a1; // behind our TAP
const HOST_B: u64 = 0x0200_0000_00b2; // behind P2
const HOST_C: u64 = 0x0200_0000_00c3; // behind P3
const HOST_D: u64 = 0x0200_0000_00d4; // behind our TAP
const ASKER_IP: u32 = ip4(198, 18, 0, 1);

const addrP2 = heap.alloc(ADDR_LEN);
const addrP3 = heap.alloc(ADDR_LEN);
const buf = heap.alloc(256);
const msg = heap.alloc(256);
const v6a = heap.alloc(16);
const v6b = heap.alloc(16);
const UNSPECIFIED = heap.alloc(16);
const SOLICITED_NODE = heap.alloc(16);
const scratch = new IpAddr();

function setup(): void {
  self.id = SELF;
  self.now = 1_000_000;
  config.tapVnetHdr = false;
  config.arpProxy = true;
  config.macCapacity = 1024;
  macReset();
  while (peerCount() > 0) peerRemove(peerId(0));
  memory.fill(addrP2, 0x22, ADDR_LEN);
  memory.fill(addrP3, 0x33, ADDR_LEN);
  peerUpsert(P2, addrP2);
  peerUpsert(P3, addrP3);
  applyRemote(HOST_B, 0, P2, 1, self.now);
  applyRemote(HOST_B, 100, P2, 1, self.now);
  applyRemote(HOST_C, 0, P3, 1, self.now);
  outputReset();
}

/** Node `owner` announces `ip` (IPv4) bound to `mac`, at `version`. */
function gossipV4(mac: u64, vlan: u32, ip: u32, owner: u64, version: u32): void {
  const n = signedBinding(msg, 256, vlan, scratch.setV4(ip), mac, owner, version, false);
  bindingGossipMessage(msg, n, self.now);
}

function gossipV6(mac: u64, vlan: u32, ip: usize, owner: u64, version: u32, router: bool): void {
  const n = signedBinding(msg, 256, vlan, scratch.setV6(ip), mac, owner, version, router);
  bindingGossipMessage(msg, n, self.now);
}

/** An ARP frame in buf; returns its length. */
function arp(dst: u64, src: u64, vlan: u32, op: u16, senderIp: u32, targetIp: u32): u32 {
  const h = ethEmit(buf, 256, dst, src, vlan, ETHERTYPE_ARP);
  arpEmit(buf + h, op, src, senderIp, 0, targetIp);
  return h + ARP_LEN;
}

/** A Neighbor Solicitation in buf from `srcIp` (16 bytes; :: for a probe) for `target`; returns its length. */
function ns(src: u64, vlan: u32, srcIp: usize, target: usize, withSlla: bool): u32 {
  const h = ethEmit(buf, 256, 0x3333_ff00_0000 | <u64>load<u8>(target + 15), src, vlan, ETHERTYPE_IPV6);
  const icmpLen: u32 = withSlla ? 32 : 24;
  ipv6Emit(buf + h, 256 - h, srcIp, SOLICITED_NODE, 58, 255, icmpLen);
  const icmp = buf + h + 40;
  store<u8>(icmp, 135); store<u8>(icmp + 1, 0); putU16(icmp + 2, 0); putU32(icmp + 4, 0);
  memory.copy(icmp + 8, target, 16);
  if (withSlla) { store<u8>(icmp + 24, 1); store<u8>(icmp + 25, 1); putMac(icmp + 26, src); }
  putU16(icmp + 2, onesFinish(icmpv6Sum(buf + h, icmp, icmpLen)));
  return h + 40 + icmpLen;
}

class Out {
  datagrams: i32 = 0;
  frames: i32 = 0;
  logs: i32 = 0;
  frame: usize = 0;
  frameLen: u32 = 0;
}

function collect(): Out {
  const o = new Out();
  for (let off: u32 = 0; off < outputLength();) {
    const rec = outputBase + off;
    const kind = load<u16>(rec + REC_KIND);
    const len = load<u32>(rec + REC_LEN);
    if (kind == OUT_DATAGRAM) o.datagrams++;
    if (kind == OUT_LOG) o.logs++;
    if (kind == OUT_FRAME) { o.frames++; o.frame = rec + REC_HEADER; o.frameLen = len; }
    off += alignUp(REC_HEADER + len);
  }
  outputReset();
  return o;
}

function v6(p: usize, last: u8): usize {
  memory.fill(p, 0, 16);
  store<u8>(p, 0x20); store<u8>(p + 1, 0x01); store<u8>(p + 2, 0x0d); store<u8>(p + 3, 0xb8);
  store<u8>(p + 15, last);
  return p;
}

describe("ARP answered on the node", () => {
  beforeEach(() => { setup(); });

  it("answers a broadcast request for an address bound behind another node, into the TAP only", () => {
    gossipV4(HOST_B, 0, ip4(198, 18, 0, 2), P2, 1);
    const answered = statValue(Stat.ArpAnswered);
    forwardFromTap(buf, arp(MAC_BROADCAST, HOST_A, 0, ARP_OP_REQUEST, ASKER_IP, ip4(198, 18, 0, 2)), self.now);
    const o = collect();
    expect(o.datagrams).toBe(0);
    expect(o.frames).toBe(1);
    expect(o.frameLen).toBe(42);
    expect(ethDst(o.frame)).toBe(HOST_A);
    expect(ethSrc(o.frame)).toBe(HOST_B);
    const p = o.frame + 14;
    expect(arpCheck(p, ARP_LEN)).toBe(WireCheck.Ok);
    expect(arpOp(p)).toBe(ARP_OP_REPLY);
    expect(arpSenderMac(p)).toBe(HOST_B);
    expect(arpSenderIp(p)).toBe(ip4(198, 18, 0, 2));
    expect(arpTargetMac(p)).toBe(HOST_A);
    expect(arpTargetIp(p)).toBe(ASKER_IP);
    expect(statValue(Stat.ArpAnswered) - answered).toBe(1);
  });

  it("answers in the request's VLAN, and only from that VLAN's bindings", () => {
    gossipV4(HOST_B, 100, ip4(198, 18, 1, 2), P2, 1);
    forwardFromTap(buf, arp(MAC_BROADCAST, HOST_A, 100, ARP_OP_REQUEST, ip4(198, 18, 1, 1), ip4(198, 18, 1, 2)), self.now);
    let o = collect();
    expect(o.frames).toBe(1);
    expect(o.frameLen).toBe(46);
    expect(ethVlan(o.frame, o.frameLen)).toBe(100);
    expect(arpSenderMac(o.frame + 18)).toBe(HOST_B);
    // The same address asked in VLAN 0 is unknown there: flooded.
    forwardFromTap(buf, arp(MAC_BROADCAST, HOST_A, 0, ARP_OP_REQUEST, ASKER_IP, ip4(198, 18, 1, 2)), self.now);
    o = collect();
    expect(o.frames).toBe(0);
    expect(o.datagrams).toBe(2);
  });

  it("floods unknown addresses and unicast requests, and learns the sender", () => {
    const flooded = statValue(Stat.ArpFlooded);
    forwardFromTap(buf, arp(MAC_BROADCAST, HOST_A, 0, ARP_OP_REQUEST, ASKER_IP, ip4(198, 18, 0, 99)), self.now);
    let o = collect();
    expect(o.frames).toBe(0);
    expect(o.datagrams).toBe(2);
    expect(statValue(Stat.ArpFlooded) - flooded).toBe(1);
    // The asker's own binding is ours: never answered here, even though it is known.
    forwardFromTap(buf, arp(MAC_BROADCAST, HOST_D, 0, ARP_OP_REQUEST, ip4(198, 18, 0, 4), ASKER_IP), self.now);
    o = collect();
    expect(o.frames).toBe(0);
    gossipV4(HOST_B, 0, ip4(198, 18, 0, 12), P2, 1);
    forwardFromTap(buf, arp(HOST_B, HOST_A, 0, ARP_OP_REQUEST, ASKER_IP, ip4(198, 18, 0, 12)), self.now);
    o = collect();
    expect(o.frames).toBe(0); // unicast: passes through to the owner
    expect(o.datagrams).toBe(1);
  });

  it("answers a duplicate-address probe only for an address bound to another MAC", () => {
    gossipV4(HOST_B, 0, ip4(198, 18, 0, 22), P2, 1);
    forwardFromTap(buf, arp(MAC_BROADCAST, HOST_A, 0, ARP_OP_REQUEST, 0, ip4(198, 18, 0, 22)), self.now);
    const o = collect();
    expect(o.frames).toBe(1);
    expect(arpTargetIp(o.frame + 14)).toBe(0);
    // A probe teaches nothing: the prober holds no address yet.
    scratch.setV4(0);
    expect(bindingRemote(0, scratch, self.now) == null).toBe(true);
  });

  it("with the proxy off floods, yet still learns", () => {
    gossipV4(HOST_B, 0, ip4(198, 18, 0, 32), P2, 1);
    config.arpProxy = false;
    forwardFromTap(buf, arp(MAC_BROADCAST, HOST_A, 0, ARP_OP_REQUEST, ip4(198, 18, 0, 31), ip4(198, 18, 0, 32)), self.now);
    const o = collect();
    expect(o.frames).toBe(0);
    expect(o.datagrams).toBe(2);
    // HOST_A's claim is ours: announced, so another node would now answer for it.
    const announced = statValue(Stat.BindingsAnnounced);
    forwardFromTap(buf, arp(MAC_BROADCAST, HOST_A, 0, ARP_OP_REQUEST, ip4(198, 18, 0, 33), ip4(198, 18, 0, 32)), self.now);
    collect();
    expect(statValue(Stat.BindingsAnnounced) - announced).toBe(1);
  });

  it("counts truncated ARP and forwards it unanswered", () => {
    gossipV4(HOST_B, 0, ip4(198, 18, 0, 42), P2, 1);
    const malformed = statValue(Stat.ArpMalformed);
    const len = arp(MAC_BROADCAST, HOST_A, 0, ARP_OP_REQUEST, ASKER_IP, ip4(198, 18, 0, 42));
    forwardFromTap(buf, len - 1, self.now);
    const o = collect();
    expect(o.frames).toBe(0);
    expect(o.datagrams).toBe(2);
    expect(statValue(Stat.ArpMalformed) - malformed).toBe(1);
  });

  it("forgets a binding with its MAC: the owner gone, the request floods", () => {
    gossipV4(HOST_C, 0, ip4(198, 18, 0, 52), P3, 1);
    expect(bindingRemote(0, scratch.setV4(ip4(198, 18, 0, 52)), self.now) != null).toBe(true);
    dropOwner(P3);
    expect(bindingRemote(0, scratch.setV4(ip4(198, 18, 0, 52)), self.now) == null).toBe(true);
    forwardFromTap(buf, arp(MAC_BROADCAST, HOST_A, 0, ARP_OP_REQUEST, ASKER_IP, ip4(198, 18, 0, 52)), self.now);
    expect(collect().frames).toBe(0);
  });
});

describe("Neighbor Discovery answered on the node", () => {
  beforeEach(() => { setup(); memory.fill(UNSPECIFIED, 0, 16); v6(SOLICITED_NODE, 1); store<u8>(SOLICITED_NODE, 0xff); });

  it("answers an NS with a solicited NA: target option, router flag as the owner saw it", () => {
    gossipV6(HOST_B, 0, v6(v6b, 2), P2, 1, true);
    forwardFromTap(buf, ns(HOST_A, 0, v6(v6a, 1), v6b, true), self.now);
    const o = collect();
    expect(o.datagrams).toBe(0);
    expect(o.frames).toBe(1);
    expect(ethDst(o.frame)).toBe(HOST_A);
    expect(ethSrc(o.frame)).toBe(HOST_B);
    const ip6 = o.frame + 14;
    expect(ndpCheck(ip6, o.frameLen - 14)).toBe(WireCheck.Ok);
    expect(ndpType(ip6)).toBe(ICMPV6_NA);
    expect(ndpFlags(ip6) & (NA_F_SOLICITED | NA_F_ROUTER)).toBe(NA_F_SOLICITED | NA_F_ROUTER);
    expect(ndpLinkLayer(ip6, NDP_OPT_TARGET_LL)).toBe(HOST_B);
    expect(memory.compare(ip6 + 24, v6a, 16)).toBe(0);
  });

  it("answers a probe from :: to all nodes, unsolicited; floods unknown targets", () => {
    gossipV6(HOST_B, 0, v6(v6b, 3), P2, 1, false);
    forwardFromTap(buf, ns(HOST_A, 0, UNSPECIFIED, v6b, false), self.now);
    let o = collect();
    expect(o.frames).toBe(1);
    expect(ethDst(o.frame)).toBe(0x3333_0000_0001);
    expect(ndpFlags(o.frame + 14) & NA_F_SOLICITED).toBe(0);
    forwardFromTap(buf, ns(HOST_A, 0, v6(v6a, 1), v6(v6b, 77), true), self.now);
    o = collect();
    expect(o.frames).toBe(0);
    expect(o.datagrams).toBe(2);
  });

  it("counts a corrupted NS and never answers it", () => {
    gossipV6(HOST_B, 0, v6(v6b, 4), P2, 1, false);
    const len = ns(HOST_A, 0, v6(v6a, 1), v6b, true);
    store<u8>(buf + len - 1, load<u8>(buf + len - 1) ^ 0xff); // the checksum no longer holds
    const malformed = statValue(Stat.NdMalformed);
    forwardFromTap(buf, len, self.now);
    const o = collect();
    expect(o.frames).toBe(0);
    expect(statValue(Stat.NdMalformed) - malformed).toBe(1);
  });
});

describe("bindings: moves, conflicts, versions", () => {
  beforeEach(() => { setup(); });

  it("a gratuitous ARP from a new MAC here moves the binding at a higher version", () => {
    gossipV4(HOST_B, 0, ip4(198, 18, 0, 62), P2, 3);
    const moved = statValue(Stat.BindingsMoved);
    self.now += 60_000;
    forwardFromTap(buf, arp(MAC_BROADCAST, HOST_D, 0, ARP_OP_REQUEST, ip4(198, 18, 0, 62), ip4(198, 18, 0, 62)), self.now);
    collect();
    expect(statValue(Stat.BindingsMoved) - moved).toBe(1);
    // Ours now: not answered from here, and P2's old claim is stale.
    expect(bindingRemote(0, scratch.setV4(ip4(198, 18, 0, 62)), self.now) == null).toBe(true);
    const stale = statValue(Stat.BindingUpdatesStale);
    gossipV4(HOST_B, 0, ip4(198, 18, 0, 62), P2, 3);
    expect(statValue(Stat.BindingUpdatesStale) - stale).toBe(1);
    // P2's newer claim (version 5) takes it back: a second change within seconds is a conflict, logged once.
    const conflicts = statValue(Stat.BindingConflicts);
    gossipV4(HOST_B, 0, ip4(198, 18, 0, 62), P2, 5);
    expect(statValue(Stat.BindingConflicts) - conflicts).toBe(1);
    expect(collect().logs).toBe(1);
    expect(bindingRemote(0, scratch.setV4(ip4(198, 18, 0, 62)), self.now)!.mac).toBe(HOST_B);
  });

  it(`freezes a binding after ${MOVE_LIMIT} moves within the window and alarms once`, () => {
    const ip = ip4(198, 18, 0, 72);
    const alarms = statValue(Stat.BindingMoveAlarms);
    const frozen = statValue(Stat.BindingMovesFrozen);
    forwardFromTap(buf, arp(MAC_BROADCAST, HOST_A, 0, ARP_OP_REQUEST, ip, ip), self.now);
    for (let i = 0; i < MOVE_LIMIT; i++) {
      self.now += 10_000;
      forwardFromTap(buf, arp(MAC_BROADCAST, i % 2 == 0 ? HOST_D : HOST_A, 0, ARP_OP_REQUEST, ip, ip), self.now);
    }
    expect(statValue(Stat.BindingMoveAlarms) - alarms).toBe(1);
    self.now += 10_000;
    forwardFromTap(buf, arp(MAC_BROADCAST, HOST_A, 0, ARP_OP_REQUEST, ip, ip), self.now);
    expect(statValue(Stat.BindingMovesFrozen) - frozen).toBe(1);
    collect();
  });

  it("our own claim coming back through gossip is no news; a newer one of ours (before a restart) is beaten", () => {
    const ip = ip4(198, 18, 0, 92);
    forwardFromTap(buf, arp(MAC_BROADCAST, HOST_A, 0, ARP_OP_REQUEST, ip, ip), self.now);
    collect();
    const announced = statValue(Stat.BindingsAnnounced);
    gossipV4(HOST_A, 0, ip, SELF, 1); // our version 1, relayed back
    expect(statValue(Stat.BindingsAnnounced) - announced).toBe(0);
    gossipV4(HOST_A, 0, ip, SELF, 7); // what we said before a restart
    expect(statValue(Stat.BindingsAnnounced) - announced).toBe(1);
    gossipV4(HOST_A, 0, ip, SELF, 8); // our new claim (version 8) coming back
    expect(statValue(Stat.BindingsAnnounced) - announced).toBe(1);
  });

  it("learns no more addresses than mac_capacity; the rest flood", () => {
    config.macCapacity = 16;
    const full = statValue(Stat.BindingTableFull);
    for (let i: u32 = 0; i < 20; i++) {
      forwardFromTap(buf, arp(MAC_BROADCAST, HOST_A, 0, ARP_OP_REPLY, ip4(198, 18, 2, i + 1), ASKER_IP), self.now);
    }
    gossipV4(HOST_B, 0, ip4(198, 18, 2, 100), P2, 1);
    expect(statValue(Stat.BindingTableFull) - full).toBeGreaterThanOrEqual(5);
    expect(bindingRemote(0, scratch.setV4(ip4(198, 18, 2, 100)), self.now) == null).toBe(true);
    collect();
  });

  it("takes a DHCP lease for a MAC behind our TAP as a claim", () => {
    forwardFromTap(buf, arp(HOST_B, HOST_D, 0, ARP_OP_REPLY, ip4(198, 18, 0, 81), 0), self.now);
    collect();
    const announced = statValue(Stat.BindingsAnnounced);
    const lease = heap.alloc(4);
    putU32(lease, ip4(198, 18, 0, 82));
    bindingLearn(HOST_D, 0, lease, 4, self.now);
    bindingLearn(HOST_B, 0, lease, 4, self.now); // not ours: its owner learns it
    expect(statValue(Stat.BindingsAnnounced) - announced).toBe(1);
  });
});

describe("signed bindings", () => {
  beforeEach(setup);

  it("refuses a binding changed after signing or signed as another owner, and counts it", () => {
    const bad = statValue(Stat.BindingBadSignature);
    const ip = ip4(198, 18, 3, 1);
    let n = signedBinding(msg, 256, 0, scratch.setV4(ip), HOST_B, P2, 1, false);
    putMac(msg + BINDMSG_MAC, HOST_C); // P2's claim pointed at P3's host
    bindingGossipMessage(msg, n, self.now);
    n = signedBinding(msg, 256, 0, scratch.setV4(ip), HOST_C, P3, 1, false);
    putU64(msg + BINDMSG_OWNER, P2); // P3's claim relabelled as P2's
    bindingGossipMessage(msg, n, self.now);
    n = signedBinding(msg, 256, 0, scratch.setV6(v6(v6b, 9)), HOST_B, P2, 1, false);
    store<u8>(msg + BINDMSG_FLAGS, BIND_F_IPV6 | BIND_F_ROUTER); // made a router on the way
    bindingGossipMessage(msg, n, self.now);
    expect(statValue(Stat.BindingBadSignature) - bad).toBe(3);
    expect(bindingRemote(0, scratch.setV4(ip), self.now) == null).toBe(true);
    expect(bindingRemote(0, scratch.setV6(v6b), self.now) == null).toBe(true);
  });

  it("a replayed older claim changes nothing; the owner's newer one moves the address", () => {
    const ip = ip4(198, 18, 3, 2);
    const n = signedBinding(buf, 256, 0, scratch.setV4(ip), HOST_B, P2, 1, false); // kept for the replay
    bindingGossipMessage(buf, n, self.now);
    gossipV4(HOST_C, 0, ip, P3, 2); // the address moved to P3's host
    const stale = statValue(Stat.BindingUpdatesStale);
    bindingGossipMessage(buf, n, self.now);
    expect(statValue(Stat.BindingUpdatesStale) - stale).toBe(1);
    expect(bindingRemote(0, scratch.setV4(ip), self.now)!.mac).toBe(HOST_C);
  });

  it("drops a claim of a removed member before any signature check", () => {
    const gone = statValue(Stat.BindingOwnerGone);
    const removed: u64 = 9; // a ban lasts the module: an owner no other spec uses
    banAdd(removed);
    gossipV4(HOST_B, 0, ip4(198, 18, 3, 3), removed, 1);
    expect(statValue(Stat.BindingOwnerGone) - gone).toBe(1);
    expect(bindingRemote(0, scratch.setV4(ip4(198, 18, 3, 3)), self.now) == null).toBe(true);
  });

  it("an IPv6 binding's signed form is longer than any member info: its signature is never an ALIVE's", () => {
    expect(bindClaimForm(0, scratch.setV6(v6b), HOST_B, P2, 1, false)).toBeGreaterThan(INFO_NAME + NAME_MAX);
    expect(bindClaimForm(0, scratch.setV4(1), HOST_B, P2, 1, false)).toBeLessThan(INFO_NAME);
  });
});
