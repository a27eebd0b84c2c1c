// The MAC table over gossip (assembly/macgossip.ts): announcements and refreshes
// into the broadcast queue, relaying, dropping a gone owner, the push-pull
// section, and the owner id following IN_IDENTITY.
import { ADDR_LEN, ADDR_SLOT, IN_FRAME, IN_IDENTITY, OUT_DATAGRAM, OUT_FRAME, REC_HEADER, REC_KIND, REC_LEN, alignUp } from "../../assembly/abi";
import { bindingClaim } from "../../assembly/bindings";
import { serverMac } from "../../assembly/dhcp/pool";
import { forwardFromTap } from "../../assembly/forward";
import { ARP_OP_REQUEST, arpEmitReplyFrame, arpOp, arpSenderIp, arpTargetIp } from "../../assembly/wire/arp";
import { IpAddr } from "../../assembly/wire/bindmsg";
import { ETHERTYPE_IPV6, ETH_HEADER_LEN, ethDst, ethEmit, ethSrc } from "../../assembly/wire/ethernet";
import { WireCheck } from "../../assembly/wire/check";
import { IPV6_HEADER_LEN } from "../../assembly/wire/ipv6";
import {
  ICMPV6_NS, NA_F_OVERRIDE, NS_PROBE_LEN, ndpCheck, ndpEmitAdvert, ndpTarget, ndpType,
} from "../../assembly/wire/ndp";
import { CLAIM_KEY_LEN } from "../../assembly/claims";
import { config } from "../../assembly/config";
import { input_ptr, output_ptr, process } from "../../assembly/index";
import { macGossipMessage, macGossipTick, macRefreshIntervalMs } from "../../assembly/macgossip";
import {
  MAC_CONTEST_MS, MAC_LOCAL, MAC_REMOTE, applyRemote, learnLocal, lookup, macFind, macReset, slotKind, slotOwner, slotSeen, slotSetSignature,
  slotVersion,
} from "../../assembly/mactable";
import { self } from "../../assembly/node";
import { outputLength, outputReset } from "../../assembly/queue";
import { Stat, statValue } from "../../assembly/stats";
import { putMac, putU16, putU64 } from "../../assembly/wire/bytes";
import { CompoundReader, CompoundWriter, DG_MESSAGE, MSG_COMPOUND, WIRE_VERSION } from "../../assembly/wire/divs";
import {
  MACMSG_COPY_LEN, MACMSG_LEN, MAC_FROM_OWNER, MSG_MAC_UPDATE, macCopyEncode, macMsgDecode, macMsgEncode, macUpdate,
} from "../../assembly/wire/macmsg";
import { broadcastFill, broadcastPending } from "../../assembly/membership/broadcast";
import {
  MSG_ALIVE, MSG_DEAD, MSG_PUSH_PULL, PUSH_PULL_FLAGS, PUSH_PULL_PART, PUSH_PULL_RESPONSE, PUSH_PULL_SECTIONS, PUSH_PULL_SENDER,
  SECTION_HEADER, SECTION_LEN, SECTION_MACS, SECTION_TYPE,
} from "../../assembly/membership/codec";
import { membershipBan, membershipMessage } from "../../assembly/membership/membership";
import { pushPullSend } from "../../assembly/membership/pushpull";
import { deadNode } from "../../assembly/membership/updates";
import { accusationTrailer, macClaimTrailer, signedInfo, signedMacUpdate } from "./member-helpers";

