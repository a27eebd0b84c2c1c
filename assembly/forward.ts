// The forwarding decision, like a learning bridge whose ports are nodes:
// a frame from our TAP is learnt from, then unicast to the node owning its
// destination or flooded to every alive peer; a frame from a peer goes to our
// TAP unless the table says another node owns its destination. Frames from
// peers are never sent on to other peers, so a flood cannot loop.
// With config.tapVnetHdr the TAP's frames carry a virtio-net header: GSO segments travel with it as
// one FRAME (flag VNET), other frames have their checksum finished here and travel plain.
import { OUT_DATAGRAM, OUT_FRAME } from "./abi";
import { config } from "./config";
import { MAC_LOCAL, learnLocal, macFind, slotKind, slotOwner } from "./mactable";
import { self } from "./node";
import { peerAddr, peerAddrById, peerCount } from "./peers";
import { outputReserve, outputToAddr } from "./queue";
import { Stat, count } from "./stats";
import { DG_MESSAGE, DG_VERSION, FRAME_F_VNET, FRAME_FLAGS, FRAME_HEADER_LEN, FRAME_PAYLOAD, MSG_FRAME, WIRE_VERSION } from "./wire/divs";
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
    if (sendFrame(to, vnet, frame, len)) count(Stat.FramesUnicast);
    return;
  }
  count(Stat.FramesFlooded);
  for (let i = 0, n = peerCount(); i < n; i++) {
    if (!sendFrame(peerAddr(i), vnet, frame, len)) break; // output full (counted)
  }
}

function sendFrame(addr: usize, vnet: usize, frame: usize, len: u32): bool {
  const hdrLen = vnet != 0 ? VNET_HDR_LEN : 0;
  const dg = outputToAddr(OUT_DATAGRAM, addr, FRAME_HEADER_LEN + hdrLen + len);
  if (dg == 0) return false;
  store<u8>(dg + DG_VERSION, WIRE_VERSION);
  store<u8>(dg + DG_MESSAGE, MSG_FRAME);
  store<u8>(dg + DG_MESSAGE + FRAME_FLAGS, vnet != 0 ? FRAME_F_VNET : 0);
  if (vnet != 0) memory.copy(dg + FRAME_HEADER_LEN, vnet, VNET_HDR_LEN);
  memory.copy(dg + FRAME_HEADER_LEN + hdrLen, frame, len);
  count(Stat.DatagramsOut);
  return true;
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
