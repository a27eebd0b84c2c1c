// Segmentation of TSO frames, coalescing toward the TAP, ICMP too-big and MSS clamping, checked
// against a plain reference checksum written here (not the core's onesSum).
import { ADDR_LEN, ADDR_SLOT, OUT_DATAGRAM, OUT_FRAME, REC_HEADER, REC_KIND, REC_LEN, alignUp } from "../../assembly/abi";
import { config } from "../../assembly/config";
import { forwardFromPeer, forwardFromTap } from "../../assembly/forward";
import { groFlushAll } from "../../assembly/gro";
import { applyRemote, macReset } from "../../assembly/mactable";
import { self } from "../../assembly/node";
import { BASE_DATAGRAM } from "../../assembly/pmtu";
import { peerCount, peerId, peerRemove, peerUpsert } from "../../assembly/peers";
import { outputBase, outputLength, outputReset } from "../../assembly/queue";
import { Stat, statValue } from "../../assembly/stats";
import { getU16, getU32, putMac, putU16, putU32 } from "../../assembly/wire/bytes";
import { FRAME_F_VNET, FRAME_HEADER_LEN, MSG_FRAME, WIRE_VERSION } from "../../assembly/wire/divs";
import { VNET_F_NEEDS_CSUM, VNET_HDR_LEN } from "../../assembly/wire/vnet";

const SELF: u64 = 1;
const P2: u64 = 2;
const P3: u64 = 3;
const HOST_A: u64 = 0x0200_0000_00a1; // behind our TAP
const HOST_B: u64 = 0x0200_0000_00b2; // behind P2
const HOST_U: u64 = 0x0200_0000_00ee; // unknown: flooded
const addrP2 = heap.alloc(ADDR_LEN);
const addrP3 = heap.alloc(ADDR_LEN);

const ACK: u8 = 0x10;
const PSH: u8 = 0x08;
const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const CWR: u8 = 0x80;
const GSO_TCPV4: u8 = 1;
const GSO_TCPV6: u8 = 4;
const GSO_UDP_L4: u8 = 5;
const GSO_ECN: u8 = 0x80;
const SEQ0: u32 = 0xfffff000; // wraps inside a 64 KB frame

// Frames built for a test stay put until it ends: the coalescer keeps pointers to them.
const ARENA: u32 = 768 * 1024;
const arena = heap.alloc(ARENA);
let arenaUsed: u32 = 0;
function alloc(n: u32): usize {
  const p = arena + arenaUsed;
  arenaUsed += (n + 15) & ~15;
  assert(arenaUsed <= ARENA, "arena full");
  return p;
}

function setup(): void {
  self.id = SELF;
  // At or under the path MTU base every peer's room is max_datagram from the start: no discovery here.
  config.maxDatagram = BASE_DATAGRAM;
  config.tapVnetHdr = true;
  config.macCapacity = 1024;
  macReset();
  while (peerCount() > 0) peerRemove(peerId(0));
  memory.fill(addrP2, 0x22, ADDR_LEN);
  memory.fill(addrP3, 0x33, ADDR_LEN);
  peerUpsert(P2, addrP2);
  peerUpsert(P3, addrP3);
  applyRemote(HOST_B, 0, P2, 1, 0);
  groFlushAll();
  outputReset();
  arenaUsed = 0;
}

// --- the reference: RFC 1071 one byte pair at a time --------------------------------------

function refSum(p: usize, len: u32, initial: u32): u32 {
  let acc: u32 = initial;
  for (let i: u32 = 0; i < len; i += 2) {
    const hi = <u32>load<u8>(p + i);
    const lo = i + 1 < len ? <u32>load<u8>(p + i + 1) : 0;
    acc += (hi << 8) | lo;
    while (acc > 0xffff) acc = (acc & 0xffff) + (acc >> 16);
  }
  return acc;
}

function refPseudo(ip: usize, v6: bool, proto: u32, upperLen: u32): u32 {
  return v6
    ? refSum(ip + 8, 32, (upperLen >> 16) + (upperLen & 0xffff) + proto)
    : refSum(ip + 12, 8, upperLen + proto);
}

/** The upper-layer checksum over [at, at + len) under the IP header at `ip` is right. */
function refUpperOk(ip: usize, v6: bool, proto: u32, at: usize, len: u32): bool {
  return refSum(at, len, refPseudo(ip, v6, proto, len)) == 0xffff;
}

function refFill(ip: usize, v6: bool, proto: u32, at: usize, len: u32, field: u32): void {
  putU16(at + field, 0);
  putU16(at + field, <u16>~refSum(at, len, refPseudo(ip, v6, proto, len)));
}

