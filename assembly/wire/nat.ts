// Path messages across NATs (types 0x40-0x4f, docs/wire.md "Paths across NATs"):
// probes on candidate endpoints, observed addresses, candidate lists,
// rendezvous and relay requests. Big-endian; every reader checks the length
// first and returns false on anything malformed.
import { ADDR_LEN } from "../abi";
import { getU32, getU64, putU16, putU32, putU64 } from "./bytes";

export const MSG_PATH_PING: u8 = 0x40;
export const MSG_PATH_PONG: u8 = 0x41;
export const MSG_OBSERVED: u8 = 0x42;
export const MSG_CANDIDATES: u8 = 0x43;
export const MSG_RENDEZVOUS: u8 = 0x44;
export const MSG_RELAY_REQUEST: u8 = 0x45;
export const MSG_RELAY_OK: u8 = 0x46;
export const MSG_PATHS_QUERY: u8 = 0x47;
export const MSG_PATHS_REPORT: u8 = 0x48;
export const MSG_NAT_FIRST: u8 = 0x40;
export const MSG_NAT_LAST: u8 = 0x4f;

/** Candidate addresses a list carries at most. */
export const CANDIDATES_MAX: u32 = 8;

// PATH_PING: u32 seq, u64 sender id, u64 target id.
export const PATH_PING_SEQ: u32 = 1;
export const PATH_PING_SENDER: u32 = 5;
export const PATH_PING_TARGET: u32 = 13;
export const PATH_PING_LEN: u32 = 21;

// PATH_PONG: u32 seq, u64 sender id, address the ping came from (what the pinger looks like to us).
export const PATH_PONG_SEQ: u32 = 1;
export const PATH_PONG_SENDER: u32 = 5;
export const PATH_PONG_OBSERVED: u32 = 13;
export const PATH_PONG_LEN: u32 = 13 + ADDR_LEN;

// OBSERVED: the address the receiver's datagram came from.
export const OBSERVED_ADDR: u32 = 1;
export const OBSERVED_LEN: u32 = 1 + ADDR_LEN;

// CANDIDATES: u64 node id, u32 version, u8 NAT guess, u8 count, count addresses.
export const CANDIDATES_NODE: u32 = 1;
export const CANDIDATES_VERSION: u32 = 9;
export const CANDIDATES_NAT: u32 = 13;
export const CANDIDATES_COUNT: u32 = 14;
export const CANDIDATES_ADDRS: u32 = 15;

// RENDEZVOUS: u64 peer id, u8 flags, u8 count, count addresses (the peer's candidates).
export const RENDEZVOUS_PEER: u32 = 1;
export const RENDEZVOUS_FLAGS: u32 = 9;
export const RENDEZVOUS_COUNT: u32 = 10;
export const RENDEZVOUS_ADDRS: u32 = 11;
/** Set: "introduce me to this peer" (to the common member); clear: "ping these candidates now". */
export const RENDEZVOUS_F_ASK: u8 = 1;

// RELAY_REQUEST: u64 peer id. RELAY_OK: u64 peer id, u8 granted (0: refused or revoked).
export const RELAY_PEER: u32 = 1;
export const RELAY_REQUEST_LEN: u32 = 9;
export const RELAY_OK_GRANTED: u32 = 9;
export const RELAY_OK_LEN: u32 = 10;

/** NAT guesses (OUT_SELF, CANDIDATES). */
// PATHS_QUERY: u32 seq, u16 start (the first path wanted: a long list comes in pages).
export const PATHS_QUERY_SEQ: u32 = 1;
export const PATHS_QUERY_START: u32 = 5;
export const PATHS_QUERY_LEN: u32 = 7;
// PATHS_REPORT: u32 seq (the query's), u16 total paths, u16 start, u8 count, then count entries.
export const PATHS_REPORT_SEQ: u32 = 1;
export const PATHS_REPORT_TOTAL: u32 = 5;
export const PATHS_REPORT_START: u32 = 7;
export const PATHS_REPORT_COUNT: u32 = 9;
export const PATHS_REPORT_ENTRIES: u32 = 10;
// One entry: u64 peer, u8 kind (0 none yet, 1 direct, 2 relay), u64 relay (0: none), u32 RTT us (0xffffffff: unknown).
export const PATHS_ENTRY_PEER: u32 = 0;
export const PATHS_ENTRY_KIND: u32 = 8;
export const PATHS_ENTRY_RELAY: u32 = 9;
export const PATHS_ENTRY_RTT: u32 = 17;
export const PATHS_ENTRY_LEN: u32 = 21;
export const PATHS_RTT_UNKNOWN: u32 = 0xffffffff;

