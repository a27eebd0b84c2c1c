import { MSG_PATH_PING } from "../../assembly/wire/nat";
import { ADDR_LEN, ADDR_SLOT, IN_FRAME, OUT_DATAGRAM, OUT_FRAME, REC_HEADER, REC_KIND, REC_LEN, alignUp } from "../../assembly/abi";
import { config } from "../../assembly/config";
import { forwardFromPeer, forwardFromTap } from "../../assembly/forward";
import { input_ptr, process } from "../../assembly/index";
import { applyRemote, learnLocal, lookup, macReset } from "../../assembly/mactable";
import { self } from "../../assembly/node";
import { peerCount, peerId, peerRemove, peerUpsert } from "../../assembly/peers";
import { outputBase, outputLength, outputReset } from "../../assembly/queue";
import { Stat, statValue } from "../../assembly/stats";
import { putMac, putU16 } from "../../assembly/wire/bytes";
import { onesFold, onesSum } from "../../assembly/wire/checksum";
import { CompoundReader, DG_MESSAGE, FRAME_F_VNET, FRAME_HEADER_LEN, MSG_COMPOUND, MSG_FRAME, WIRE_VERSION } from "../../assembly/wire/divs";
import { MSG_PMTU_PROBE } from "../../assembly/wire/pmtu";
import { VNET_F_NEEDS_CSUM, VNET_HDR_LEN } from "../../assembly/wire/vnet";

const SELF: u64 = 1;
const P2: u64 = 2; // alive peer
const P3: u64 = 3; // alive peer
const DEAD: u64 = 4; // owns MACs but is not an alive peer
const HOST_A: u64 = 0x0200_0000_00a1; // behind our TAP
const HOST_B: u64 = 0x0200_0000_00b2; // behind P2
const HOST_C: u64 = 0x0200_0000_00c3; // behind DEAD
const BROADCAST: u64 = 0xffff_ffff_ffff;
const MULTICAST: u64 = 0x0100_5e00_0001;

const addrP2 = heap.alloc(ADDR_LEN);
const addrP3 = heap.alloc(ADDR_LEN);
const frameBuf = heap.alloc(2048);
const msgBuf = heap.alloc(2048);

function setup(): void {
  self.id = SELF;
  config.maxDatagram = 1400;
  config.tapVnetHdr = false;
  config.macCapacity = 1024;
  macReset();
  while (peerCount() > 0) peerRemove(peerId(0));
  memory.fill(addrP2, 0x22, ADDR_LEN);
  memory.fill(addrP3, 0x33, ADDR_LEN);
  peerUpsert(P2, addrP2);
  peerUpsert(P3, addrP3);
  outputReset();
}

/** An Ethernet frame of `len` bytes in frameBuf: dst, src, optional VLAN tag, IPv4 ethertype, patterned payload. */
function frame(dst: u64, src: u64, len: u32, vlan: i32 = -1): usize {
  putMac(frameBuf, dst);
  putMac(frameBuf + 6, src);
  let off: u32 = 12;
  if (vlan >= 0) {
    putU16(frameBuf + 12, 0x8100);
    putU16(frameBuf + 14, <u16>vlan);
    off = 16;
  }
  putU16(frameBuf + off, 0x0800);
  for (let i = off + 2; i < len; i++) store<u8>(frameBuf + i, <u8>(i * 7));
  return frameBuf;
}

/** A FRAME message (type, reserved, frame) in msgBuf from the frame in frameBuf. */
function frameMsg(len: u32): usize {
  store<u8>(msgBuf, MSG_FRAME);
  store<u8>(msgBuf + 1, 0);
  memory.copy(msgBuf + 2, frameBuf, len);
  return msgBuf;
}

class Out {
  datagrams: i32 = 0;
  frames: i32 = 0;
  lastBody: usize = 0;
  lastLen: u32 = 0;
  toP2: i32 = 0;
  toP3: i32 = 0;
}

