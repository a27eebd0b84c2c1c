// PMTU_PROBE and PMTU_ACK: path MTU discovery between two nodes (docs/pmtu.md). Big-endian:
//
//   PMTU_PROBE: u8 type 0x30, u32 seq, zero padding     always a lone message: the datagram's
//               length (version byte included) is the size probed, at least PMTU_PROBE_MIN
//   PMTU_ACK:   u8 type 0x31, u32 seq, u16 size         = 7 bytes; size = the probe datagram's length
//
// A probe is never smaller than the datagram answering it, so answering one amplifies nothing.
import { DG_MESSAGE } from "./divs";
import { getU16, getU32, putU16, putU32 } from "./bytes";
import { WireCheck } from "./check";

export const MSG_PMTU_PROBE: u8 = 0x30;
export const MSG_PMTU_ACK: u8 = 0x31;

// Offsets within the message (after the datagram's version byte).
export const PMTU_SEQ: u32 = 1;
export const PMTU_PROBE_HEADER: u32 = 5;
export const PMTU_ACK_SIZE: u32 = 5;
export const PMTU_ACK_LEN: u32 = 7;

/** The smallest probe datagram: one as long as the ACK datagram it asks for. */
export const PMTU_PROBE_MIN: u32 = DG_MESSAGE + PMTU_ACK_LEN;
/** The largest size an ACK can state. */
export const PMTU_PROBE_MAX: u32 = 0xffff;

/** A lone PMTU_PROBE message of `msgLen` bytes in a datagram of `dgLen` bytes. */
export function pmtuProbeCheck(msgLen: u32, dgLen: u32): WireCheck {
  if (msgLen < PMTU_PROBE_HEADER) return WireCheck.Truncated;
  if (dgLen < PMTU_PROBE_MIN || dgLen > PMTU_PROBE_MAX) return WireCheck.Malformed;
  return WireCheck.Ok;
}

// @ts-ignore: decorator
@inline export function pmtuSeq(msg: usize): u32 { return getU32(msg + PMTU_SEQ); }

/**
 * Writes a PMTU_PROBE message of exactly `msgLen` bytes at `msg` (the datagram's version byte goes
 * before it: the probed size is `DG_MESSAGE + msgLen`); returns `msgLen`, or 0 when out of range.
 */
export function pmtuProbeEmit(msg: usize, msgLen: u32, seq: u32): u32 {
  if (msgLen + DG_MESSAGE < PMTU_PROBE_MIN || msgLen + DG_MESSAGE > PMTU_PROBE_MAX) return 0;
  store<u8>(msg, MSG_PMTU_PROBE);
  putU32(msg + PMTU_SEQ, seq);
  memory.fill(msg + PMTU_PROBE_HEADER, 0, msgLen - PMTU_PROBE_HEADER);
  return msgLen;
}

export function pmtuAckCheck(msgLen: u32): WireCheck {
  return msgLen < PMTU_ACK_LEN ? WireCheck.Truncated : WireCheck.Ok;
}

// @ts-ignore: decorator
@inline export function pmtuAckSize(msg: usize): u32 { return <u32>getU16(msg + PMTU_ACK_SIZE); }

/** Writes a PMTU_ACK message at `msg` if `cap` bytes allow; returns its length or 0. */
export function pmtuAckEmit(msg: usize, cap: u32, seq: u32, size: u32): u32 {
  if (cap < PMTU_ACK_LEN || size > PMTU_PROBE_MAX) return 0;
  store<u8>(msg, MSG_PMTU_ACK);
  putU32(msg + PMTU_SEQ, seq);
  putU16(msg + PMTU_ACK_SIZE, <u16>size);
  return PMTU_ACK_LEN;
}