// --- frames ------------------------------------------------------------------------------

/** Byte `k` of the test TCP stream. */
function streamByte(k: u32): u8 { return <u8>(k * 31 + 7); }

class Layout {
  l3: u32 = 14;
  l4: u32 = 34;
  tcpLen: u32 = 32;
  len: u32 = 0;
}

/**
 * A TCP frame at `p`: Ethernet (an 802.1Q tag when `vlan`), IPv4 with DF (ID `id`) or IPv6, TCP
 * with `optLen` bytes of options (12: NOP NOP timestamps `tsval`), `payload` stream bytes from
 * stream offset `seq - SEQ0`, checksums right.
 */
function tcpFrame(
  p: usize, dst: u64, src: u64, v6: bool, vlan: bool, flags: u8, seq: u32, id: u16, payload: u32,
  optLen: u32 = 12, tsval: u32 = 77,
): Layout {
  const l = new Layout();
  putMac(p, dst);
  putMac(p + 6, src);
  l.l3 = 14;
  if (vlan) { putU16(p + 12, 0x8100); putU16(p + 14, 42); l.l3 = 18; }
  putU16(p + l.l3 - 2, v6 ? 0x86dd : 0x0800);
  const ip = p + l.l3;
  l.tcpLen = 20 + optLen;
  const tcpSeg = l.tcpLen + payload;
  if (v6) {
    putU32(ip, 0x6000_0000 | 0x2_3456);
    putU16(ip + 4, <u16>tcpSeg);
    store<u8>(ip + 6, 6);
    store<u8>(ip + 7, 64);
    memory.fill(ip + 8, 0, 32);
    putU32(ip + 8, 0x20010db8); store<u8>(ip + 23, 1);
    putU32(ip + 24, 0x20010db8); store<u8>(ip + 39, 2);
    l.l4 = l.l3 + 40;
  } else {
    store<u8>(ip, 0x45);
    store<u8>(ip + 1, 0);
    putU16(ip + 2, <u16>(20 + tcpSeg));
    putU16(ip + 4, id);
    putU16(ip + 6, 0x4000);
    store<u8>(ip + 8, 64);
    store<u8>(ip + 9, 6);
    putU32(ip + 12, 0xc6120001);
    putU32(ip + 16, 0xc6120002);
    putU16(ip + 10, 0);
    putU16(ip + 10, <u16>~refSum(ip, 20, 0));
    l.l4 = l.l3 + 20;
  }
  const tcp = p + l.l4;
  putU16(tcp, 40000);
  putU16(tcp + 2, 5201);
  putU32(tcp + 4, seq);
  putU32(tcp + 8, 0x11223344);
  store<u8>(tcp + 12, <u8>((l.tcpLen / 4) << 4));
  store<u8>(tcp + 13, flags);
  putU16(tcp + 14, 512);
  putU16(tcp + 18, 0);
  if (optLen == 12) {
    store<u8>(tcp + 20, 1);
    store<u8>(tcp + 21, 1);
    store<u8>(tcp + 22, 8);
    store<u8>(tcp + 23, 10);
    putU32(tcp + 24, tsval);
    putU32(tcp + 28, 0x01020304);
  } else {
    memory.fill(tcp + 20, 1, optLen); // NOPs
  }
  for (let k: u32 = 0; k < payload; k++) store<u8>(tcp + l.tcpLen + k, streamByte(seq - SEQ0 + k));
  refFill(ip, v6, 6, tcp, tcpSeg, 16);
  l.len = l.l4 + tcpSeg;
  return l;
}

/** A TAP record: virtio-net header then a TCP frame; the header asks for segmentation in `gsoSize` pieces. */
function tsoRecord(v6: bool, vlan: bool, flags: u8, payload: u32, gsoSize: u32, gsoType: u8, dst: u64 = HOST_B): usize {
  const rec = alloc(VNET_HDR_LEN + 70000);
  const l = tcpFrame(rec + VNET_HDR_LEN, dst, HOST_A, v6, vlan, flags, SEQ0, 0xfffe, payload);
  store<u8>(rec, VNET_F_NEEDS_CSUM);
  store<u8>(rec + 1, gsoType);
  store<u16>(rec + 2, <u16>(l.l4 + l.tcpLen));
  store<u16>(rec + 4, <u16>gsoSize);
  store<u16>(rec + 6, <u16>l.l4);
  store<u16>(rec + 8, 16);
  lastLayout = l;
  return rec;
}
let lastLayout = new Layout();

