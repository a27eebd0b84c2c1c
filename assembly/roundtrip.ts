// decode then re-encode one message with its codec, for the fuzzer's
// decode(encode(x)) == x check (tests/fuzz, docs/testing.md). Every message
// type with a codec needs a case here: the fuzzer fails when the core emits a
// message this cannot decode.
import {
  ACCUSE_FROM, ACCUSE_INCARNATION, ACCUSE_LEN, ACCUSE_NODE, ACCUSE_TRAILER, ACK_LEN, ACK_SEQ, MSG_ACK, MSG_ALIVE, MSG_DEAD, MSG_NACK,
  MSG_PING, MSG_PING_REQ, MSG_PUSH_PULL, MSG_SUSPECT, MemberInfo, PING_LEN, PING_REQ_ADDR, PING_REQ_LEN,
  PING_REQ_SEQ, PING_REQ_TARGET, PING_SEQ, PING_SOURCE, PING_TARGET, PUSH_PULL_FLAGS, PUSH_PULL_PART,
  PUSH_PULL_SECTIONS, PUSH_PULL_SENDER, SECTION_HEADER, SECTION_LEN, SECTION_MACS, SECTION_MEMBERS, SECTION_TYPE,
  readInfo, writeAccusation, writeAck, writeInfo, writePing, writePingReq,
} from "./membership/codec";
import { MemberState } from "./membership/state";
import { getU16, getU32, getU64, putU16, putU64 } from "./wire/bytes";
import { ETH_HEADER_LEN } from "./wire/ethernet";
import {
  CompoundReader, CompoundWriter, DG_MESSAGE, FRAME_F_VNET, FRAME_FLAGS, FRAME_PAYLOAD, MSG_COMPOUND, MSG_FRAME,
} from "./wire/divs";
import { MSG_IP_BINDING, bindMsgDecode, bindMsgEncode, bindUpdate } from "./wire/bindmsg";
import {
  LeaseRecord, MSG_DHCP_LEASE, MSG_DHCP_RANGE, RangeToken, leaseDecode, leaseEncode, leaseLength, rangeDecode, rangeEncode,
} from "./wire/dhcpmsg";
import { MACMSG_COPY_LEN, MSG_MAC_UPDATE, macCopyEncode, macMsgDecode, macMsgEncode, macUpdate } from "./wire/macmsg";
import { WireCheck } from "./wire/check";
import { natRoundtrip } from "./wire/nat-roundtrip";
import {
  MSG_PMTU_ACK, MSG_PMTU_PROBE, pmtuAckCheck, pmtuAckEmit, pmtuAckSize, pmtuProbeCheck, pmtuProbeEmit, pmtuSeq,
} from "./wire/pmtu";

const info = new MemberInfo();
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
      // As forwardFromPeer takes it: the retired VNET flag is refused, other flags are ignored, and
      // the frame needs an Ethernet header.
      if ((load<u8>(msg + FRAME_FLAGS) & FRAME_F_VNET) != 0 || len < FRAME_PAYLOAD + ETH_HEADER_LEN || len > cap) return 0;
      store<u8>(out, MSG_FRAME);
      store<u8>(out + FRAME_FLAGS, 0);
      memory.copy(out + FRAME_PAYLOAD, msg + FRAME_PAYLOAD, len - FRAME_PAYLOAD);
      return len;
    }
    case MSG_MAC_UPDATE:
      if (!macMsgDecode(msg, len)) return 0;
      return macUpdateReencode(out, cap);
    case MSG_IP_BINDING: {
      if (!bindMsgDecode(msg, len)) return 0;
      const u = bindUpdate;
      return bindMsgEncode(out, cap, u.vlan, u.ip, u.mac, u.owner, u.version, u.router, u.trailer);
    }
    case MSG_PMTU_PROBE: // as a lone message: its datagram is one version byte longer
      if (pmtuProbeCheck(len, DG_MESSAGE + len) != WireCheck.Ok || len > cap) return 0;
      return pmtuProbeEmit(out, len, pmtuSeq(msg));
    case MSG_PMTU_ACK:
      if (pmtuAckCheck(len) != WireCheck.Ok) return 0;
      return pmtuAckEmit(out, cap, pmtuSeq(msg), pmtuAckSize(msg));
    case MSG_PING:
      if (len < PING_LEN) return 0;
      return writePing(out, cap, getU32(msg + PING_SEQ), getU64(msg + PING_TARGET), getU64(msg + PING_SOURCE));
    case MSG_PING_REQ:
      if (len < PING_REQ_LEN) return 0;
      return writePingReq(out, cap, getU32(msg + PING_REQ_SEQ), getU64(msg + PING_REQ_TARGET), msg + PING_REQ_ADDR);
    case MSG_ACK:
    case MSG_NACK:
      if (len < ACK_LEN) return 0;
      return writeAck(out, cap, load<u8>(msg), getU32(msg + ACK_SEQ));
    case MSG_SUSPECT:
    case MSG_DEAD:
      if (len < ACCUSE_LEN) return 0;
      return writeAccusation(
        out, cap, load<u8>(msg), getU32(msg + ACCUSE_INCARNATION), getU64(msg + ACCUSE_NODE), getU64(msg + ACCUSE_FROM),
        msg + ACCUSE_TRAILER,
      );
    case MSG_ALIVE: {
      if (cap < 1 || readInfo(msg + 1, len - 1, info) == 0) return 0;
      store<u8>(out, MSG_ALIVE);
      const n = rewriteInfo(out + 1, cap - 1);
      return n == 0 ? 0 : 1 + n;
    }
    case MSG_PUSH_PULL:
      return pushPull(msg, len, out, cap);
    case MSG_DHCP_RANGE:
      if (!rangeDecode(msg, len, rangeToken)) return 0;
      return rangeEncode(out, cap, rangeToken);
    case MSG_DHCP_LEASE:
      if (leaseLength(msg, len) != len) return 0;
      leaseDecode(msg, leaseRecord);
      return leaseEncode(out, cap, leaseRecord);
  }
  return natRoundtrip(msg, len, out, cap);
}

