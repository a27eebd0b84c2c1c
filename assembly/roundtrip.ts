// decode then re-encode one message with its codec, for the fuzzer's
// decode(encode(x)) == x check (tests/fuzz, docs/testing.md). Every message
// type with a codec needs a case here: the fuzzer fails when the core emits a
// message this cannot decode.
import { ETH_HEADER_LEN } from "./wire/ethernet";
import {
  CompoundReader, CompoundWriter, DG_MESSAGE, FRAME_PAYLOAD, FRAME_RESERVED, MSG_COMPOUND, MSG_FRAME,
} from "./wire/divs";
import { MSG_MAC_UPDATE, macMsgDecode, macMsgEncode, macUpdate } from "./wire/macmsg";

const reader = new CompoundReader();
const writer = new CompoundWriter();

/**
 * Decode the message of `len` bytes at `msg` (type byte first) and re-encode
 * it at `out` (at most `cap` bytes). Returns the re-encoded length, 0 when the
 * codec rejects the message or the type has no codec.
 */
export function codecRoundtrip(msg: usize, len: u32, out: usize, cap: u32): u32 {
  if (len == 0) return 0;
  return load<u8>(msg) == MSG_COMPOUND ? compound(msg, len, out, cap) : leaf(msg, len, out, cap);
}

function leaf(msg: usize, len: u32, out: usize, cap: u32): u32 {
  switch (load<u8>(msg)) {
    case MSG_FRAME: {
      // As forwardFromPeer takes it: the reserved byte is ignored, the frame needs an Ethernet header.
      if (len < FRAME_PAYLOAD + ETH_HEADER_LEN || len > cap) return 0;
      store<u8>(out, MSG_FRAME);
      store<u8>(out + FRAME_RESERVED, 0);
      memory.copy(out + FRAME_PAYLOAD, msg + FRAME_PAYLOAD, len - FRAME_PAYLOAD);
      return len;
    }
    case MSG_MAC_UPDATE:
      if (!macMsgDecode(msg, len)) return 0;
      return macMsgEncode(out, cap, macUpdate.mac, macUpdate.vlan, macUpdate.owner, macUpdate.version);
  }
  return 0;
}

/** Each item through its own codec; a compound inside a compound is rejected. */
function compound(msg: usize, len: u32, out: usize, cap: u32): u32 {
  if (!reader.reset(msg, len)) return 0;
  writer.begin(out, cap); // a datagram: version byte, then the message
  while (reader.next()) {
    if (load<u8>(reader.ptr) == MSG_COMPOUND) return 0;
    const n = leaf(reader.ptr, reader.len, writer.cursor(), writer.room());
    if (n == 0) return 0;
    writer.add(n);
  }
  if (reader.malformed) return 0;
  const dgLen = writer.finish();
  if (dgLen == 0) return 0;
  memory.copy(out, out + DG_MESSAGE, dgLen - DG_MESSAGE); // drop the version byte
  return dgLen - DG_MESSAGE;
}