class Rec {
  kind: u16 = 0;
  body: usize = 0;
  len: u32 = 0;
  to: usize = 0; // datagrams: the address
}

function records(): Rec[] {
  const list = new Array<Rec>();
  let off: u32 = 0;
  while (off < outputLength()) {
    const rec = outputBase + off;
    const r = new Rec();
    r.kind = load<u16>(rec + REC_KIND);
    r.len = load<u32>(rec + REC_LEN);
    r.body = rec + REC_HEADER;
    off += alignUp(REC_HEADER + r.len);
    if (r.kind == OUT_DATAGRAM) {
      r.to = r.body;
      r.body += ADDR_SLOT;
      r.len -= ADDR_SLOT;
    }
    list.push(r);
  }
  return list;
}

/** Checks one segment datagram of a cut TSO frame (layout `l`, index `i` of `n`, `mss` bytes each). */
function checkSegment(r: Rec, l: Layout, v6: bool, i: i32, n: i32, mss: u32, total: u32, flags: u8): void {
  expect(r.kind).toBe(OUT_DATAGRAM);
  expect(r.len).toBeLessThanOrEqual(config.maxDatagram);
  expect(load<u8>(r.body)).toBe(WIRE_VERSION);
  expect(load<u8>(r.body + 1)).toBe(MSG_FRAME);
  expect(load<u8>(r.body + 2)).toBe(0);
  const f = r.body + FRAME_HEADER_LEN;
  const off = <u32>i * mss;
  const payload = i == n - 1 ? total - off : mss;
  expect(r.len).toBe(FRAME_HEADER_LEN + l.l4 + l.tcpLen + payload);
  const ip = f + l.l3;
  if (v6) {
    expect(getU16(ip + 4)).toBe(<u16>(l.tcpLen + payload));
  } else {
    expect(getU16(ip + 2)).toBe(<u16>(20 + l.tcpLen + payload));
    expect(getU16(ip + 4)).toBe(<u16>(0xfffe + i)); // wraps
    expect(refSum(ip, 20, 0)).toBe(0xffff);
  }
  const tcp = f + l.l4;
  expect(getU32(tcp + 4)).toBe(SEQ0 + off);
  let want = flags;
  if (i < n - 1) want &= ~(PSH | FIN);
  if (i > 0) want &= ~CWR;
  expect(load<u8>(tcp + 13)).toBe(want);
  expect(getU32(tcp + 24)).toBe(77); // options copied
  expect(refUpperOk(ip, v6, 6, tcp, l.tcpLen + payload)).toBe(true);
  for (let k: u32 = 0; k < payload; k++) {
    if (load<u8>(tcp + l.tcpLen + k) != streamByte(off + k)) { expect(k).toBe(payload); break; }
  }
}

