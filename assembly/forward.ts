// The forwarding decision, like a learning bridge whose ports are nodes:
// a frame from our TAP is learnt from, then unicast to the node owning its
// destination or flooded to every alive peer; a frame from a peer goes to our
// TAP unless the table says another node owns its destination. Frames from
// peers are never sent on to other peers, so a flood cannot loop.
// With config.tapVnetHdr the TAP's frames carry a virtio-net header: GSO segments travel with it as
// one FRAME (flag VNET), other frames have their checksum finished here and travel plain.
// Frames to the same peer in one process() call share a datagram (a COMPOUND of FRAMEs, up to the
// peer's path MTU): under load one seal and one send carry many small frames, idle nothing waits.
import { ADDR_LEN, ADDR_SLOT, OUT_DATAGRAM, OUT_FRAME } from "./abi";
import { config } from "./config";
import { MAC_LOCAL, learnLocal, macFind, slotKind, slotOwner } from "./mactable";
import { self } from "./node";
import { peerAddr, peerAddrById, peerCount } from "./peers";
import { pmtuMaxDatagram } from "./pmtu";
import { outputGrowLast, outputRecords, outputReserve, outputToAddr } from "./queue";
import { Stat, count } from "./stats";
import { putU16 } from "./wire/bytes";
import {
  COMPOUND_COUNT, COMPOUND_ITEMS, COMPOUND_MAX_ITEMS, DG_MESSAGE, DG_VERSION, FRAME_F_VNET, FRAME_FLAGS, FRAME_HEADER_LEN,
  FRAME_PAYLOAD, ITEM_LEN_SIZE, MSG_COMPOUND, MSG_FRAME, WIRE_VERSION,
} from "./wire/divs";
import { ETH_TRUNCATED, ethCheck, ethDst, ethSrc, ethVlan, macIsGroup } from "./wire/ethernet";
import { VNET_F_NEEDS_CSUM, VNET_FLAGS, VNET_HDR_LEN, vnetClear, vnetFinishChecksum, vnetGso } from "./wire/vnet";

/** A record read from our TAP at `now`: the frame, after a virtio-net header when config.tapVnetHdr. */
export function forwardFromTap(body: usize, bodyLen: u32, now: f64): void {
  count(Stat.FramesFromTap);
  let frame = body;
  let len = bodyLen;
  let vnet: usize = 0; // the header to carry along: only GSO segments need one
  if (config.tapVnetHdr) {
    if (bodyLen < VNET_HDR_LEN) { count(Stat.FramesTruncated); return; }
    frame = body + VNET_HDR_LEN;
    len = bodyLen - VNET_HDR_LEN;
    if (vnetGso(body)) vnet = body;
  }
  if (!ethCheck(len)) { count(Stat.FramesTruncated); return; }
  const vlan = ethVlan(frame, len);
  if (vlan == ETH_TRUNCATED) { count(Stat.FramesTruncated); return; }
  const src = ethSrc(frame);
  // A group or all-zero source is not a station (Linux bridges drop these too).
  if (macIsGroup(src) || src == 0) { count(Stat.FramesBadSource); return; }
  learnLocal(src, vlan, now);

  const dst = ethDst(frame);
  let to: usize = 0;
  if (!macIsGroup(dst)) {
    const s = macFind(dst, vlan);
    if (s >= 0) {
      const owner = slotOwner(s);
      if (slotKind(s) == MAC_LOCAL || owner == self.id) { count(Stat.FramesLocalDst); return; }
      to = peerAddrById(owner); // 0 when the owner is not alive: flood
    }
  }
  if (vnet != 0) {
    if (FRAME_HEADER_LEN + VNET_HDR_LEN + len > config.maxGsoDatagram) { count(Stat.FramesTooBig); return; }
    count(Stat.FramesGso);
  } else {
    if (FRAME_HEADER_LEN + len > config.maxDatagram) { count(Stat.FramesTooBig); return; }
    if (config.tapVnetHdr && (load<u8>(body + VNET_FLAGS) & VNET_F_NEEDS_CSUM) != 0 && !vnetFinishChecksum(body, frame, len)) {
      count(Stat.FramesBadVnet);
      return;
    }
  }
  if (to != 0) {
    if (sendFrame(to, vnet, frame, len) == Sent.Ok) count(Stat.FramesUnicast);
    return;
  }
  count(Stat.FramesFlooded);
  for (let i = 0, n = peerCount(); i < n; i++) {
    if (sendFrame(peerAddr(i), vnet, frame, len) == Sent.OutputFull) break; // (counted)
  }
}

