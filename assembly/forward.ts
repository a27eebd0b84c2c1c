// The forwarding decision, like a learning bridge whose ports are nodes:
// a frame from our TAP is learnt from, then unicast to the node owning its
// destination or flooded to every alive peer; a frame from a peer goes to our
// TAP unless the table says another node owns its destination. Frames from
// peers are never sent on to other peers, so a flood cannot loop.
import { OUT_DATAGRAM, OUT_FRAME } from "./abi";
import { config } from "./config";
import { MAC_LOCAL, learnLocal, macFind, slotKind, slotOwner } from "./mactable";
import { self } from "./node";
import { peerAddr, peerAddrById, peerCount } from "./peers";
import { outputReserve, outputToAddr } from "./queue";
import { Stat, count } from "./stats";
import { DG_MESSAGE, DG_VERSION, FRAME_HEADER_LEN, FRAME_PAYLOAD, FRAME_RESERVED, MSG_FRAME, WIRE_VERSION } from "./wire/divs";
import { ETH_TRUNCATED, ethCheck, ethDst, ethSrc, ethVlan, macIsGroup } from "./wire/ethernet";

/** A frame read from our TAP at `now`. */
export function forwardFromTap(frame: usize, len: u32, now: f64): void {
  count(Stat.FramesFromTap);
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
  if (FRAME_HEADER_LEN + len > config.maxDatagram) { count(Stat.FramesTooBig); return; }
  if (to != 0) {
    if (sendFrame(to, frame, len)) count(Stat.FramesUnicast);
    return;
  }
  count(Stat.FramesFlooded);
  for (let i = 0, n = peerCount(); i < n; i++) {
    if (!sendFrame(peerAddr(i), frame, len)) break; // output full (counted)
  }
}

function sendFrame(addr: usize, frame: usize, len: u32): bool {
  const dg = outputToAddr(OUT_DATAGRAM, addr, FRAME_HEADER_LEN + len);
  if (dg == 0) return false;
  store<u8>(dg + DG_VERSION, WIRE_VERSION);
  store<u8>(dg + DG_MESSAGE, MSG_FRAME);
  store<u8>(dg + DG_MESSAGE + FRAME_RESERVED, 0);
  memory.copy(dg + FRAME_HEADER_LEN, frame, len);
  count(Stat.DatagramsOut);
  return true;
}

/** A FRAME message from a peer: `msg` points at its type byte, `msgLen` bytes are available. */
export function forwardFromPeer(msg: usize, msgLen: u32): void {
  if (msgLen < FRAME_PAYLOAD) { count(Stat.DatagramTruncated); return; }
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
  const out = outputReserve(OUT_FRAME, len);
  if (out == 0) return;
  memory.copy(out, frame, len);
  count(Stat.FramesToTap);
}