describe("TSO frames from the TAP", () => {
  beforeEach(() => { setup(); });

  it("are cut into IPv4 segments that fit the datagram, options, flags and checksums right", () => {
    const before = statValue(Stat.TsoSegmentsOut);
    const flags = ACK | PSH | FIN | CWR;
    const rec = tsoRecord(false, false, flags, 10000, 1448, GSO_TCPV4 | GSO_ECN);
    const l = lastLayout;
    forwardFromTap(rec, VNET_HDR_LEN + l.len, 0);
    const mss: u32 = config.maxDatagram - 3 - 14 - 20 - 32; // room left after headers, below gso_size
    const out = records();
    const n = <i32>((10000 + mss - 1) / mss);
    expect(out.length).toBe(n);
    for (let i = 0; i < n; i++) {
      checkSegment(out[i], l, false, i, n, mss, 10000, flags);
      expect(memory.compare(out[i].to, addrP2, ADDR_LEN)).toBe(0);
    }
    expect(statValue(Stat.TsoSegmentsOut) - before).toBe(n);
  });

  it("are cut into IPv6 segments of gso_size when that is smaller, behind a VLAN tag", () => {
    applyRemote(HOST_B, 42, P2, 1, 0);
    const rec = tsoRecord(true, true, ACK | PSH, 2500, 1000, GSO_TCPV6);
    const l = lastLayout;
    expect(l.l3).toBe(18);
    forwardFromTap(rec, VNET_HDR_LEN + l.len, 0);
    const out = records();
    expect(out.length).toBe(3);
    for (let i = 0; i < 3; i++) checkSegment(out[i], l, true, i, 3, 1000, 2500, ACK | PSH);
    expect(out[2].len).toBe(FRAME_HEADER_LEN + l.l4 + l.tcpLen + 500); // the last, short
  });

  it("are cut per peer when flooded", () => {
    const rec = tsoRecord(false, false, ACK, 3000, 1448, GSO_TCPV4, HOST_U);
    forwardFromTap(rec, VNET_HDR_LEN + lastLayout.len, 0);
    const out = records();
    expect(out.length).toBe(6);
    let toP2 = 0;
    for (let i = 0; i < out.length; i++) if (memory.compare(out[i].to, addrP2, ADDR_LEN) == 0) toP2++;
    expect(toP2).toBe(3);
  });

  it("are dropped and counted when the virtio-net header does not match the frame", () => {
    for (let c = 0; c < 8; c++) {
      outputReset();
      const rec = tsoRecord(false, false, ACK, 3000, 1448, GSO_TCPV4);
      const l = lastLayout;
      let len = VNET_HDR_LEN + l.len;
      if (c == 0) store<u16>(rec + 4, 0); // gso_size 0
      if (c == 1) store<u8>(rec + 1, GSO_UDP_L4);
      if (c == 2) store<u8>(rec + 1, GSO_TCPV6); // an IPv4 frame
      if (c == 3) store<u16>(rec + 2, <u16>(len)); // hdr_len past the frame
      if (c == 4) store<u16>(rec + 6, <u16>(l.l4 + 4)); // csum_start not the TCP header
      if (c == 5) store<u8>(rec + VNET_HDR_LEN + l.l3 + 9, 17); // UDP under a TCP gso_type
      if (c == 6) len = VNET_HDR_LEN + l.l4 + 10; // the TCP header cut short
      if (c == 7) store<u8>(rec + 1, 0x7f);
      const bad = statValue(Stat.FramesBadVnet);
      forwardFromTap(rec, len, 0);
      expect(outputLength()).toBe(0);
      expect(statValue(Stat.FramesBadVnet) - bad).toBe(1);
    }
  });
});

/** Feeds every segment datagram in the output to forwardFromPeer (copies: it writes the output) and flushes. */
function deliverToTap(): void {
  const out = records();
  const msgs = new Array<usize>();
  const lens = new Array<u32>();
  for (let i = 0; i < out.length; i++) {
    const m = alloc(out[i].len);
    memory.copy(m, out[i].body + 1, out[i].len - 1);
    msgs.push(m);
    lens.push(out[i].len - 1);
  }
  outputReset();
  macReset(); // we are the receiving node now: HOST_B is not known to live elsewhere
  for (let i = 0; i < msgs.length; i++) forwardFromPeer(addrP2, msgs[i], lens[i]);
  groFlushAll();
}

/** A FRAME message from a peer holding a TCP frame; returns the message, its length in lastMsgLen. */
function peerSegment(v6: bool, flags: u8, seq: u32, id: u16, payload: u32, tsval: u32 = 77): usize {
  const m = alloc(2 + 200 + payload);
  store<u8>(m, MSG_FRAME);
  store<u8>(m + 1, 0);
  lastLayout = tcpFrame(m + 2, HOST_A, HOST_B, v6, false, flags, seq, id, payload, 12, tsval);
  lastMsgLen = 2 + lastLayout.len;
  return m;
}
let lastMsgLen: u32 = 0;