// The plain-frame datagram sendFrame wrote last, open for more frames while it is the last output record.
let openDg: usize = 0; // its DiVS datagram (after the address slot)
let openLen: u32 = 0;
let openRecord: u32 = 0; // outputRecords() when it was written

/** Appends a plain frame to the open datagram when it goes to `addr`, is still last and has `room`. */
function joinOpen(addr: usize, frame: usize, len: u32, room: u32): bool {
  if (openDg == 0 || openRecord != outputRecords() || memory.compare(openDg - ADDR_SLOT, addr, ADDR_LEN) != 0) return false;
  const lone = load<u8>(openDg + DG_MESSAGE) == MSG_FRAME;
  if (!lone && load<u8>(openDg + DG_MESSAGE + COMPOUND_COUNT) >= <u8>COMPOUND_MAX_ITEMS) return false;
  const msgLen = FRAME_PAYLOAD + len;
  // A lone FRAME becomes a COMPOUND: its header and the first item's length go in front of it.
  const wrap: u32 = lone ? COMPOUND_ITEMS + ITEM_LEN_SIZE : 0;
  const extra = wrap + ITEM_LEN_SIZE + msgLen;
  if (openLen + extra > room || !outputGrowLast(extra)) return false;
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

/** The largest datagram to the peer at `to`: its path MTU (assembly/pmtu.ts). */
function frameRoom(to: usize): u32 {
  return pmtuMaxDatagram(to);
}

enum Sent { Ok, OverPathMtu, OutputFull }

/** Sends a frame to the peer at `addr`. */
function sendFrame(addr: usize, vnet: usize, frame: usize, len: u32): Sent {
  if (vnet == 0) {
    const room = frameRoom(addr);
    if (FRAME_HEADER_LEN + len > room) { count(Stat.FramesOverPathMtu); return Sent.OverPathMtu; }
    if (joinOpen(addr, frame, len, room)) return Sent.Ok;
  }
  const hdrLen = vnet != 0 ? VNET_HDR_LEN : 0;
  const dg = outputToAddr(OUT_DATAGRAM, addr, FRAME_HEADER_LEN + hdrLen + len);
  if (dg == 0) return Sent.OutputFull;
  store<u8>(dg + DG_VERSION, WIRE_VERSION);
  store<u8>(dg + DG_MESSAGE, MSG_FRAME);
  store<u8>(dg + DG_MESSAGE + FRAME_FLAGS, vnet != 0 ? FRAME_F_VNET : 0);
  if (vnet != 0) memory.copy(dg + FRAME_HEADER_LEN, vnet, VNET_HDR_LEN);
  memory.copy(dg + FRAME_HEADER_LEN + hdrLen, frame, len);
  count(Stat.DatagramsOut);
  openDg = vnet != 0 ? 0 : dg;
  openLen = FRAME_HEADER_LEN + len;
  openRecord = outputRecords();
  return Sent.Ok;
}

/** A FRAME message from a peer: `msg` points at its type byte, `msgLen` bytes are available. */
export function forwardFromPeer(msg: usize, msgLen: u32): void {
  if (msgLen < FRAME_PAYLOAD) { count(Stat.DatagramTruncated); return; }
  let frame = msg + FRAME_PAYLOAD;
  let len = msgLen - FRAME_PAYLOAD;
  let vnet: usize = 0;
  if ((load<u8>(msg + FRAME_FLAGS) & FRAME_F_VNET) != 0) {
    if (len < VNET_HDR_LEN) { count(Stat.DatagramTruncated); return; }
    // A GSO segment: only a TAP with a virtio-net header can take it whole.
    if (!config.tapVnetHdr) { count(Stat.FramesNeedVnet); return; }
    vnet = frame;
    frame += VNET_HDR_LEN;
    len -= VNET_HDR_LEN;
  }
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
  const hdrLen = config.tapVnetHdr ? VNET_HDR_LEN : 0;
  const out = outputReserve(OUT_FRAME, hdrLen + len);
  if (out == 0) return;
  if (vnet != 0) memory.copy(out, vnet, VNET_HDR_LEN);
  else if (hdrLen != 0) vnetClear(out);
  memory.copy(out + hdrLen, frame, len);
  count(Stat.FramesToTap);
}