const rangeToken = new RangeToken();
const leaseRecord = new LeaseRecord();

function rewriteInfo(out: usize, cap: u32): u32 {
  return writeInfo(out, cap, info.incarnation, info.id, info.addr, info.protocol, info.capabilities, info.namePtr, info.nameLen, info.claimPtr);
}

/** Header fields, then each section; member entries through the member codec, other sections verbatim. */
function pushPull(msg: usize, len: u32, out: usize, cap: u32): u32 {
  if (len < PUSH_PULL_SECTIONS || len > cap) return 0;
  store<u8>(out, MSG_PUSH_PULL);
  store<u8>(out + PUSH_PULL_FLAGS, load<u8>(msg + PUSH_PULL_FLAGS));
  putU64(out + PUSH_PULL_SENDER, getU64(msg + PUSH_PULL_SENDER));
  putU16(out + PUSH_PULL_PART, getU16(msg + PUSH_PULL_PART));
  let off = PUSH_PULL_SECTIONS;
  while (off < len) {
    if (len - off < SECTION_HEADER) return 0;
    const type = load<u8>(msg + off + SECTION_TYPE);
    const n = <u32>getU16(msg + off + SECTION_LEN);
    if (n > len - off - SECTION_HEADER) return 0;
    const body = msg + off + SECTION_HEADER;
    const outBody = out + off + SECTION_HEADER;
    if (type == SECTION_MEMBERS) {
      if (!memberEntries(body, n, outBody)) return 0;
    } else if (type == SECTION_MACS) {
      if (!macEntries(body, n, outBody)) return 0;
    } else {
      memory.copy(outBody, body, n);
    }
    store<u8>(out + off + SECTION_TYPE, type);
    putU16(out + off + SECTION_LEN, <u16>n);
    off += SECTION_HEADER + n;
  }
  return len;
}

/** Member entries (u8 state, member info) filling exactly `len` bytes, re-encoded at `out`. */
function memberEntries(p: usize, len: u32, out: usize): bool {
  let off: u32 = 0;
  while (off < len) {
    const state = load<u8>(p + off);
    const n = readInfo(p + off + 1, len - off - 1, info);
    if (n == 0 || state > <u8>MemberState.Left) return false;
    store<u8>(out + off, state);
    if (rewriteInfo(out + off + 1, n) != n) return false;
    off += 1 + n;
  }
  return true;
}

/** MAC_UPDATE with its age field present or not, as decoded (unknown flag bits dropped). */
function macUpdateReencode(out: usize, cap: u32): u32 {
  const u = macUpdate;
  return u.hasAge
    ? macCopyEncode(out, cap, u.mac, u.vlan, u.owner, u.version, u.flags, u.age, u.trailer)
    : macMsgEncode(out, cap, u.mac, u.vlan, u.owner, u.version, u.flags, u.trailer);
}

/** MAC section entries (MAC_UPDATE with age, MACMSG_COPY_LEN bytes each) filling exactly `len` bytes. */
function macEntries(p: usize, len: u32, out: usize): bool {
  if (len % MACMSG_COPY_LEN != 0) return false;
  for (let off: u32 = 0; off < len; off += MACMSG_COPY_LEN) {
    if (!macMsgDecode(p + off, MACMSG_COPY_LEN) || macUpdateReencode(out + off, MACMSG_COPY_LEN) != MACMSG_COPY_LEN) return false;
  }
  return true;
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