describe("segments from peers toward the TAP", () => {
  beforeEach(() => { setup(); });

  it("coalesce back into the original TSO frame, one GSO write (IPv4 and IPv6)", () => {
    for (let v = 0; v < 2; v++) {
      const v6 = v == 1;
      outputReset();
      applyRemote(HOST_B, 0, P2, 1, 0);
      const rec = tsoRecord(v6, false, ACK | PSH, 20000, 1448, v6 ? GSO_TCPV6 : GSO_TCPV4);
      const l = lastLayout;
      forwardFromTap(rec, VNET_HDR_LEN + l.len, 0);
      const segments = records().length;
      const joined = statValue(Stat.GroSegmentsJoined);
      deliverToTap();
      const out = records();
      expect(out.length).toBe(1);
      expect(out[0].kind).toBe(OUT_FRAME);
      expect(statValue(Stat.GroSegmentsJoined) - joined).toBe(segments);
      const h = out[0].body;
      const f = h + VNET_HDR_LEN;
      const mss: u32 = config.maxDatagram - 3 - 14 - (v6 ? 40 : 20) - 32;
      expect(out[0].len).toBe(VNET_HDR_LEN + l.len);
      expect(load<u8>(h)).toBe(VNET_F_NEEDS_CSUM);
      expect(load<u8>(h + 1)).toBe(v6 ? GSO_TCPV6 : GSO_TCPV4);
      expect(<u32>load<u16>(h + 2)).toBe(l.l4 + l.tcpLen);
      expect(<u32>load<u16>(h + 4)).toBe(mss);
      expect(<u32>load<u16>(h + 6)).toBe(l.l4);
      expect(load<u16>(h + 8)).toBe(16);
      // Headers as the original (the checksum field aside), payload byte for byte.
      const orig = rec + VNET_HDR_LEN;
      expect(memory.compare(f, orig, l.l4 + 16)).toBe(0);
      expect(memory.compare(f + l.l4 + 18, orig + l.l4 + 18, l.len - l.l4 - 18)).toBe(0);
      if (!v6) expect(refSum(f + l.l3, 20, 0)).toBe(0xffff);
      // The field holds the pseudo-header sum: finishing it as the kernel does gives a valid segment.
      const tcp = f + l.l4;
      const tcpLen = l.len - l.l4;
      expect(<u32>getU16(tcp + 16)).toBe(refPseudo(f + l.l3, v6, 6, tcpLen));
      putU16(tcp + 16, <u16>~refSum(tcp, tcpLen, 0));
      expect(refUpperOk(f + l.l3, v6, 6, tcp, tcpLen)).toBe(true);
    }
  });

  it("writes a lone segment as it came, with an empty virtio-net header", () => {
    const m = peerSegment(false, ACK, SEQ0, 1, 500);
    forwardFromPeer(addrP2, m, lastMsgLen);
    groFlushAll();
    const out = records();
    expect(out.length).toBe(1);
    expect(load<u64>(out[0].body)).toBe(0);
    expect(memory.compare(out[0].body + VNET_HDR_LEN, m + 2, lastMsgLen - 2)).toBe(0);
  });

  it("does not join SYN, FIN, RST, out-of-order or differing options: each goes as it came", () => {
    const cases: u8[] = [SYN | ACK, FIN | ACK, RST | ACK, ACK, ACK];
    for (let c = 0; c < cases.length; c++) {
      outputReset();
      const a = peerSegment(false, ACK, SEQ0, 1, 1000);
      const aLen = lastMsgLen;
      const b = peerSegment(false, cases[c], c == 3 ? SEQ0 + 1001 : SEQ0 + 1000, 2, 1000, c == 4 ? 78 : 77);
      const bLen = lastMsgLen;
      forwardFromPeer(addrP2, a, aLen);
      forwardFromPeer(addrP2, b, bLen);
      groFlushAll();
      const out = records();
      expect(out.length).toBe(2);
      expect(memory.compare(out[0].body + VNET_HDR_LEN, a + 2, aLen - 2)).toBe(0);
      expect(memory.compare(out[1].body + VNET_HDR_LEN, b + 2, bLen - 2)).toBe(0);
    }
  });

  it("joins nothing after a short segment", () => {
    const a = peerSegment(false, ACK, SEQ0, 1, 1000);
    const aLen = lastMsgLen;
    const b = peerSegment(false, ACK, SEQ0 + 1000, 2, 500);
    const bLen = lastMsgLen;
    const c = peerSegment(false, ACK, SEQ0 + 1500, 3, 1000);
    const cLen = lastMsgLen;
    forwardFromPeer(addrP2, a, aLen);
    forwardFromPeer(addrP2, b, bLen);
    forwardFromPeer(addrP2, c, cLen);
    groFlushAll();
    const out = records();
    expect(out.length).toBe(2);
    expect(out[0].len).toBe(VNET_HDR_LEN + aLen - 2 + 500);
    expect(memory.compare(out[1].body + VNET_HDR_LEN, c + 2, cLen - 2)).toBe(0);
  });

  it("passes a segment with a bad checksum alone and unchanged, after what was pending", () => {
    const a = peerSegment(false, ACK, SEQ0, 1, 1000);
    const aLen = lastMsgLen;
    const b = peerSegment(false, ACK, SEQ0 + 1000, 2, 1000);
    const bLen = lastMsgLen;
    const c = peerSegment(false, ACK, SEQ0 + 2000, 3, 1000);
    const cLen = lastMsgLen;
    store<u8>(c + 2 + lastLayout.l4 + 16, load<u8>(c + 2 + lastLayout.l4 + 16) ^ 0x40);
    const bad = statValue(Stat.GroBadChecksum);
    forwardFromPeer(addrP2, a, aLen);
    forwardFromPeer(addrP2, b, bLen);
    forwardFromPeer(addrP2, c, cLen);
    groFlushAll();
    const out = records();
    expect(out.length).toBe(2);
    expect(load<u8>(out[0].body + 1)).toBe(GSO_TCPV4); // a + b
    expect(out[0].len).toBe(VNET_HDR_LEN + aLen - 2 + 1000);
    expect(load<u64>(out[1].body)).toBe(0);
    expect(memory.compare(out[1].body + VNET_HDR_LEN, c + 2, cLen - 2)).toBe(0);
    expect(statValue(Stat.GroBadChecksum) - bad).toBe(1);
  });

  it("joins a last shorter segment with PSH and keeps the PSH", () => {
    const a = peerSegment(true, ACK, SEQ0, 0, 1000);
    const aLen = lastMsgLen;
    const b = peerSegment(true, ACK | PSH, SEQ0 + 1000, 0, 300);
    const bLen = lastMsgLen;
    forwardFromPeer(addrP2, a, aLen);
    forwardFromPeer(addrP2, b, bLen);
    groFlushAll();
    const out = records();
    expect(out.length).toBe(1);
    const f = out[0].body + VNET_HDR_LEN;
    expect(load<u8>(f + lastLayout.l4 + 13)).toBe(ACK | PSH);
    expect(getU16(f + 14 + 4)).toBe(<u16>(lastLayout.tcpLen + 1300));
    expect(<u32>load<u16>(out[0].body + 4)).toBe(1000);
  });

  it("stops a coalesced frame below 64 KB of IP packet and starts the next", () => {
    const n = 60;
    const msgs = new Array<usize>();
    let len: u32 = 0;
    for (let i = 0; i < n; i++) {
      msgs.push(peerSegment(false, ACK, SEQ0 + <u32>i * 1400, <u16>(100 + i), 1400));
      len = lastMsgLen;
    }
    for (let i = 0; i < n; i++) forwardFromPeer(addrP2, msgs[i], len);
    groFlushAll();
    const out = records();
    expect(out.length).toBe(2);
    let payload: u32 = 0;
    for (let i = 0; i < out.length; i++) {
      const ipLen = <u32>getU16(out[i].body + VNET_HDR_LEN + 14 + 2);
      expect(ipLen).toBeLessThanOrEqual(0xffff);
      payload += ipLen - 20 - lastLayout.tcpLen;
    }
    expect(payload).toBe(n * 1400);
    // The second frame starts where the first ended, with its own first segment's IPv4 ID.
    const first = (getU16(out[0].body + VNET_HDR_LEN + 16) - 20 - <u16>lastLayout.tcpLen) / 1400;
    expect(getU32(out[1].body + VNET_HDR_LEN + 34 + 4)).toBe(SEQ0 + <u32>first * 1400);
    expect(getU16(out[1].body + VNET_HDR_LEN + 18)).toBe(<u16>(100 + first));
  });

  it("keeps flows apart and writes each whole when more flows than it tracks interleave", () => {
    const flows = 20; // above the 16 it keeps pending
    const msgs = new Array<usize>();
    let len: u32 = 0;
    for (let k = 0; k < 2; k++) {
      for (let f = 0; f < flows; f++) {
        const m = peerSegment(false, ACK, SEQ0 + <u32>k * 1000, <u16>k, 1000);
        putU16(m + 2 + lastLayout.l4, <u16>(30000 + f)); // source port: the flow
        refFill(m + 2 + lastLayout.l3, false, 6, m + 2 + lastLayout.l4, lastLayout.tcpLen + 1000, 16);
        msgs.push(m);
        len = lastMsgLen;
      }
    }
    for (let i = 0; i < msgs.length; i++) forwardFromPeer(addrP2, msgs[i], len);
    groFlushAll();
    const out = records();
    // Flows pushed out of the table go out early; every byte still reaches the TAP exactly once.
    let bytes: u32 = 0;
    for (let i = 0; i < out.length; i++) bytes += out[i].len - VNET_HDR_LEN - lastLayout.l4 - lastLayout.tcpLen;
    expect(bytes).toBe(<u32>(2 * flows) * 1000);
    expect(out.length).toBeLessThan(2 * flows);
  });

  it("leaves non-TCP frames alone and writes nothing without a virtio-net header", () => {
    config.tapVnetHdr = false;
    const a = peerSegment(false, ACK, SEQ0, 1, 1000);
    const aLen = lastMsgLen;
    const b = peerSegment(false, ACK, SEQ0 + 1000, 2, 1000);
    forwardFromPeer(addrP2, a, aLen);
    forwardFromPeer(addrP2, b, lastMsgLen);
    groFlushAll();
    const out = records();
    expect(out.length).toBe(2);
    expect(memory.compare(out[0].body, a + 2, aLen - 2)).toBe(0);
  });
});

