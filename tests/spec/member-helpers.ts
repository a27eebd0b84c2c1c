// Membership as the specs drive it: this node started, and member info written and signed as its
// member would (by the stand-in signatures the specs run with, tests/fixtures/claims-stub.mjs).
import { ADDR_LEN } from "../../assembly/abi";
import { CLAIM_LEN, claimFormSign, claimSign } from "../../assembly/claims";
import { macClaimForm, macCopyEncode, macMsgEncode } from "../../assembly/wire/macmsg";
import { IpAddr, bindClaimForm, bindMsgEncode } from "../../assembly/wire/bindmsg";
import { self } from "../../assembly/node";
import { MSG_ALIVE, accusationForm, writeAccusation, writeInfo } from "../../assembly/membership/codec";
import { membershipIdentity } from "../../assembly/membership/membership";

const blankClaim = heap.alloc(CLAIM_LEN);

/** A message buffer, a member's address and its 4-byte name, for specs that feed ALIVEs. */
export const msgBuf = heap.alloc(1024);
export const memberAddr = heap.alloc(ADDR_LEN);
export const memberName = heap.alloc(4);
memory.fill(memberAddr, 5, ADDR_LEN);
memory.fill(memberName, 0x63, 4);

/** Starts membership once as node 1000 (each spec file is its own module). */
export function startMember(): void {
  if (self.id != 0) return;
  self.id = 1000;
  memory.fill(self.addr, 1, ADDR_LEN);
  self.name = "me";
  membershipIdentity();
}

/** writeInfo, then signed as the member `id` would; returns the bytes used or 0. */
export function signedInfo(
  p: usize, cap: u32, incarnation: u32, id: u64, addr: usize, protocol: u16, capabilities: u32, namePtr: usize, nameLen: u32,
): u32 {
  const n = writeInfo(p, cap, incarnation, id, addr, protocol, capabilities, namePtr, nameLen, blankClaim);
  if (n != 0) claimSign(p, n);
  return n;
}

/** A signed ALIVE in `msgBuf` from member `id` at `memberAddr`; returns its length. */
export function signedAlive(incarnation: u32, id: u64): u32 {
  store<u8>(msgBuf, MSG_ALIVE);
  return 1 + signedInfo(msgBuf + 1, 512, incarnation, id, memberAddr, 2, 0, memberName, 4);
}

const macTrailer = heap.alloc(CLAIM_LEN);

/** The key and signature `owner` puts on its claim (mac, vlan) at `version`, in a buffer the next call reuses. */
export function macClaimTrailer(mac: u64, vlan: u32, owner: u64, version: u32): usize {
  claimFormSign(macClaimForm(mac, vlan, owner, version), macTrailer);
  return macTrailer;
}

/** A MAC_UPDATE signed by its owner (a copy with its age when `ageMs` >= 0); returns the bytes used or 0. */
export function signedMacUpdate(
  p: usize, cap: u32, mac: u64, vlan: u32, owner: u64, version: u32, flags: u8, ageMs: i64 = -1,
): u32 {
  const trailer = macClaimTrailer(mac, vlan, owner, version);
  return ageMs < 0
    ? macMsgEncode(p, cap, mac, vlan, owner, version, flags, trailer)
    : macCopyEncode(p, cap, mac, vlan, owner, version, flags, <u32>ageMs, trailer);
}

const bindTrailer = heap.alloc(CLAIM_LEN);

/** An IP_BINDING signed by its owner; returns its length or 0. */
export function signedBinding(
  p: usize, cap: u32, vlan: u32, ip: IpAddr, mac: u64, owner: u64, version: u32, router: bool,
): u32 {
  claimFormSign(bindClaimForm(vlan, ip, mac, owner, version, router), bindTrailer);
  return bindMsgEncode(p, cap, vlan, ip, mac, owner, version, router, bindTrailer);
}

const accuseTrailer = heap.alloc(CLAIM_LEN);

/** A SUSPECT or DEAD signed by its accuser `from` (the stand-in); returns its length or 0. */
export function signedAccusation(p: usize, cap: u32, type: u8, incarnation: u32, node: u64, from: u64): u32 {
  claimFormSign(accusationForm(type, incarnation, node, from), accuseTrailer);
  return writeAccusation(p, cap, type, incarnation, node, from, accuseTrailer);
}

/** The key and signature accuser `from` puts on its accusation, in a buffer the next call reuses. */
export function accusationTrailer(type: u8, incarnation: u32, node: u64, from: u64): usize {
  claimFormSign(accusationForm(type, incarnation, node, from), accuseTrailer);
  return accuseTrailer;
}
