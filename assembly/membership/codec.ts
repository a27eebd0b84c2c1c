// Membership messages on the wire (types 0x10-0x1f), after hashicorp/memberlist.
// Every message is `u8 type, body`, big-endian. Readers check the length
// before any load and return false/0 on anything malformed; they never trap.
import { ADDR_LEN } from "../abi";
import { CLAIM_LEN, claimForm } from "../claims";
import { getU16, getU32, getU64, putU16, putU32, putU64 } from "../wire/bytes";

export const MSG_PING: u8 = 0x10;
export const MSG_PING_REQ: u8 = 0x11;
export const MSG_ACK: u8 = 0x12;
export const MSG_NACK: u8 = 0x13;
export const MSG_SUSPECT: u8 = 0x14;
export const MSG_ALIVE: u8 = 0x15;
export const MSG_DEAD: u8 = 0x16; // from == node means the node left
export const MSG_PUSH_PULL: u8 = 0x17;
export const MSG_MEMBERSHIP_FIRST: u8 = 0x10;
export const MSG_MEMBERSHIP_LAST: u8 = 0x1f;

/** The membership protocol version this core speaks, advertised in ALIVE (2: signed member info; 3: signed MAC claims). */
export const PROTOCOL_VERSION: u16 = 3;

// PING: u32 seq, u64 target id (a restarted node with a new id ignores it), u64 source id.
export const PING_SEQ: u32 = 1;
export const PING_TARGET: u32 = 5;
export const PING_SOURCE: u32 = 13;
export const PING_LEN: u32 = 21;

// PING_REQ: u32 seq, u64 target id, target address (18 bytes).
export const PING_REQ_SEQ: u32 = 1;
export const PING_REQ_TARGET: u32 = 5;
export const PING_REQ_ADDR: u32 = 13;
export const PING_REQ_LEN: u32 = 13 + ADDR_LEN;

// ACK and NACK: u32 seq.
export const ACK_SEQ: u32 = 1;
export const ACK_LEN: u32 = 5;

// SUSPECT and DEAD: u32 incarnation, u64 node, u64 from (the accuser), then the accuser's claim
// trailer: its key and its signature of the accusation's signed form (accusationForm).
export const ACCUSE_INCARNATION: u32 = 1;
export const ACCUSE_NODE: u32 = 5;
export const ACCUSE_FROM: u32 = 13;
export const ACCUSE_TRAILER: u32 = 21;
export const ACCUSE_LEN: u32 = ACCUSE_TRAILER + CLAIM_LEN;
/** The signed form: u8 type, u8 0, u16 0, u64 from (where claim_verify finds the signer), u64 node, u32 incarnation. */
const FORM_FROM: u32 = 4;
const FORM_NODE: u32 = 12;
const FORM_INCARNATION: u32 = 20;
export const ACCUSE_FORM_LEN: u32 = 24;

// Member info, the ALIVE body and (after a state byte) a push-pull entry:
// u32 incarnation, u64 id, address, u16 protocol, u32 capabilities, u8 name length, name,
// then the claim trailer (assembly/claims.ts): the member's public key and its signature of all before it.
export const INFO_INCARNATION: u32 = 0;
export const INFO_ID: u32 = 4;
export const INFO_ADDR: u32 = 12;
export const INFO_PROTOCOL: u32 = INFO_ADDR + ADDR_LEN;
export const INFO_CAPABILITIES: u32 = INFO_PROTOCOL + 2;
export const INFO_NAME_LEN: u32 = INFO_CAPABILITIES + 4;
export const INFO_NAME: u32 = INFO_NAME_LEN + 1;
export const NAME_MAX: u32 = 64;

// PUSH_PULL: u8 flags, u64 sender id, u16 part index, then sections of
// (u8 section type, u16 length, body). Each part is a self-contained datagram.
export const PUSH_PULL_FLAGS: u32 = 1;
export const PUSH_PULL_SENDER: u32 = 2;
export const PUSH_PULL_PART: u32 = 10;
export const PUSH_PULL_SECTIONS: u32 = 12;
export const SECTION_TYPE: u32 = 0;
export const SECTION_LEN: u32 = 1;
export const SECTION_HEADER: u32 = 3;
export const PUSH_PULL_RESPONSE: u8 = 1; // a reply: do not answer it
export const PUSH_PULL_JOIN: u8 = 2; // the sender is joining through us
export const PUSH_PULL_LAST: u8 = 4; // the last part of this exchange
export const SECTION_MEMBERS: u8 = 1; // entries: u8 state, member info
export const SECTION_MACS: u8 = 2; // entries: MAC_UPDATE with age (assembly/macgossip.ts)
// section 3: CANDIDATES (assembly/nat/nat.ts)
export const SECTION_DHCP: u8 = 4; // DHCP_RANGE and DHCP_LEASE messages (assembly/dhcp/gossip.ts)
// section 6: the unsigned IP bindings of before (type 0x21), retired: skipped as unknown
export const SECTION_BINDINGS: u8 = 7; // entries: signed IP_BINDING (assembly/bindsection.ts)