/** A non-TSO frame from the TAP: UDP (IPv4 with or without DF, or IPv6) of `len` bytes, no virtio header. */
function udpFrame(v6: bool, df: bool, len: u32): usize {
  const p = alloc(len);
  putMac(p, HOST_B);
  putMac(p + 6, HOST_A);
  putU16(p + 12, v6 ? 0x86dd : 0x0800);
  const ip = p + 14;
  for (let k: u32 = 14; k < len; k++) store<u8>(p + k, <u8>k);
  if (v6) {
    putU32(ip, 0x6000_0000);
    putU16(ip + 4, <u16>(len - 54));
    store<u8>(ip + 6, 17);
    store<u8>(ip + 7, 64);
    memory.fill(ip + 8, 0, 32);
    putU32(ip + 8, 0x20010db8); store<u8>(ip + 23, 1);
    putU32(ip + 24, 0x20010db8); store<u8>(ip + 39, 2);
  } else {
    store<u8>(ip, 0x45);
    putU16(ip + 2, <u16>(len - 14));
    putU16(ip + 6, df ? 0x4000 : 0);
    store<u8>(ip + 8, 64);
    store<u8>(ip + 9, 17);
    putU32(ip + 12, 0xc6120001);
    putU32(ip + 16, 0xc6120002);
    putU16(ip + 10, 0);
    putU16(ip + 10, <u16>~refSum(ip, 20, 0));
  }
  return p;
}