function collect(): Out {
  const o = new Out();
  let off: u32 = 0;
  while (off < outputLength()) {
    const rec = outputBase + off;
    const kind = load<u16>(rec + REC_KIND);
    const len = load<u32>(rec + REC_LEN);
    const body = rec + REC_HEADER;
    const type = kind == OUT_DATAGRAM ? load<u8>(body + ADDR_SLOT + DG_MESSAGE) : 0;
    if (type == MSG_PMTU_PROBE || type == MSG_PATH_PING) {
      // path MTU discovery and path probes of the new peers (pmtu.spec.ts, nat.spec.ts), not forwarding
    } else if (kind == OUT_DATAGRAM) {
      o.datagrams++;
      if (memory.compare(body, addrP2, ADDR_LEN) == 0) o.toP2++;
      if (memory.compare(body, addrP3, ADDR_LEN) == 0) o.toP3++;
      o.lastBody = body + ADDR_SLOT;
      o.lastLen = len - ADDR_SLOT;
    } else if (kind == OUT_FRAME) {
      o.frames++;
      o.lastBody = body;
      o.lastLen = len;
    }
    off += alignUp(REC_HEADER + len);
  }
  return o;
}

/** The datagram at `dg` carries exactly the frame in frameBuf. */
function carriesFrame(dg: usize, dgLen: u32, frameLen: u32): bool {
  return dgLen == FRAME_HEADER_LEN + frameLen && load<u8>(dg) == WIRE_VERSION && load<u8>(dg + 1) == MSG_FRAME &&
    load<u8>(dg + 2) == 0 && memory.compare(dg + FRAME_HEADER_LEN, frameBuf, frameLen) == 0;
}

describe("frames from the TAP", () => {
  beforeEach(() => { setup(); });

  it("floods broadcast and multicast to every alive peer, once each", () => {
    const flooded = statValue(Stat.FramesFlooded);
    forwardFromTap(frame(BROADCAST, HOST_A, 100), 100, 0);
    let o = collect();
    expect(o.datagrams).toBe(peerCount());
    expect(o.toP2).toBe(1);
    expect(o.toP3).toBe(1);
    expect(carriesFrame(o.lastBody, o.lastLen, 100)).toBe(true);
    outputReset();
    forwardFromTap(frame(MULTICAST, HOST_A, 80), 80, 0);
    o = collect();
    expect(o.toP2).toBe(1);
    expect(o.toP3).toBe(1);
    expect(statValue(Stat.FramesFlooded) - flooded).toBe(2);
  });

  it("learns the source as ours", () => {
    expect(lookup(HOST_A, 0)).toBe(0);
    forwardFromTap(frame(BROADCAST, HOST_A, 60), 60, 5);
    expect(lookup(HOST_A, 0)).toBe(SELF);
    forwardFromTap(frame(BROADCAST, HOST_A, 60, 7), 64, 5);
    expect(lookup(HOST_A, 7)).toBe(SELF);
  });

  it("unicasts to the alive owner of the destination", () => {
    applyRemote(HOST_B, 0, P2, 1, 0);
    const unicast = statValue(Stat.FramesUnicast);
    forwardFromTap(frame(HOST_B, HOST_A, 200), 200, 0);
    const o = collect();
    expect(o.datagrams).toBe(1);
    expect(o.toP2).toBe(1);
    expect(carriesFrame(o.lastBody, o.lastLen, 200)).toBe(true);
    expect(statValue(Stat.FramesUnicast) - unicast).toBe(1);
  });

  it("floods unknown destinations and those whose owner is not alive", () => {
    forwardFromTap(frame(HOST_B, HOST_A, 60), 60, 0);
    expect(collect().datagrams).toBe(2);
    outputReset();
    applyRemote(HOST_C, 0, DEAD, 1, 0);
    forwardFromTap(frame(HOST_C, HOST_A, 60), 60, 0);
    expect(collect().datagrams).toBe(2);
  });

  it("keeps VLANs apart when choosing the owner", () => {
    applyRemote(HOST_B, 10, P2, 1, 0);
    forwardFromTap(frame(HOST_B, HOST_A, 64, 10), 64, 0);
    expect(collect().datagrams).toBe(1);
    outputReset();
    forwardFromTap(frame(HOST_B, HOST_A, 64, 11), 64, 0);
    expect(collect().datagrams).toBe(2);
  });

  it("sends nothing for a destination behind our own TAP", () => {
    learnLocal(HOST_B, 0, 0);
    const local = statValue(Stat.FramesLocalDst);
    forwardFromTap(frame(HOST_B, HOST_A, 60), 60, 0);
    expect(outputLength()).toBe(0);
    expect(statValue(Stat.FramesLocalDst) - local).toBe(1);
  });

  it("drops group and zero sources without learning them", () => {
    const bad = statValue(Stat.FramesBadSource);
    forwardFromTap(frame(BROADCAST, MULTICAST, 60), 60, 0);
    forwardFromTap(frame(BROADCAST, 0, 60), 60, 0);
    expect(outputLength()).toBe(0);
    expect(lookup(MULTICAST, 0)).toBe(0);
    expect(statValue(Stat.FramesBadSource) - bad).toBe(2);
  });

  it("drops truncated frames and truncated VLAN tags", () => {
    const truncated = statValue(Stat.FramesTruncated);
    forwardFromTap(frame(BROADCAST, HOST_A, 60), 13, 0);
    frame(BROADCAST, HOST_A, 60, 5);
    forwardFromTap(frameBuf, 15, 0);
    expect(outputLength()).toBe(0);
    expect(lookup(HOST_A, 0)).toBe(0);
    expect(statValue(Stat.FramesTruncated) - truncated).toBe(2);
  });

  it("drops frames too big for a datagram, after learning the source", () => {
    config.maxDatagram = 600;
    const tooBig = statValue(Stat.FramesTooBig);
    forwardFromTap(frame(BROADCAST, HOST_A, 600 - FRAME_HEADER_LEN + 1), 600 - FRAME_HEADER_LEN + 1, 0);
    expect(outputLength()).toBe(0);
    expect(statValue(Stat.FramesTooBig) - tooBig).toBe(1);
    expect(lookup(HOST_A, 0)).toBe(SELF);
    forwardFromTap(frame(BROADCAST, HOST_A, 600 - FRAME_HEADER_LEN), 600 - FRAME_HEADER_LEN, 0);
    expect(collect().datagrams).toBe(2);
  });
});