export const NAT_UNKNOWN: u8 = 0;
export const NAT_NONE: u8 = 1;
export const NAT_CONE: u8 = 2;
export const NAT_SYMMETRIC: u8 = 3;

export function writePathPing(p: usize, cap: u32, seq: u32, sender: u64, target: u64): u32 {
  if (cap < PATH_PING_LEN) return 0;
  store<u8>(p, MSG_PATH_PING);
  putU32(p + PATH_PING_SEQ, seq);
  putU64(p + PATH_PING_SENDER, sender);
  putU64(p + PATH_PING_TARGET, target);
  return PATH_PING_LEN;
}

export function writePathPong(p: usize, cap: u32, seq: u32, sender: u64, observed: usize): u32 {
  if (cap < PATH_PONG_LEN) return 0;
  store<u8>(p, MSG_PATH_PONG);
  putU32(p + PATH_PONG_SEQ, seq);
  putU64(p + PATH_PONG_SENDER, sender);
  memory.copy(p + PATH_PONG_OBSERVED, observed, ADDR_LEN);
  return PATH_PONG_LEN;
}

export function writeObserved(p: usize, cap: u32, addr: usize): u32 {
  if (cap < OBSERVED_LEN) return 0;
  store<u8>(p, MSG_OBSERVED);
  memory.copy(p + OBSERVED_ADDR, addr, ADDR_LEN);
  return OBSERVED_LEN;
}

/** Address list messages (CANDIDATES, RENDEZVOUS): `addrs` is `count` packed addresses. */
export function writeCandidates(p: usize, cap: u32, node: u64, version: u32, nat: u8, addrs: usize, count: u32): u32 {
  const n = CANDIDATES_ADDRS + count * ADDR_LEN;
  if (count > CANDIDATES_MAX || cap < n) return 0;
  store<u8>(p, MSG_CANDIDATES);
  putU64(p + CANDIDATES_NODE, node);
  putU32(p + CANDIDATES_VERSION, version);
  store<u8>(p + CANDIDATES_NAT, nat);
  store<u8>(p + CANDIDATES_COUNT, <u8>count);
  memory.copy(p + CANDIDATES_ADDRS, addrs, count * ADDR_LEN);
  return n;
}

export function writeRendezvous(p: usize, cap: u32, peer: u64, flags: u8, addrs: usize, count: u32): u32 {
  const n = RENDEZVOUS_ADDRS + count * ADDR_LEN;
  if (count > CANDIDATES_MAX || cap < n) return 0;
  store<u8>(p, MSG_RENDEZVOUS);
  putU64(p + RENDEZVOUS_PEER, peer);
  store<u8>(p + RENDEZVOUS_FLAGS, flags);
  store<u8>(p + RENDEZVOUS_COUNT, <u8>count);
  memory.copy(p + RENDEZVOUS_ADDRS, addrs, count * ADDR_LEN);
  return n;
}

export function writeRelayRequest(p: usize, cap: u32, peer: u64): u32 {
  if (cap < RELAY_REQUEST_LEN) return 0;
  store<u8>(p, MSG_RELAY_REQUEST);
  putU64(p + RELAY_PEER, peer);
  return RELAY_REQUEST_LEN;
}

