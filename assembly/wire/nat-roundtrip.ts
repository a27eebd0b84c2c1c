// decode then re-encode a path message (0x40-0x46) with its writer, for the
// fuzzer's decode(encode(x)) == x check (assembly/roundtrip.ts).
import { getU32, getU64 } from "./bytes";
import {
  CANDIDATES_ADDRS, CANDIDATES_COUNT, CANDIDATES_NAT, CANDIDATES_NODE, CANDIDATES_VERSION, MSG_CANDIDATES,
  MSG_OBSERVED, MSG_PATH_PING, MSG_PATH_PONG, MSG_RELAY_OK, MSG_RELAY_REQUEST, MSG_RENDEZVOUS, OBSERVED_ADDR,
  PATH_PONG_OBSERVED, RELAY_OK_GRANTED, RENDEZVOUS_ADDRS, RENDEZVOUS_COUNT, RENDEZVOUS_FLAGS, RENDEZVOUS_PEER,
  natMessageLength, pathPingTarget, pathSender, pathSeq, relayPeer, writeCandidates, writeObserved, writePathPing,
  writePathPong, writeRelayOk, writeRelayRequest, writeRendezvous,
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
  }
  return 0;
}