let clock: f64 = 1e9; // the rate limiter's bucket is full again after a second

describe("frames too big for the datagram", () => {
  beforeEach(() => {
    setup();
    config.tapVnetHdr = false;
    clock += 10_000;
  });

  it("IPv4 with DF: ICMP fragmentation needed from the destination, the MTU that fits", () => {
    const p = udpFrame(false, true, 1500);
    const sent = statValue(Stat.IcmpTooBigSent);
    forwardFromTap(p, 1500, clock);
    const out = records();
    expect(out.length).toBe(1);
    expect(out[0].kind).toBe(OUT_FRAME);
    const f = out[0].body;
    const ip = f + 14;
    const icmp = ip + 20;
    expect(getU32(f + 2)).toBe(<u32>HOST_A); // to the sender's MAC
    expect(getU32(f + 8)).toBe(<u32>HOST_B); // from the destination's
    expect(getU32(ip + 12)).toBe(0xc6120002);
    expect(getU32(ip + 16)).toBe(0xc6120001);
    expect(refSum(ip, 20, 0)).toBe(0xffff);
    expect(load<u8>(ip + 9)).toBe(1);
    expect(load<u8>(icmp)).toBe(3);
    expect(load<u8>(icmp + 1)).toBe(4);
    expect(getU16(icmp + 6)).toBe(<u16>(config.maxDatagram - 3 - 14));
    const icmpLen = getU16(ip + 2) - 20;
    expect(icmpLen).toBe(576 - 20);
    expect(refSum(icmp, icmpLen, 0)).toBe(0xffff);
    expect(memory.compare(icmp + 8, p + 14, icmpLen - 8)).toBe(0);
    expect(statValue(Stat.IcmpTooBigSent) - sent).toBe(1);
  });

  it("IPv4 without DF: dropped and counted, no answer", () => {
    const tooBig = statValue(Stat.FramesTooBig);
    const sent = statValue(Stat.IcmpTooBigSent);
    forwardFromTap(udpFrame(false, false, 1500), 1500, clock);
    expect(outputLength()).toBe(0);
    expect(statValue(Stat.FramesTooBig) - tooBig).toBe(1);
    expect(statValue(Stat.IcmpTooBigSent) - sent).toBe(0);
  });

  it("IPv6: Packet Too Big with a valid checksum, quoting up to 1280 bytes", () => {
    const p = udpFrame(true, false, 1500);
    forwardFromTap(p, 1500, clock);
    const out = records();
    expect(out.length).toBe(1);
    const ip = out[0].body + 14;
    const icmp = ip + 40;
    expect(load<u8>(ip + 6)).toBe(58);
    expect(load<u8>(ip + 39)).toBe(1); // to the sender
    expect(load<u8>(icmp)).toBe(2);
    expect(getU32(icmp + 4)).toBe(config.maxDatagram - 3 - 14);
    const icmpLen = <u32>getU16(ip + 4);
    expect(40 + icmpLen).toBe(1280);
    expect(refUpperOk(ip, true, 58, icmp, icmpLen)).toBe(true);
  });

  it("TCP without TSO: answered like any IPv4 packet with DF", () => {
    const p = alloc(1600);
    const l = tcpFrame(p, HOST_B, HOST_A, false, false, ACK, SEQ0, 1, 1500 - 66);
    forwardFromTap(p, l.len, clock);
    const out = records();
    expect(out.length).toBe(1);
    expect(load<u8>(out[0].body + 34)).toBe(3);
  });

  it("are rate-limited", () => {
    const limited = statValue(Stat.IcmpTooBigRateLimited);
    const p = udpFrame(false, true, 1500);
    for (let i = 0; i < 12; i++) forwardFromTap(p, 1500, clock);
    expect(records().length).toBe(10);
    expect(statValue(Stat.IcmpTooBigRateLimited) - limited).toBe(2);
    outputReset();
    forwardFromTap(p, 1500, clock + 100);
    expect(records().length).toBe(1);
  });
});