describe("frames to one peer in one call", () => {
  beforeEach(() => { setup(); });

  it("share a datagram, a COMPOUND of FRAMEs in order, up to maxDatagram", () => {
    applyRemote(HOST_B, 0, P2, 1, 0);
    const coalesced = statValue(Stat.FramesCoalesced);
    for (let i = 0; i < 3; i++) {
      frame(HOST_B, HOST_A, 100 + i);
      forwardFromTap(frameBuf, 100 + i, 0);
    }
    const o = collect();
    expect(o.datagrams).toBe(1);
    expect(load<u8>(o.lastBody + 1)).toBe(MSG_COMPOUND);
    const r = new CompoundReader();
    r.reset(o.lastBody + 1, o.lastLen - 1);
    for (let i = 0; i < 3; i++) {
      expect(r.next()).toBe(true);
      expect(r.len).toBe(2 + 100 + i);
      expect(load<u8>(r.ptr)).toBe(MSG_FRAME);
      frame(HOST_B, HOST_A, 100 + i);
      expect(memory.compare(r.ptr + 2, frameBuf, 100 + i)).toBe(0);
    }
    expect(r.next()).toBe(false);
    expect(r.malformed).toBe(false);
    expect(statValue(Stat.FramesCoalesced) - coalesced).toBe(2);
    // Items of 2 + 112 bytes after a 4-byte header: 12 fit in 1400 bytes, the 13th opens a new datagram.
    outputReset();
    for (let i = 0; i < 14; i++) {
      frame(HOST_B, HOST_A, 110);
      forwardFromTap(frameBuf, 110, 0);
    }
    const full = collect();
    expect(full.datagrams).toBe(2);
    expect(full.lastLen <= config.maxDatagram).toBe(true);
  });

  it("do not join a datagram once another record follows it", () => {
    applyRemote(HOST_B, 0, P2, 1, 0);
    applyRemote(HOST_C, 0, P3, 1, 0);
    frame(HOST_B, HOST_A, 100);
    forwardFromTap(frameBuf, 100, 0);
    frame(HOST_C, HOST_A, 100);
    forwardFromTap(frameBuf, 100, 0);
    frame(HOST_B, HOST_A, 100);
    forwardFromTap(frameBuf, 100, 0);
    const o = collect();
    expect(o.datagrams).toBe(3);
    expect(carriesFrame(o.lastBody, o.lastLen, 100)).toBe(true);
  });
});

