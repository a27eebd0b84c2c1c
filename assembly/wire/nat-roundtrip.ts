// decode then re-encode a path message (0x40-0x48) with its writer, for the
// fuzzer's decode(encode(x)) == x check (assembly/roundtrip.ts).
import { getU16, getU32, getU64 } from "./bytes";
import {
  CANDIDATES_ADDRS, CANDIDATES_COUNT, CANDIDATES_NAT, CANDIDATES_NODE, CANDIDATES_VERSION, MSG_CANDIDATES,
  MSG_OBSERVED, MSG_PATH_PING, MSG_PATH_PONG, MSG_PATHS_QUERY, MSG_PATHS_REPORT, MSG_RELAY_OK, MSG_RELAY_REQUEST, MSG_RENDEZVOUS, OBSERVED_ADDR,
  PATH_PONG_OBSERVED, PATHS_ENTRY_LEN, PATHS_QUERY_SEQ, PATHS_QUERY_START, PATHS_REPORT_COUNT, PATHS_REPORT_ENTRIES,
  PATHS_REPORT_SEQ, PATHS_REPORT_START, PATHS_REPORT_TOTAL, RELAY_OK_GRANTED, RENDEZVOUS_ADDRS, RENDEZVOUS_COUNT, RENDEZVOUS_FLAGS, RENDEZVOUS_PEER,
  natMessageLength, pathPingTarget, pathSender, pathSeq, relayPeer, writeCandidates, writeObserved, writePathPing,
  writePathPong, writePathsQuery, writePathsReportHeader, writeRelayOk, writeRelayRequest, writeRendezvous,
} from "./nat";

/** Re-encodes the path message of `len` bytes at `msg` at `out`; 0 when it is not a well-formed one. */
export function natRoundtrip(msg: usize, len: u32, out: usize, cap: u32): u32 {
  if (natMessageLength(msg, len) == 0) return 0;
  switch (load<u8>(msg)) {
    case MSG_PATH_PING: return writePathPing(out, cap, pathSeq(msg), pathSender(msg), pathPingTarget(msg));
    case MSG_PATH_PONG: return writePathPong(out, cap, pathSeq(msg), pathSender(msg), msg + PATH_PONG_OBSERVED);
    case MSG_OBSERVED: return writeObserved(out, cap, msg + OBSERVED_ADDR);
    case MSG_CANDIDATES:
      return writeCandidates(out, cap, getU64(msg + CANDIDATES_NODE), getU32(msg + CANDIDATES_VERSION),
        load<u8>(msg + CANDIDATES_NAT), msg + CANDIDATES_ADDRS, <u32>load<u8>(msg + CANDIDATES_COUNT));
    case MSG_RENDEZVOUS:
      return writeRendezvous(out, cap, getU64(msg + RENDEZVOUS_PEER), load<u8>(msg + RENDEZVOUS_FLAGS),
        msg + RENDEZVOUS_ADDRS, <u32>load<u8>(msg + RENDEZVOUS_COUNT));
    case MSG_RELAY_REQUEST: return writeRelayRequest(out, cap, relayPeer(msg));
    case MSG_RELAY_OK: return writeRelayOk(out, cap, relayPeer(msg), load<u8>(msg + RELAY_OK_GRANTED) == 1);
    case MSG_PATHS_QUERY: return writePathsQuery(out, cap, getU32(msg + PATHS_QUERY_SEQ), <u32>getU16(msg + PATHS_QUERY_START));
    case MSG_PATHS_REPORT: {
      // The entries are fixed-size fields natMessageLength checked: copied as they are.
      if (len > cap) return 0;
      const n = <u32>load<u8>(msg + PATHS_REPORT_COUNT);
      writePathsReportHeader(out, getU32(msg + PATHS_REPORT_SEQ), <u32>getU16(msg + PATHS_REPORT_TOTAL), <u32>getU16(msg + PATHS_REPORT_START), n);
      memory.copy(out + PATHS_REPORT_ENTRIES, msg + PATHS_REPORT_ENTRIES, n * PATHS_ENTRY_LEN);
      return PATHS_REPORT_ENTRIES + n * PATHS_ENTRY_LEN;
    }
  }
  return 0;
}
