// The forwarding decision, like a learning bridge whose ports are nodes:
// a frame from our TAP is learnt from, then unicast to the node owning its
// destination or flooded to every alive peer; a frame from a peer goes to our
// TAP unless the table says another node owns its destination. Frames from
// peers are never sent on to other peers, so a flood cannot loop.
// With config.tapVnetHdr the TAP's frames carry a virtio-net header: a TSO frame (GSO TCP) is cut
// into segments that each fit a FRAME datagram (segment.ts), other frames have their checksum
// finished here; frames that do not fit are answered with ICMP too-big (toobig.ts), and SYNs get
// their MSS clamped (mssclamp.ts). Toward our TAP, TCP segments are coalesced back (gro.ts).
// Frames to the same peer in one process() call share a datagram (a COMPOUND of FRAMEs, up to
// the room toward that peer): under load one seal and one send carry many small frames, idle
// nothing waits. Segments of a TSO frame each travel alone, so they are equal-sized datagrams.
import { ADDR_LEN, ADDR_SLOT, OUT_DATAGRAM } from "./abi";
import { config } from "./config";
import { dhcpServing, serverMac } from "./dhcp/pool";
import { dhcpFromTap } from "./dhcp/server";
import { groFrame } from "./gro";
import { MAC_LOCAL, learnLocal, macFind, slotKind, slotOwner } from "./mactable";
import { mssClamp } from "./mssclamp";
import { neighbourFromTap } from "./neighbour";
import { self } from "./node";
import { peerAddr, peerAddrById, peerCount } from "./peers";
import { pmtuMaxDatagram } from "./pmtu";
import { outputGrowLast, outputRecords, outputToAddr } from "./queue";
import { tsoCut, tsoPrepare } from "./segment";
import { Stat, count } from "./stats";
import { tapWrite } from "./tap";
import { frameTooBig } from "./toobig";
import { putU16 } from "./wire/bytes";
import {
  COMPOUND_COUNT, COMPOUND_ITEMS, COMPOUND_MAX_ITEMS, DG_MESSAGE, DG_VERSION, FRAME_F_VNET, FRAME_FLAGS, FRAME_HEADER_LEN,
  FRAME_PAYLOAD, ITEM_LEN_SIZE, MSG_COMPOUND, MSG_FRAME, WIRE_VERSION,
} from "./wire/divs";
import { ETH_TRUNCATED, ethCheck, ethDst, ethSrc, ethVlan, macIsGroup } from "./wire/ethernet";
import { FrameIp } from "./wire/ipframe";
import { VNET_F_NEEDS_CSUM, VNET_FLAGS, VNET_HDR_LEN, vnetFinishChecksum, vnetGso } from "./wire/vnet";

/** The largest FRAME datagram (3-byte header + Ethernet frame) we send to the peer at `to`: its path MTU. */
export function frameRoom(to: usize): u32 {
  return pmtuMaxDatagram(to);
}

/** The room of a flooded frame: the smallest among the alive peers. */
function floodRoom(): u32 {
  let room = config.maxDatagram;
  for (let i = 0, n = peerCount(); i < n; i++) room = min(room, frameRoom(peerAddr(i)));
  return room;
}

const ip = new FrameIp();

/** A record read from our TAP at `now`: the frame, after a virtio-net header when config.tapVnetHdr. */
export function forwardFromTap(body: usize, bodyLen: u32, now: f64): void {
  count(Stat.FramesFromTap);
  let frame = body;
  let len = bodyLen;
  let tso = false;
  if (config.tapVnetHdr) {
    if (bodyLen < VNET_HDR_LEN) { count(Stat.FramesTruncated); return; }
    frame = body + VNET_HDR_LEN;
    len = bodyLen - VNET_HDR_LEN;
    tso = vnetGso(body);
  }
  if (!ethCheck(len)) { count(Stat.FramesTruncated); return; }
  const vlan = ethVlan(frame, len);
  if (vlan == ETH_TRUNCATED) { count(Stat.FramesTruncated); return; }
  const src = ethSrc(frame);
  // A group or all-zero source is not a station (Linux bridges drop these too).
  if (macIsGroup(src) || src == 0) { count(Stat.FramesBadSource); return; }
  learnLocal(src, vlan, now);
  if (dhcpServing() && dhcpFromTap(frame, len, vlan, now)) return; // answered here, not flooded
  if (neighbourFromTap(frame, len, vlan, src, now)) return; // answered here (ARP/ND proxy)

  const dst = ethDst(frame);
  if (dst == serverMac()) { count(Stat.FramesLocalDst); return; } // for this node: a host probe's answer (hostprobe.ts)
  let to: usize = 0;
  if (!macIsGroup(dst)) {
    const s = macFind(dst, vlan);
    if (s >= 0) {
      const owner = slotOwner(s);
      if (slotKind(s) == MAC_LOCAL || owner == self.id) { count(Stat.FramesLocalDst); return; }
      to = peerAddrById(owner); // 0 when the owner is not alive: flood
    }
  }
  if (tso) {
    if (!tsoPrepare(body, frame, len)) { count(Stat.FramesBadVnet); return; }
    count(Stat.TsoFramesFromTap);
    openDg = 0; // segments travel alone
    if (to != 0) {
      if (tsoCut(to, frameRoom(to))) count(Stat.FramesUnicast);
      return;
    }
    count(Stat.FramesFlooded);
    for (let i = 0, n = peerCount(); i < n; i++) {
      const peer = peerAddr(i);
      if (!tsoCut(peer, frameRoom(peer))) break; // output full (counted)
    }
    return;
  }
  if (config.tapVnetHdr && (load<u8>(body + VNET_FLAGS) & VNET_F_NEEDS_CSUM) != 0 && !vnetFinishChecksum(body, frame, len)) {
    count(Stat.FramesBadVnet);
    return;
  }
  const room = to != 0 ? frameRoom(to) : floodRoom();
  ip.parse(frame, len);
  mssClamp(frame, ip, room);
  if (FRAME_HEADER_LEN + len > room) { frameTooBig(frame, ip, room, now); return; }
  if (to != 0) {
    if (sendFrame(to, frame, len)) count(Stat.FramesUnicast);
    return;
  }
  count(Stat.FramesFlooded);
  for (let i = 0, n = peerCount(); i < n; i++) {
    if (!sendFrame(peerAddr(i), frame, len)) break; // output full (counted)
  }
}