describe("frames from peers", () => {
  beforeEach(() => { setup(); });

  it("delivers group, unknown and own destinations to the TAP, never to peers", () => {
    const toTap = statValue(Stat.FramesToTap);
    frame(BROADCAST, HOST_B, 90);
    forwardFromPeer(addrP2, frameMsg(90), 92);
    let o = collect();
    expect(o.frames).toBe(1);
    expect(o.datagrams).toBe(0);
    expect(o.lastLen).toBe(90);
    expect(memory.compare(o.lastBody, frameBuf, 90)).toBe(0);
    outputReset();
    frame(HOST_A, HOST_B, 60);
    forwardFromPeer(addrP2, frameMsg(60), 62); // unknown
    learnLocal(HOST_A, 0, 0);
    forwardFromPeer(addrP2, frameMsg(60), 62); // ours
    o = collect();
    expect(o.frames).toBe(2);
    expect(o.datagrams).toBe(0);
    expect(statValue(Stat.FramesToTap) - toTap).toBe(3);
  });

  it("drops a frame for a MAC another node owns", () => {
    applyRemote(HOST_C, 0, P3, 1, 0);
    const misdirected = statValue(Stat.FramesMisdirected);
    frame(HOST_C, HOST_B, 60);
    forwardFromPeer(addrP2, frameMsg(60), 62);
    expect(outputLength()).toBe(0);
    expect(statValue(Stat.FramesMisdirected) - misdirected).toBe(1);
  });

  it("drops truncated messages and bad sources", () => {
    const truncated = statValue(Stat.FramesTruncated);
    const dgTruncated = statValue(Stat.DatagramTruncated);
    const bad = statValue(Stat.FramesBadSource);
    frame(BROADCAST, HOST_B, 60);
    forwardFromPeer(addrP2, frameMsg(60), 1);
    forwardFromPeer(addrP2, frameMsg(60), 2 + 13);
    frame(BROADCAST, BROADCAST, 60);
    forwardFromPeer(addrP2, frameMsg(60), 62);
    expect(outputLength()).toBe(0);
    expect(statValue(Stat.DatagramTruncated) - dgTruncated).toBe(1);
    expect(statValue(Stat.FramesTruncated) - truncated).toBe(1);
    expect(statValue(Stat.FramesBadSource) - bad).toBe(1);
  });

  it("does not learn from peer frames", () => {
    frame(BROADCAST, HOST_B, 60);
    forwardFromPeer(addrP2, frameMsg(60), 62);
    expect(lookup(HOST_B, 0)).toBe(0);
  });
});

describe("through the ABI", () => {
  beforeEach(() => { setup(); });

  it("turns an IN_FRAME record into one OUT_DATAGRAM per alive peer", () => {
    const rec = input_ptr();
    frame(BROADCAST, HOST_A, 70);
    store<u16>(rec + REC_KIND, IN_FRAME);
    store<u32>(rec + REC_LEN, 70);
    memory.copy(rec + REC_HEADER, frameBuf, 70);
    process(alignUp(REC_HEADER + 70), 10);
    const o = collect();
    expect(o.toP2).toBe(1);
    expect(o.toP3).toBe(1);
    expect(carriesFrame(o.lastBody, o.lastLen, 70)).toBe(true);
    expect(lookup(HOST_A, 0)).toBe(SELF);
  });
});

// A TAP opened with IFF_VNET_HDR: records are a 10-byte virtio-net header, then the frame.
const vnetBuf = heap.alloc(VNET_HDR_LEN + 8192);
const GSO_TCPV4: u8 = 1;