export function writeRelayOk(p: usize, cap: u32, peer: u64, granted: bool): u32 {
  if (cap < RELAY_OK_LEN) return 0;
  store<u8>(p, MSG_RELAY_OK);
  putU64(p + RELAY_PEER, peer);
  store<u8>(p + RELAY_OK_GRANTED, granted ? 1 : 0);
  return RELAY_OK_LEN;
}

export function writePathsQuery(p: usize, cap: u32, seq: u32, start: u32): u32 {
  if (cap < PATHS_QUERY_LEN) return 0;
  store<u8>(p, MSG_PATHS_QUERY);
  putU32(p + PATHS_QUERY_SEQ, seq);
  putU16(p + PATHS_QUERY_START, <u16>start);
  return PATHS_QUERY_LEN;
}

/** The header of a PATHS_REPORT; its `count` entries follow, written by the caller. */
export function writePathsReportHeader(p: usize, seq: u32, total: u32, start: u32, count: u32): void {
  store<u8>(p, MSG_PATHS_REPORT);
  putU32(p + PATHS_REPORT_SEQ, seq);
  putU16(p + PATHS_REPORT_TOTAL, <u16>total);
  putU16(p + PATHS_REPORT_START, <u16>start);
  store<u8>(p + PATHS_REPORT_COUNT, <u8>count);
}

/** Exact length of a well-formed message of a path type, 0 when `len` bytes at `p` are not one. */
export function natMessageLength(p: usize, len: u32): u32 {
  if (len < 1) return 0;
  let want: u32 = 0;
  switch (load<u8>(p)) {
    case MSG_PATH_PING: want = PATH_PING_LEN; break;
    case MSG_PATH_PONG: want = PATH_PONG_LEN; break;
    case MSG_OBSERVED: want = OBSERVED_LEN; break;
    case MSG_RELAY_REQUEST: want = RELAY_REQUEST_LEN; break;
    case MSG_RELAY_OK:
      if (len < RELAY_OK_LEN || load<u8>(p + RELAY_OK_GRANTED) > 1) return 0;
      want = RELAY_OK_LEN;
      break;
    case MSG_CANDIDATES: {
      if (len < CANDIDATES_ADDRS) return 0;
      const count = <u32>load<u8>(p + CANDIDATES_COUNT);
      if (count > CANDIDATES_MAX || load<u8>(p + CANDIDATES_NAT) > NAT_SYMMETRIC) return 0;
      want = CANDIDATES_ADDRS + count * ADDR_LEN;
      break;
    }
    case MSG_PATHS_QUERY: want = PATHS_QUERY_LEN; break;
    case MSG_PATHS_REPORT: {
      if (len < PATHS_REPORT_ENTRIES) return 0;
      const count = <u32>load<u8>(p + PATHS_REPORT_COUNT);
      want = PATHS_REPORT_ENTRIES + count * PATHS_ENTRY_LEN;
      if (len != want) return 0;
      for (let i: u32 = 0; i < count; i++) {
        if (load<u8>(p + PATHS_REPORT_ENTRIES + i * PATHS_ENTRY_LEN + PATHS_ENTRY_KIND) > 2) return 0;
      }
      break;
    }
    case MSG_RENDEZVOUS: {
      if (len < RENDEZVOUS_ADDRS) return 0;
      const count = <u32>load<u8>(p + RENDEZVOUS_COUNT);
      if (count > CANDIDATES_MAX || load<u8>(p + RENDEZVOUS_FLAGS) > RENDEZVOUS_F_ASK) return 0;
      want = RENDEZVOUS_ADDRS + count * ADDR_LEN;
      break;
    }
    default:
      return 0;
  }
  return len == want ? want : 0;
}

// Field readers for a message `natMessageLength` accepted.
export function pathSeq(p: usize): u32 { return getU32(p + PATH_PING_SEQ); }
export function pathSender(p: usize): u64 { return getU64(p + PATH_PING_SENDER); }
export function pathPingTarget(p: usize): u64 { return getU64(p + PATH_PING_TARGET); }
export function relayPeer(p: usize): u64 { return getU64(p + RELAY_PEER); }