/** A SYN frame at a fresh place: options = `pad` NOPs then MSS `mss` (then NOPs to a multiple of 4). */
function synFrame(dst: u64, src: u64, mss: u16, pad: u32): Layout {
  const p = alloc(200);
  const l = tcpFrame(p, dst, src, false, false, SYN, 1, 1, 0, 8);
  const tcp = p + l.l4;
  store<u8>(tcp + 20 + pad, 2);
  store<u8>(tcp + 21 + pad, 4);
  putU16(tcp + 22 + pad, mss);
  refFill(p + l.l3, false, 6, tcp, l.tcpLen, 16);
  lastSyn = p;
  return l;
}
let lastSyn: usize = 0;

describe("MSS clamping", () => {
  beforeEach(() => {
    setup();
    config.tapVnetHdr = false;
  });

  it("lowers the MSS of a SYN from the TAP so a full segment fits, checksum still right", () => {
    for (let pad: u32 = 0; pad < 4; pad++) {
      outputReset();
      const l = synFrame(HOST_B, HOST_A, 1460, pad);
      const clamped = statValue(Stat.MssClamped);
      forwardFromTap(lastSyn, l.len, 0);
      const out = records();
      expect(out.length).toBe(1);
      const f = out[0].body + FRAME_HEADER_LEN;
      const tcp = f + l.l4;
      expect(getU16(tcp + 22 + pad)).toBe(<u16>(config.maxDatagram - 3 - 14 - 20 - 20));
      expect(refUpperOk(f + l.l3, false, 6, tcp, l.tcpLen)).toBe(true);
      expect(statValue(Stat.MssClamped) - clamped).toBe(1);
    }
  });

  it("lowers the MSS of a SYN-ACK from a peer, and leaves a small MSS alone", () => {
    let l = synFrame(HOST_A, HOST_B, 8960, 1);
    store<u8>(lastSyn + l.l4 + 13, SYN | ACK);
    refFill(lastSyn + l.l3, false, 6, lastSyn + l.l4, l.tcpLen, 16);
    const m = alloc(2 + l.len);
    store<u8>(m, MSG_FRAME);
    store<u8>(m + 1, 0);
    memory.copy(m + 2, lastSyn, l.len);
    forwardFromPeer(addrP2, m, 2 + l.len);
    let out = records();
    let tcp = out[0].body + l.l4;
    expect(getU16(tcp + 23)).toBe(<u16>(config.maxDatagram - 3 - 14 - 20 - 20));
    expect(refUpperOk(out[0].body + l.l3, false, 6, tcp, l.tcpLen)).toBe(true);
    outputReset();
    l = synFrame(HOST_B, HOST_A, 1200, 0);
    forwardFromTap(lastSyn, l.len, 0);
    out = records();
    expect(memory.compare(out[0].body + FRAME_HEADER_LEN, lastSyn, l.len)).toBe(0);
  });
});

describe("the retired VNET FRAME", () => {
  beforeEach(() => { setup(); });

  it("is dropped and counted", () => {
    const m = peerSegment(false, ACK, SEQ0, 1, 100);
    store<u8>(m + 1, FRAME_F_VNET);
    const dropped = statValue(Stat.FramesVnetFromPeer);
    forwardFromPeer(addrP2, m, lastMsgLen);
    groFlushAll();
    expect(outputLength()).toBe(0);
    expect(statValue(Stat.FramesVnetFromPeer) - dropped).toBe(1);
  });
});