const MAC: u64 = 0x0a1b_2c3d_4e00;
const PEER: u64 = 500;
const buf = heap.alloc(4096);
const addr = heap.alloc(ADDR_LEN);
const elsewhere = heap.alloc(ADDR_LEN);
memory.fill(elsewhere, 0x0b, ADDR_LEN);
memory.fill(addr, 9, ADDR_LEN);
const w = new CompoundWriter();
const hostIp4 = new IpAddr();
const hostV6 = heap.alloc(16);
const allNodes = memory.data<u8>([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const reader = new CompoundReader();

// What the broadcast queue sends next: MAC_UPDATEs as (mac, owner, version, flags).
const qMac = new Array<u64>();
const qOwner = new Array<u64>();
const qVersion = new Array<u32>();
const qFlags = new Array<u8>();

function take(p: usize, len: u32): void {
  if (load<u8>(p) != MSG_MAC_UPDATE) return;
  expect(macMsgDecode(p, len)).toBe(true);
  qMac.push(macUpdate.mac);
  qOwner.push(macUpdate.owner);
  qVersion.push(macUpdate.version);
  qFlags.push(macUpdate.flags);
}

/** Sends every queued broadcast until the queue is empty, collecting the MAC_UPDATEs (each once). */
function drainQueue(): void {
  qMac.length = 0; qOwner.length = 0; qVersion.length = 0; qFlags.length = 0;
  const seen = new Set<u64>();
  for (let round = 0; round < 10_000 && broadcastPending() > 0; round++) {
    w.begin(buf, 1400);
    if (broadcastFill(w) == 0) break;
    const len = w.finish();
    const msg = buf + DG_MESSAGE;
    const before = qMac.length;
    if (load<u8>(msg) == MSG_COMPOUND) {
      reader.reset(msg, len - DG_MESSAGE);
      while (reader.next()) take(reader.ptr, reader.len);
    } else {
      take(msg, len - DG_MESSAGE);
    }
    // Keep the first sighting of each MAC only (every broadcast is sent several times).
    let keep = before;
    for (let i = before; i < qMac.length; i++) {
      const m = qMac[i];
      if (seen.has(m)) continue;
      seen.add(m);
      qMac[keep] = m; qOwner[keep] = qOwner[i]; qVersion[keep] = qVersion[i]; qFlags[keep] = qFlags[i];
      keep++;
    }
    qMac.length = keep; qOwner.length = keep; qVersion.length = keep; qFlags.length = keep;
  }
}

function record(kind: u16, len: u32): usize {
  const rec = input_ptr();
  store<u16>(rec + REC_KIND, kind);
  store<u32>(rec + REC_LEN, len);
  return rec + REC_HEADER;
}

function frameFromTap(src: u64, now: f64): void {
  const body = record(IN_FRAME, 60);
  memory.fill(body, 0, 60);
  putMac(body, 0xffff_ffff_ffff);
  putMac(body + 6, src);
  putU16(body + 12, 0x0800);
  process(REC_HEADER + 60, now);
}

function identity(id: u64, now: f64): void {
  const body = record(IN_IDENTITY, 8 + ADDR_SLOT + 2);
  store<u64>(body, id);
  memory.fill(body + 8, 1, ADDR_SLOT);
  store<u16>(body + 8 + ADDR_SLOT, 0x6d6d); // "mm"
  process(alignUp(REC_HEADER + 8 + ADDR_SLOT + 2), now);
}

function alive(id: u64, inc: u32): void {
  store<u8>(buf, MSG_ALIVE);
  const name = buf + 1024;
  store<u8>(name, 0x70);
  membershipMessage(addr, buf, 1 + signedInfo(buf + 1, 512, inc, id, addr, 1, 0, name, 1));
}

function ownerMsg(mac: u64, owner: u64, version: u32, now: f64): void {
  signedMacUpdate(buf, 128, mac, 0, owner, version, MAC_FROM_OWNER);
  macGossipMessage(addr, buf, MACMSG_LEN, now);
}

/** PEER and PEER + 1 are members (their keys known from their signed ALIVEs). */
function peersAlive(): void {
  alive(PEER, 1);
  alive(PEER + 1, 1);
}

describe("MACs learnt before IN_IDENTITY", () => {
  it("are not announced with owner 0, and are re-owned at version + 1 when the id is given or changes", () => {
    frameFromTap(MAC, 10);
    expect(lookup(MAC, 0)).toBe(0); // no id yet
    expect(broadcastPending()).toBe(0);
    identity(77, 20);
    expect(lookup(MAC, 0)).toBe(77);
    expect(slotVersion(macFind(MAC, 0))).toBe(2);
    drainQueue();
    expect(qMac.indexOf(MAC)).toBeGreaterThanOrEqual(0);
    const k = qMac.indexOf(MAC);
    expect(qOwner[k]).toBe(77);
    expect(qVersion[k]).toBe(2);
    expect(qFlags[k]).toBe(MAC_FROM_OWNER);
    // Another id later: the entry follows it with a version that beats the old claim.
    identity(78, 30);
    expect(lookup(MAC, 0)).toBe(78);
    expect(slotVersion(macFind(MAC, 0))).toBe(3);
    expect(slotKind(macFind(MAC, 0))).toBe(MAC_LOCAL);
    drainQueue();
    expect(qOwner[qMac.indexOf(MAC)]).toBe(78);
  });
});

describe("announcing and refreshing", () => {
  beforeEach(() => {
    config.macCapacity = 4096;
    config.macAgeingMs = 300_000;
    macReset();
    drainQueue();
  });

  it("queues a new MAC, then its move, replacing the older claim for the same key", () => {
    learnLocal(MAC + 1, 0, 1000);
    applyRemote(MAC + 1, 0, PEER, 5, 1000); // moved away to PEER at version 5 before we gossiped
    learnLocal(MAC + 1, 0, 1001); // and back: version 6
    macGossipTick(1001);
    drainQueue();
    expect(qMac.length).toBe(1);
    expect(qOwner[0]).toBe(self.id);
    expect(qVersion[0]).toBe(6);
  });

  it("re-announces every live local entry once per refresh interval, spread over it", () => {
    for (let i: u64 = 1; i <= 200; i++) learnLocal(MAC + i, 0, 0);
    for (let i: u64 = 1; i <= 100; i++) applyRemote(MAC + 1000 + i, 0, PEER, 1, 0);
    macGossipTick(0);
    drainQueue();
    const interval = macRefreshIntervalMs();
    expect(interval).toBe(100_000);
    const before = statValue(Stat.MacRefreshesQueued);
    // Half an interval in 1 s steps: about half the entries, never a burst.
    let maxStep: f64 = 0;
    for (let t: f64 = 1000; t <= interval / 2; t += 1000) {
      const b = statValue(Stat.MacRefreshesQueued);
      for (let i: u64 = 1; i <= 200; i++) learnLocal(MAC + i, 0, t); // still seen on TAP
      macGossipTick(t);
      maxStep = Math.max(maxStep, statValue(Stat.MacRefreshesQueued) - b);
    }
    const half = statValue(Stat.MacRefreshesQueued) - before;
    expect(half).toBeGreaterThan(60);
    expect(half).toBeLessThan(140);
    expect(maxStep).toBeLessThan(30);
    for (let t: f64 = interval / 2 + 1000; t <= interval + 2000; t += 1000) macGossipTick(t);
    drainQueue();
    // Every local entry, and no remote one, went out with FROM_OWNER in one interval (and a slice).
    expect(qMac.length).toBe(200);
    for (let i = 0; i < qMac.length; i++) {
      expect(qOwner[i]).toBe(self.id);
      expect(qFlags[i]).toBe(MAC_FROM_OWNER);
    }
  });

  it("does not refresh a local entry no longer seen on TAP", () => {
    learnLocal(MAC + 7, 0, 0);
    macGossipTick(0);
    drainQueue();
    config.macAgeingMs = 1000; // it is older than the ageing time from now on
    for (let t: f64 = 2000; t <= 400_000; t += 1000) macGossipTick(t);
    drainQueue();
    expect(qMac.length).toBe(0);
  });
});

describe("receiving MAC_UPDATE", () => {
  beforeEach(() => {
    config.macCapacity = 4096;
    config.macAgeingMs = 300_000;
    macReset();
    peersAlive();
    drainQueue();
  });

  it("takes a claim only with its owner's key and signature", () => {
    const bad = statValue(Stat.MacUpdateBadSignature);
    // Unsigned, another claim's signature (its version raised), another member's signature, or a
    // corrupted one: refused.
    macMsgEncode(buf, 128, MAC + 30, 0, PEER, 1, MAC_FROM_OWNER);
    macGossipMessage(addr, buf, MACMSG_LEN, 1000);
    macMsgEncode(buf, 128, MAC + 30, 0, PEER, 9, MAC_FROM_OWNER, macClaimTrailer(MAC + 30, 0, PEER, 8));
    macGossipMessage(addr, buf, MACMSG_LEN, 1000);
    macMsgEncode(buf, 128, MAC + 30, 0, PEER, 9, MAC_FROM_OWNER, macClaimTrailer(MAC + 30, 0, PEER + 1, 9));
    macGossipMessage(addr, buf, MACMSG_LEN, 1000);
    signedMacUpdate(buf, 128, MAC + 30, 0, PEER, 2, MAC_FROM_OWNER);
    store<u8>(buf + MACMSG_LEN - 1, load<u8>(buf + MACMSG_LEN - 1) ^ 1);
    macGossipMessage(addr, buf, MACMSG_LEN, 1000);
    expect(statValue(Stat.MacUpdateBadSignature) - bad).toBe(4);
    expect(macFind(MAC + 30, 0)).toBe(-1);
    expect(broadcastPending()).toBe(0);
    // Signed by its owner: taken, and passed on with the same signature.
    ownerMsg(MAC + 30, PEER, 2, 1000);
    expect(lookup(MAC + 30, 0)).toBe(PEER);
    drainQueue();
    expect(qMac.length).toBe(1);
    expect(qVersion[0]).toBe(2);
  });

  it("contests a claim on a MAC our TAP saw within MAC_CONTEST_MS, and follows one after", () => {
    const contested = statValue(Stat.MacClaimContested);
    learnLocal(MAC + 40, 0, 1000);
    ownerMsg(MAC + 40, PEER, 5, 1000 + MAC_CONTEST_MS - 1); // signed by PEER, but the host is here
    expect(lookup(MAC + 40, 0)).toBe(self.id);
    expect(slotVersion(macFind(MAC + 40, 0))).toBe(6);
    expect(statValue(Stat.MacClaimContested) - contested).toBe(1);
    macGossipTick(1000 + MAC_CONTEST_MS - 1);
    drainQueue();
    expect(qMac.indexOf(MAC + 40)).toBeGreaterThanOrEqual(0);
    expect(qVersion[qMac.indexOf(MAC + 40)]).toBe(6);
    ownerMsg(MAC + 40, PEER, 7, 1000 + MAC_CONTEST_MS); // the host went quiet here: it moved
    expect(lookup(MAC + 40, 0)).toBe(PEER);
    expect(statValue(Stat.MacClaimContested) - contested).toBe(1);
  });

  it("answers the sender of a claim that loses here with ours, directly", () => {
    const answered = statValue(Stat.MacStaleAnswered);
    ownerMsg(MAC + 41, PEER + 1, 4, 1000);
    drainQueue();
    outputReset();
    ownerMsg(MAC + 41, PEER, 3, 1000); // an older version
    ownerMsg(MAC + 41, PEER, 4, 1000); // the same version from a lower owner
    expect(lookup(MAC + 41, 0)).toBe(PEER + 1);
    expect(broadcastPending()).toBe(0);
    expect(sentDirect()).toBe(2);
    expect(macUpdate.owner).toBe(PEER + 1);
    expect(macUpdate.version).toBe(4);
    expect(statValue(Stat.MacStaleAnswered) - answered).toBe(2);
    outputReset();
    ownerMsg(MAC + 41, PEER + 1, 4, 1000); // the claim we hold: nothing to answer
    expect(sentDirect()).toBe(0);
  });

  it("contests a claim at our own version whenever it comes: a tie is no move", () => {
    const contested = statValue(Stat.MacClaimContested);
    learnLocal(MAC + 42, 0, 1000);
    ownerMsg(MAC + 42, PEER, 1, 1000 + 10 * MAC_CONTEST_MS); // long after our host's last frame
    expect(lookup(MAC + 42, 0)).toBe(self.id);
    expect(slotVersion(macFind(MAC + 42, 0))).toBe(2);
    expect(statValue(Stat.MacClaimContested) - contested).toBe(1);
    ownerMsg(MAC + 42, PEER, 3, 1000 + 10 * MAC_CONTEST_MS); // a newer one, our host quiet: it moved
    expect(lookup(MAC + 42, 0)).toBe(PEER);
  });

  it("asks a silent host whose MAC a claim took whether it is here; its answer takes the MAC back", () => {
    const probes = statValue(Stat.MacHostProbes);
    const unprobed = statValue(Stat.MacTakenUnprobed);
    const host = MAC + 45;
    const hostIp: u32 = 0xc612_0501; // 198.18.5.1, claimed by the host here
    learnLocal(host, 0, 1000);
    bindingClaim(host, 0, hostIp4.setV4(hostIp), -1, 1000);
    outputReset();
    const quiet = 1000 + 10 * MAC_CONTEST_MS;
    ownerMsg(host, PEER, 2, quiet); // a newer claim, our host quiet: a move, or a taking
    expect(lookup(host, 0)).toBe(PEER);
    const probe = tapFrame();
    expect(probe != 0).toBe(true);
    expect(ethDst(probe)).toBe(host);
    expect(ethSrc(probe)).toBe(serverMac());
    expect(arpOp(probe + ETH_HEADER_LEN)).toBe(ARP_OP_REQUEST);
    expect(arpSenderIp(probe + ETH_HEADER_LEN)).toBe(0); // a probe: no cache learns from it
    expect(arpTargetIp(probe + ETH_HEADER_LEN)).toBe(hostIp);
    expect(statValue(Stat.MacHostProbes) - probes).toBe(1);
    // The host is still here and answers: the answer takes the MAC back, and ends here.
    const local = statValue(Stat.FramesLocalDst);
    const n = arpEmitReplyFrame(buf, 256, host, hostIp, serverMac(), 0, 0);
    forwardFromTap(buf, n, quiet + 1);
    expect(lookup(host, 0)).toBe(self.id);
    expect(slotVersion(macFind(host, 0))).toBe(3);
    expect(statValue(Stat.FramesLocalDst) - local).toBe(1);
    // An IPv6-only host is asked with a duplicate-address probe, and its defending NA takes the MAC back.
    const host6 = MAC + 47;
    memory.fill(hostV6, 0, 16);
    store<u16>(hostV6, 0x80fe); // fe80::, ending in 9a:bc:de
    store<u8>(hostV6 + 13, 0x9a); store<u8>(hostV6 + 14, 0xbc); store<u8>(hostV6 + 15, 0xde);
    learnLocal(host6, 0, 1000);
    bindingClaim(host6, 0, hostIp4.setV6(hostV6), 0, 1000);
    outputReset();
    ownerMsg(host6, PEER, 2, quiet);
    const ns = tapFrame();
    expect(ns != 0).toBe(true);
    expect(ethDst(ns)).toBe(host6);
    const ip6 = ns + ETH_HEADER_LEN;
    expect(ndpCheck(ip6, IPV6_HEADER_LEN + NS_PROBE_LEN)).toBe(WireCheck.Ok); // hop limit 255, checksum right
    expect(ndpType(ip6)).toBe(ICMPV6_NS);
    expect(memory.compare(ndpTarget(ip6), hostV6, 16)).toBe(0);
    expect(load<u64>(ip6 + 8) | load<u64>(ip6 + 16)).toBe(0); // from ::
    expect(load<u8>(ip6 + 24)).toBe(0xff); // to the target's solicited-node group
    expect(load<u8>(ip6 + 36)).toBe(0xff);
    expect(load<u8>(ip6 + 39)).toBe(0xde);
    const h = ethEmit(buf, 256, 0x3333_0000_0001, host6, 0, ETHERTYPE_IPV6);
    const na = ndpEmitAdvert(buf + h, 256 - h, hostV6, allNodes, NA_F_OVERRIDE, host6);
    forwardFromTap(buf, h + na, quiet + 1);
    expect(lookup(host6, 0)).toBe(self.id);
    // A host whose address we do not know cannot be asked: counted, the claim stands.
    learnLocal(MAC + 46, 0, 1000);
    outputReset();
    ownerMsg(MAC + 46, PEER, 2, quiet);
    expect(tapFrame()).toBe(0);
    expect(statValue(Stat.MacTakenUnprobed) - unprobed).toBe(1);
  });

  it("tells the previous owner of a MAC it takes, when the claim comes from its claimant itself", () => {
    const told = statValue(Stat.MacMoveTold);
    ownerMsg(MAC + 43, PEER + 1, 1, 1000);
    drainQueue();
    outputReset();
    signedMacUpdate(buf, 128, MAC + 43, 0, PEER, 2, MAC_FROM_OWNER);
    macGossipMessage(elsewhere, buf, MACMSG_LEN, 1000); // relayed: not from PEER's address
    expect(sentDirect()).toBe(0);
    ownerMsg(MAC + 44, PEER + 1, 1, 1000);
    outputReset();
    ownerMsg(MAC + 44, PEER, 2, 1000); // from PEER's own address (both peers sit at `addr` here)
    expect(lookup(MAC + 44, 0)).toBe(PEER);
    expect(sentDirect()).toBe(1);
    expect(macUpdate.owner).toBe(PEER);
    expect(macUpdate.version).toBe(2);
    expect(statValue(Stat.MacMoveTold) - told).toBe(1);
  });

  it("passes an owner's news on once per refresh round", () => {
    const relayed = statValue(Stat.MacUpdatesRelayed);
    ownerMsg(MAC + 20, PEER, 1, 1000);
    expect(lookup(MAC + 20, 0)).toBe(PEER);
    expect(statValue(Stat.MacUpdatesRelayed) - relayed).toBe(1);
    ownerMsg(MAC + 20, PEER, 1, 1500); // another copy of the same round
    expect(statValue(Stat.MacUpdatesRelayed) - relayed).toBe(1);
    expect(slotSeen(macFind(MAC + 20, 0))).toBe(1500);
    ownerMsg(MAC + 20, PEER, 1, 1500 + macRefreshIntervalMs() / 2); // the next round
    expect(statValue(Stat.MacUpdatesRelayed) - relayed).toBe(2);
    ownerMsg(MAC + 20, PEER, 1, 2000 + macRefreshIntervalMs() / 2); // and its copies
    expect(statValue(Stat.MacUpdatesRelayed) - relayed).toBe(2);
    drainQueue();
    expect(qMac.length).toBe(1);
    expect(qOwner[0]).toBe(PEER);
    expect(qFlags[0]).toBe(MAC_FROM_OWNER);
  });

  it("does not pass on an older claim or a copy", () => {
    alive(PEER, 1); // a copy is taken only for a member we know
    ownerMsg(MAC + 21, PEER, 4, 1000);
    drainQueue();
    const relayed = statValue(Stat.MacUpdatesRelayed);
    ownerMsg(MAC + 21, PEER + 1, 3, 1000);
    signedMacUpdate(buf, 128, MAC + 22, 0, PEER, 1, 0, 10);
    macGossipMessage(addr, buf, MACMSG_COPY_LEN, 1000);
    expect(lookup(MAC + 22, 0)).toBe(PEER);
    expect(statValue(Stat.MacUpdatesRelayed)).toBe(relayed);
    expect(broadcastPending()).toBe(0);
  });
});

describe("a member gone", () => {
  it("takes its MACs with it at once, and later claims for it are ignored until it is back", () => {
    config.macCapacity = 4096;
    macReset();
    peersAlive();
    const gone: u64 = 900;
    alive(gone, 1);
    for (let i: u64 = 0; i < 30; i++) ownerMsg(MAC + 100 + i, gone, 1, 1000);
    ownerMsg(MAC + 200, PEER, 1, 1000);
    expect(lookup(MAC + 100, 0)).toBe(gone);
    deadNode(1, gone, gone, accusationTrailer(MSG_DEAD, 1, gone, gone)); // it leaves
    for (let i: u64 = 0; i < 30; i++) expect(macFind(MAC + 100 + i, 0)).toBe(-1);
    expect(lookup(MAC + 200, 0)).toBe(PEER);
    const ignored = statValue(Stat.MacUpdateOwnerGone);
    ownerMsg(MAC + 100, gone, 1, 2000); // a late copy still in flight
    expect(macFind(MAC + 100, 0)).toBe(-1);
    expect(statValue(Stat.MacUpdateOwnerGone) - ignored).toBe(1);
    alive(gone, 2); // back
    ownerMsg(MAC + 100, gone, 1, 3000);
    expect(lookup(MAC + 100, 0)).toBe(gone);
  });

  it("a banned member's MACs go at once, and no claim or ALIVE for it is taken after, not even once it is reaped", () => {
    config.macCapacity = 4096;
    macReset();
    const removed: u64 = 901;
    alive(removed, 1);
    for (let i: u64 = 0; i < 10; i++) ownerMsg(MAC + 300 + i, removed, 1, 1000);
    expect(lookup(MAC + 300, 0)).toBe(removed);
    membershipBan(removed);
    for (let i: u64 = 0; i < 10; i++) expect(macFind(MAC + 300 + i, 0)).toBe(-1);
    alive(removed, 2); // refused: it stays dead
    const ignored = statValue(Stat.MacUpdateOwnerGone);
    ownerMsg(MAC + 300, removed, 2, 2000);
    expect(macFind(MAC + 300, 0)).toBe(-1);
    expect(statValue(Stat.MacUpdateOwnerGone) - ignored).toBe(1);
    // An owner the member table no longer holds (reaped) but banned: still refused.
    const unknown: u64 = 902;
    membershipBan(unknown);
    ownerMsg(MAC + 400, unknown, 1, 3000);
    expect(macFind(MAC + 400, 0)).toBe(-1);
  });
});

/** The MAC section entries of every PUSH_PULL datagram in the output region: calls fn(p) per entry. */
function forEachSentEntry(fn: (p: usize) => void): i32 {
  let datagrams = 0;
  const base = output_ptr();
  let off: u32 = 0;
  while (off < outputLength()) {
    const rec = base + off;
    const len = load<u32>(rec + REC_LEN);
    if (load<u16>(rec + REC_KIND) == OUT_DATAGRAM) {
      const msg = rec + REC_HEADER + ADDR_SLOT + DG_MESSAGE;
      const end = rec + REC_HEADER + len;
      expect(load<u8>(msg)).toBe(MSG_PUSH_PULL);
      datagrams++;
      let p = msg + PUSH_PULL_SECTIONS;
      while (p < end) {
        const n = <u32>((load<u8>(p + SECTION_LEN) << 8) | load<u8>(p + SECTION_LEN + 1));
        if (load<u8>(p + SECTION_TYPE) == SECTION_MACS) {
          expect(n % MACMSG_COPY_LEN).toBe(0);
          for (let e: u32 = 0; e < n; e += MACMSG_COPY_LEN) fn(p + SECTION_HEADER + e);
        }
        p += SECTION_HEADER + n;
      }
    }
    off += alignUp(REC_HEADER + len);
  }
  return datagrams;
}

/** Datagrams in the output holding one MAC_UPDATE each, as `answerStale` sends them; the last is left decoded. */
/** The first frame the last call wrote to the TAP (without a virtio-net header here), or 0. */
function tapFrame(): usize {
  const base = output_ptr();
  for (let off: u32 = 0; off < outputLength(); ) {
    const rec = base + off;
    if (load<u16>(rec + REC_KIND) == OUT_FRAME) return rec + REC_HEADER;
    off += alignUp(REC_HEADER + load<u32>(rec + REC_LEN));
  }
  return 0;
}

function sentDirect(): i32 {
  let n = 0;
  const base = output_ptr();
  for (let off: u32 = 0; off < outputLength(); ) {
    const rec = base + off;
    const len = load<u32>(rec + REC_LEN);
    const msg = rec + REC_HEADER + ADDR_SLOT + DG_MESSAGE;
    if (load<u16>(rec + REC_KIND) == OUT_DATAGRAM && load<u8>(msg) == MSG_MAC_UPDATE) {
      expect(macMsgDecode(msg, len - ADDR_SLOT - DG_MESSAGE)).toBe(true);
      n++;
    }
    off += alignUp(REC_HEADER + len);
  }
  return n;
}

let sentLocal = 0;
let sentRemote = 0;
let badEntry = 0;

/** A push-pull answer from PEER in `buf` holding one MAC section; returns the section (entries from SECTION_HEADER). */
function macSectionResponse(): usize {
  store<u8>(buf, MSG_PUSH_PULL);
  store<u8>(buf + PUSH_PULL_FLAGS, PUSH_PULL_RESPONSE);
  putU64(buf + PUSH_PULL_SENDER, PEER);
  putU16(buf + PUSH_PULL_PART, 0);
  const sec = buf + PUSH_PULL_SECTIONS;
  store<u8>(sec + SECTION_TYPE, SECTION_MACS);
  return sec;
}

/** A remote entry installed with its owner's signature, as a verified claim leaves it. */
function signedRemote(mac: u64, owner: u64, version: u32, at: f64): void {
  applyRemote(mac, 0, owner, version, at);
  slotSetSignature(macFind(mac, 0), macClaimTrailer(mac, 0, owner, version) + CLAIM_KEY_LEN);
}

describe("the push-pull MAC section", () => {
  it("carries every live entry, split over datagrams: ours from the owner, others as aged copies", () => {
    config.macCapacity = 4096;
    config.macAgeingMs = 300_000;
    macReset();
    for (let i: u64 = 0; i < 300; i++) learnLocal(MAC + 0x1000 + i, 0, 50_000);
    for (let i: u64 = 0; i < 200; i++) signedRemote(MAC + 0x2000 + i, PEER, 2, 40_000);
    applyRemote(MAC + 0x2fff, 0, PEER, 2, 40_000); // never signed: not passed on
    self.now = 50_000;
    outputReset();
    pushPullSend(addr, 0);
    sentLocal = 0; sentRemote = 0; badEntry = 0;
    const datagrams = forEachSentEntry((p: usize): void => {
      if (!macMsgDecode(p, MACMSG_COPY_LEN)) { badEntry++; return; }
      if (macUpdate.owner == self.id && macUpdate.flags == MAC_FROM_OWNER && macUpdate.age == 0) sentLocal++;
      else if (macUpdate.owner == PEER && macUpdate.flags == 0 && macUpdate.age == 10_000) sentRemote++;
      else badEntry++;
    });
    expect(datagrams).toBeGreaterThan(5);
    expect(badEntry).toBe(0);
    expect(sentLocal).toBe(300);
    expect(sentRemote).toBe(200);
  });

  it("installs what a peer's section holds", () => {
    config.macCapacity = 4096;
    macReset();
    peersAlive();
    const sec = macSectionResponse();
    let n: u32 = 0;
    n += signedMacUpdate(sec + SECTION_HEADER + n, 128, MAC + 0x3000, 0, PEER, 3, MAC_FROM_OWNER, 0);
    n += signedMacUpdate(sec + SECTION_HEADER + n, 128, MAC + 0x3001, 5, PEER + 1, 1, 0, 20_000);
    putU16(sec + SECTION_LEN, <u16>n);
    self.now = 100_000;
    membershipMessage(addr, buf, PUSH_PULL_SECTIONS + SECTION_HEADER + n);
    expect(lookup(MAC + 0x3000, 0)).toBe(PEER);
    expect(slotSeen(macFind(MAC + 0x3000, 0))).toBe(100_000);
    expect(lookup(MAC + 0x3001, 5)).toBe(PEER + 1);
    expect(slotSeen(macFind(MAC + 0x3001, 5))).toBe(80_000);
    expect(slotKind(macFind(MAC + 0x3001, 5))).toBe(MAC_REMOTE);
    expect(slotOwner(macFind(MAC + 0x3001, 5))).toBe(PEER + 1);
    // A section that is not whole entries is refused and counted.
    const malformed = statValue(Stat.MacUpdateMalformed);
    putU16(sec + SECTION_LEN, <u16>(n - 1));
    membershipMessage(addr, buf, PUSH_PULL_SECTIONS + SECTION_HEADER + n - 1);
    expect(statValue(Stat.MacUpdateMalformed) - malformed).toBe(1);
  });

  it("passes on copies only for owners alive here", () => {
    // The receiver would not learn an owner we hold suspect or dead (a node's old instance), so no
    // death of it would ever reach it to drop the copy.
    config.macCapacity = 4096;
    config.macAgeingMs = 300_000;
    macReset();
    const stranger: u64 = PEER + 0x7777;
    const gone: u64 = PEER + 0x7778;
    alive(gone, 1);
    deadNode(1, gone, gone, accusationTrailer(MSG_DEAD, 1, gone, gone));
    signedRemote(MAC + 0x4000, PEER, 1, 40_000);
    signedRemote(MAC + 0x4001, stranger, 1, 40_000);
    signedRemote(MAC + 0x4002, gone, 1, 40_000);
    self.now = 50_000;
    outputReset();
    pushPullSend(addr, 0);
    sentRemote = 0; badEntry = 0;
    forEachSentEntry((p: usize): void => {
      if (!macMsgDecode(p, MACMSG_COPY_LEN)) { badEntry++; return; }
      if (macUpdate.owner == PEER && macUpdate.mac == MAC + 0x4000) sentRemote++;
      else badEntry++;
    });
    expect(sentRemote).toBe(1);
    expect(badEntry).toBe(0);
  });
});

/** Push-pull requests (part 0, not answers) in the output to `to`. */
function requestsTo(to: usize): i32 {
  let n = 0;
  const base = output_ptr();
  for (let off: u32 = 0; off < outputLength(); ) {
    const rec = base + off;
    const msg = rec + REC_HEADER + ADDR_SLOT + DG_MESSAGE;
    if (load<u16>(rec + REC_KIND) == OUT_DATAGRAM && load<u8>(msg) == MSG_PUSH_PULL &&
      (load<u8>(msg + PUSH_PULL_FLAGS) & PUSH_PULL_RESPONSE) == 0 && load<u16>(msg + PUSH_PULL_PART) == 0 &&
      memory.compare(rec + REC_HEADER, to, ADDR_LEN) == 0) n++;
    off += alignUp(REC_HEADER + load<u32>(rec + REC_LEN));
  }
  return n;
}

/** Member `id`'s signed ALIVE at `incarnation`, from `at` (its address). */
function aliveAt(id: u64, incarnation: u32, at: usize): void {
  store<u8>(buf, MSG_ALIVE);
  const name = buf + 1024;
  store<u8>(name, 0x71);
  membershipMessage(at, buf, 1 + signedInfo(buf + 1, 512, incarnation, id, at, 1, 0, name, 1));
}

/** Member `id` leaves (its own signed DEAD): its MACs are dropped here. */
function leaves(id: u64, incarnation: u32): void {
  deadNode(incarnation, id, id, accusationTrailer(MSG_DEAD, incarnation, id, id));
}

/** A push-pull answer from `sender` at `from` holding `mac`'s claim by `owner` (a copy unless from its owner). */
function answerWith(from: usize, sender: u64, mac: u64, owner: u64): void {
  const sec = macSectionResponse();
  putU64(buf + PUSH_PULL_SENDER, sender);
  const n = signedMacUpdate(sec + SECTION_HEADER, 256, mac, 0, owner, 1, owner == sender ? MAC_FROM_OWNER : 0, 0);
  putU16(sec + SECTION_LEN, <u16>n);
  membershipMessage(from, buf, PUSH_PULL_SECTIONS + SECTION_HEADER + n);
}

// Times past every other spec's, as the resync's pace is module state.
const T0: f64 = 10_000_000;
const addrX = heap.alloc(ADDR_LEN);
const addrY = heap.alloc(ADDR_LEN);
const addrZ = heap.alloc(ADDR_LEN);
memory.fill(addrX, 0x21, ADDR_LEN);
memory.fill(addrY, 0x22, ADDR_LEN);
memory.fill(addrZ, 0x23, ADDR_LEN);

/** Lets the resyncs earlier specs left run out (each member is asked three times at most): from `at` on. */
function resyncsRunOut(at: f64): void {
  for (let k = 0; k < 30; k++) macGossipTick(at + <f64>k * 1000);
  self.now = at + 30_000;
}

describe("members back from dead", () => {
  beforeEach(() => {
    config.macCapacity = 4096;
    config.macAgeingMs = 300_000;
    macReset();
  });
  it("are asked for their MACs again, a second apart, while no push-pull brought them (an answer lost)", () => {
    const x: u64 = 0x7100;
    resyncsRunOut(T0);
    aliveAt(x, 1, addrX);
    ownerMsg(MAC + 0x5000, x, 1, T0);
    leaves(x, 1);
    expect(macFind(MAC + 0x5000, 0)).toBe(-1);
    self.now = T0 + 5000;
    aliveAt(x, 2, addrX); // back
    outputReset();
    macGossipTick(self.now);
    expect(requestsTo(addrX)).toBe(1);
    // Its answer is lost: a second later it is asked again (before, it waited for its next refresh).
    self.now += 1000;
    outputReset();
    macGossipTick(self.now);
    expect(requestsTo(addrX)).toBe(1);
    answerWith(addrX, x, MAC + 0x5000, x);
    expect(lookup(MAC + 0x5000, 0)).toBe(x);
    // Its MACs came: nobody is asked any more.
    self.now += 1000;
    outputReset();
    macGossipTick(self.now);
    expect(requestsTo(addrX)).toBe(0);
  });

  it("are asked at most three times", () => {
    const x: u64 = 0x7200;
    resyncsRunOut(T0 + 100_000);
    aliveAt(x, 1, addrX);
    ownerMsg(MAC + 0x5100, x, 1, self.now);
    leaves(x, 1);
    self.now += 5000;
    aliveAt(x, 2, addrX);
    let asked = 0;
    for (let k = 0; k < 10; k++) {
      outputReset();
      macGossipTick(self.now);
      asked += requestsTo(addrX);
      self.now += 1000;
    }
    expect(asked).toBe(3);
  });

  it("get the claims refused while they were still dead here, even when another member came back after them", () => {
    // A heal: Y's answer carries a copy of X's MAC before X's own return reached us, so it is refused;
    // X and then Z come back within the second; Z's answer has nothing of X's.
    const x: u64 = 0x7300, y: u64 = 0x7301, z: u64 = 0x7302;
    resyncsRunOut(T0 + 200_000);
    aliveAt(x, 1, addrX);
    aliveAt(y, 1, addrY);
    aliveAt(z, 1, addrZ);
    ownerMsg(MAC + 0x5200, y, 1, self.now);
    ownerMsg(MAC + 0x5201, z, 1, self.now);
    leaves(x, 1);
    leaves(y, 1);
    leaves(z, 1);
    self.now += 5000;
    aliveAt(y, 2, addrY);
    outputReset();
    macGossipTick(self.now);
    expect(requestsTo(addrY)).toBe(1);
    const refused = statValue(Stat.MacUpdateOwnerGone);
    answerWith(addrY, y, MAC + 0x5210, x);
    answerWith(addrY, y, MAC + 0x5200, y);
    expect(statValue(Stat.MacUpdateOwnerGone) - refused).toBe(1);
    expect(macFind(MAC + 0x5210, 0)).toBe(-1);
    self.now += 200;
    aliveAt(x, 2, addrX);
    self.now += 300;
    aliveAt(z, 2, addrZ);
    let askedX = 0;
    for (let k = 0; k < 4; k++) {
      self.now += 500;
      outputReset();
      macGossipTick(self.now);
      askedX += requestsTo(addrX);
      if (requestsTo(addrZ) > 0) answerWith(addrZ, z, MAC + 0x5201, z);
    }
    expect(askedX).toBeGreaterThan(0);
    answerWith(addrX, x, MAC + 0x5210, x);
    expect(lookup(MAC + 0x5210, 0)).toBe(x);
    expect(lookup(MAC + 0x5201, 0)).toBe(z);
  });
});