/** A decoded member info; `addr` and `namePtr` point into the message. */
export class MemberInfo {
  incarnation: u32 = 0;
  id: u64 = 0;
  addr: usize = 0;
  protocol: u16 = 0;
  capabilities: u32 = 0;
  namePtr: usize = 0;
  nameLen: u32 = 0;
  /** The whole info, trailer included: what the signature is checked over. */
  ptr: usize = 0;
  len: u32 = 0;
  /** The trailer: public key then signature (CLAIM_LEN bytes). */
  claimPtr: usize = 0;
}

/** Reads a member info from `len` bytes at `p`; returns the bytes used, 0 when malformed. */
export function readInfo(p: usize, len: u32, out: MemberInfo): u32 {
  if (len < INFO_NAME + CLAIM_LEN) return 0;
  const nameLen = <u32>load<u8>(p + INFO_NAME_LEN);
  if (nameLen > NAME_MAX || len - INFO_NAME - CLAIM_LEN < nameLen) return 0;
  out.incarnation = getU32(p + INFO_INCARNATION);
  out.id = getU64(p + INFO_ID);
  out.addr = p + INFO_ADDR;
  out.protocol = getU16(p + INFO_PROTOCOL);
  out.capabilities = getU32(p + INFO_CAPABILITIES);
  out.nameLen = nameLen;
  out.namePtr = p + INFO_NAME;
  out.ptr = p;
  out.len = INFO_NAME + nameLen + CLAIM_LEN;
  out.claimPtr = p + INFO_NAME + nameLen;
  return out.len;
}

/** Writes a member info with its claim trailer (`claim`, CLAIM_LEN bytes) at `p` if `cap` bytes suffice; returns the bytes used or 0. */
export function writeInfo(
  p: usize, cap: u32, incarnation: u32, id: u64, addr: usize,
  protocol: u16, capabilities: u32, namePtr: usize, nameLen: u32, claim: usize,
): u32 {
  const n = INFO_NAME + nameLen + CLAIM_LEN;
  if (cap < n) return 0;
  putU32(p + INFO_INCARNATION, incarnation);
  putU64(p + INFO_ID, id);
  memory.copy(p + INFO_ADDR, addr, ADDR_LEN);
  putU16(p + INFO_PROTOCOL, protocol);
  putU32(p + INFO_CAPABILITIES, capabilities);
  store<u8>(p + INFO_NAME_LEN, <u8>nameLen);
  memory.copy(p + INFO_NAME, namePtr, nameLen);
  memory.copy(p + INFO_NAME + nameLen, claim, CLAIM_LEN);
  return n;
}

/** Writes the signed form of an accusation into `claimForm` (assembly/claims.ts); returns its length. */
export function accusationForm(type: u8, incarnation: u32, node: u64, from: u64): u32 {
  const p = claimForm;
  store<u32>(p, type); // type, then three zero bytes
  putU64(p + FORM_FROM, from);
  putU64(p + FORM_NODE, node);
  putU32(p + FORM_INCARNATION, incarnation);
  return ACCUSE_FORM_LEN;
}

/** Writes SUSPECT or DEAD with the accuser's `trailer` (key, signature); returns ACCUSE_LEN or 0 when it does not fit. */
export function writeAccusation(
  p: usize, cap: u32, type: u8, incarnation: u32, node: u64, from: u64, trailer: usize,
): u32 {
  if (cap < ACCUSE_LEN) return 0;
  store<u8>(p, type);
  putU32(p + ACCUSE_INCARNATION, incarnation);
  putU64(p + ACCUSE_NODE, node);
  putU64(p + ACCUSE_FROM, from);
  memory.copy(p + ACCUSE_TRAILER, trailer, CLAIM_LEN);
  return ACCUSE_LEN;
}

export function writePing(p: usize, cap: u32, seq: u32, target: u64, source: u64): u32 {
  if (cap < PING_LEN) return 0;
  store<u8>(p, MSG_PING);
  putU32(p + PING_SEQ, seq);
  putU64(p + PING_TARGET, target);
  putU64(p + PING_SOURCE, source);
  return PING_LEN;
}

export function writePingReq(p: usize, cap: u32, seq: u32, target: u64, addr: usize): u32 {
  if (cap < PING_REQ_LEN) return 0;
  store<u8>(p, MSG_PING_REQ);
  putU32(p + PING_REQ_SEQ, seq);
  putU64(p + PING_REQ_TARGET, target);
  memory.copy(p + PING_REQ_ADDR, addr, ADDR_LEN);
  return PING_REQ_LEN;
}

/** ACK or NACK. */
export function writeAck(p: usize, cap: u32, type: u8, seq: u32): u32 {
  if (cap < ACK_LEN) return 0;
  store<u8>(p, type);
  putU32(p + ACK_SEQ, seq);
  return ACK_LEN;
}