// The plain-frame datagram sendFrame wrote last, open for more frames while it is the last output record.
let openDg: usize = 0; // its DiVS datagram (after the address slot)
let openLen: u32 = 0;
let openRecord: u32 = 0; // outputRecords() when it was written

/** Appends a plain frame to the open datagram when it goes to `addr`, is still last and has room. */
function joinOpen(addr: usize, frame: usize, len: u32): bool {
  if (openDg == 0 || openRecord != outputRecords() || memory.compare(openDg - ADDR_SLOT, addr, ADDR_LEN) != 0) return false;
  const lone = load<u8>(openDg + DG_MESSAGE) == MSG_FRAME;
  if (!lone && load<u8>(openDg + DG_MESSAGE + COMPOUND_COUNT) >= <u8>COMPOUND_MAX_ITEMS) return false;
  const msgLen = FRAME_PAYLOAD + len;
  // A lone FRAME becomes a COMPOUND: its header and the first item's length go in front of it.
  const wrap: u32 = lone ? COMPOUND_ITEMS + ITEM_LEN_SIZE : 0;
  const extra = wrap + ITEM_LEN_SIZE + msgLen;
  if (openLen + extra > frameRoom(addr) || !outputGrowLast(extra)) return false;
  if (lone) {
    const firstLen = openLen - DG_MESSAGE;
    memory.copy(openDg + DG_MESSAGE + wrap, openDg + DG_MESSAGE, firstLen);
    store<u8>(openDg + DG_MESSAGE, MSG_COMPOUND);
    store<u8>(openDg + DG_MESSAGE + COMPOUND_COUNT, 1);
    store<u8>(openDg + DG_MESSAGE + 2, 0);
    putU16(openDg + DG_MESSAGE + COMPOUND_ITEMS, <u16>firstLen);
    openLen += wrap;
  }
  const item = openDg + openLen;
  putU16(item, <u16>msgLen);
  store<u8>(item + ITEM_LEN_SIZE, MSG_FRAME);
  store<u8>(item + ITEM_LEN_SIZE + FRAME_FLAGS, 0);
  memory.copy(item + ITEM_LEN_SIZE + FRAME_PAYLOAD, frame, len);
  openLen += ITEM_LEN_SIZE + msgLen;
  store<u8>(openDg + DG_MESSAGE + COMPOUND_COUNT, load<u8>(openDg + DG_MESSAGE + COMPOUND_COUNT) + 1);
  count(Stat.FramesCoalesced);
  return true;
}

function sendFrame(addr: usize, frame: usize, len: u32): bool {
  if (joinOpen(addr, frame, len)) return true;
  const dg = outputToAddr(OUT_DATAGRAM, addr, FRAME_HEADER_LEN + len);
  if (dg == 0) return false;
  store<u8>(dg + DG_VERSION, WIRE_VERSION);
  store<u8>(dg + DG_MESSAGE, MSG_FRAME);
  store<u8>(dg + DG_MESSAGE + FRAME_FLAGS, 0);
  memory.copy(dg + FRAME_HEADER_LEN, frame, len);
  count(Stat.DatagramsOut);
  openDg = dg;
  openLen = FRAME_HEADER_LEN + len;
  openRecord = outputRecords();
  return true;
}

/**
 * A FRAME message from the peer at `from`: `msg` points at its type byte, `msgLen` bytes are
 * available. The frame may be changed in place (MSS clamp).
 */
export function forwardFromPeer(from: usize, msg: usize, msgLen: u32): void {
  if (msgLen < FRAME_PAYLOAD) { count(Stat.DatagramTruncated); return; }
  // The retired VNET flag (a whole GSO segment the underlay had to fragment): never written as is.
  if ((load<u8>(msg + FRAME_FLAGS) & FRAME_F_VNET) != 0) { count(Stat.FramesVnetFromPeer); return; }
  const frame = msg + FRAME_PAYLOAD;
  const len = msgLen - FRAME_PAYLOAD;
  if (!ethCheck(len)) { count(Stat.FramesTruncated); return; }
  const vlan = ethVlan(frame, len);
  if (vlan == ETH_TRUNCATED) { count(Stat.FramesTruncated); return; }
  const src = ethSrc(frame);
  if (macIsGroup(src) || src == 0) { count(Stat.FramesBadSource); return; }
  const dst = ethDst(frame);
  if (!macIsGroup(dst)) {
    const s = macFind(dst, vlan);
    if (s >= 0 && slotKind(s) != MAC_LOCAL && slotOwner(s) != self.id) {
      count(Stat.FramesMisdirected);
      return;
    }
  }
  ip.parse(frame, len);
  mssClamp(frame, ip, frameRoom(from)); // our answers to this SYN cross the same path back
  if (config.tapVnetHdr) groFrame(frame, len);
  else tapWrite(frame, len);
}