/** A TAP record in vnetBuf: virtio-net header (flags, gso type, csum start/offset) and a frame of `len` bytes. */
function vnetRecord(dst: u64, src: u64, len: u32, flags: u8, gsoType: u8, csumStart: u16, csumOffset: u16): usize {
  memory.fill(vnetBuf, 0, VNET_HDR_LEN);
  store<u8>(vnetBuf, flags);
  store<u8>(vnetBuf + 1, gsoType);
  store<u16>(vnetBuf + 4, 1371); // gso_size
  store<u16>(vnetBuf + 6, csumStart);
  store<u16>(vnetBuf + 8, csumOffset);
  const f = vnetBuf + VNET_HDR_LEN;
  putMac(f, dst);
  putMac(f + 6, src);
  putU16(f + 12, 0x0800);
  for (let i: u32 = 14; i < len; i++) store<u8>(f + i, <u8>(i * 13));
  return vnetBuf;
}

describe("frames with a virtio-net header", () => {
  beforeEach(() => {
    setup();
    config.tapVnetHdr = true;
  });

  it("finishes a partial checksum and sends the frame plain", () => {
    applyRemote(HOST_B, 0, P2, 1, 0);
    // A UDP checksum field holding the pseudo-header sum, as the kernel leaves it (CHECKSUM_PARTIAL).
    const len: u32 = 300;
    vnetRecord(HOST_B, HOST_A, len, VNET_F_NEEDS_CSUM, 0, 34, 6);
    const f = vnetBuf + VNET_HDR_LEN;
    const pseudo: u32 = 0x1234; // stands for the pseudo-header's partial sum
    putU16(f + 34 + 6, <u16>pseudo);
    forwardFromTap(vnetBuf, VNET_HDR_LEN + len, 0);
    const o = collect();
    expect(o.lastLen).toBe(FRAME_HEADER_LEN + len);
    expect(load<u8>(o.lastBody + 2)).toBe(0);
    const sent = o.lastBody + FRAME_HEADER_LEN;
    // Valid when the sum over the segment, the checksum in it, and the pseudo-header folds to 0xffff.
    expect(onesFold(<u64>onesSum(sent + 34, len - 34, 0) + pseudo)).toBe(0xffff);
    expect(memory.compare(sent, f, 34)).toBe(0);
  });

  it("drops a partial checksum whose offsets run past the frame", () => {
    const bad = statValue(Stat.FramesBadVnet);
    vnetRecord(BROADCAST, HOST_A, 100, VNET_F_NEEDS_CSUM, 0, 90, 16);
    forwardFromTap(vnetBuf, VNET_HDR_LEN + 100, 0);
    expect(outputLength()).toBe(0);
    expect(statValue(Stat.FramesBadVnet) - bad).toBe(1);
  });

  it("writes a plain frame from a peer after an empty header", () => {
    frame(BROADCAST, HOST_B, 90);
    forwardFromPeer(addrP2, frameMsg(90), 92);
    const o = collect();
    expect(o.lastLen).toBe(VNET_HDR_LEN + 90);
    expect(load<u64>(o.lastBody)).toBe(0);
    expect(load<u16>(o.lastBody + 8)).toBe(0);
    expect(memory.compare(o.lastBody + VNET_HDR_LEN, frameBuf, 90)).toBe(0);
  });

  it("drops a FRAME with the retired VNET flag from a peer, whatever our TAP", () => {
    for (let vnetTap = 0; vnetTap < 2; vnetTap++) {
      config.tapVnetHdr = vnetTap == 1;
      const dropped = statValue(Stat.FramesVnetFromPeer);
      vnetRecord(BROADCAST, HOST_B, 100, VNET_F_NEEDS_CSUM, GSO_TCPV4, 34, 16);
      store<u8>(msgBuf, MSG_FRAME);
      store<u8>(msgBuf + 1, FRAME_F_VNET);
      memory.copy(msgBuf + 2, vnetBuf, VNET_HDR_LEN + 100);
      forwardFromPeer(addrP2, msgBuf, 2 + VNET_HDR_LEN + 100);
      expect(outputLength()).toBe(0);
      expect(statValue(Stat.FramesVnetFromPeer) - dropped).toBe(1);
    }
  });
});
