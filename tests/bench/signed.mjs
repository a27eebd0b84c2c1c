// Datagrams from simulated peers for the benchmarks, signed with the stand-in signatures the cores
// run with outside a host (tests/fixtures/claims-stub.mjs): a member's ALIVE and an owner's MAC claim.
import { stubSignClaim } from "../fixtures/claims-stub.mjs";
import { WIRE_VERSION, concat } from "../fuzz/records.mjs";

const MSG_ALIVE = 0x15;
const MSG_MAC_UPDATE = 0x20;
const MAC_FORM_LEN = 22; // assembly/wire/macmsg.ts MAC_FORM_LEN: a MAC claim's signed form
const TRAILER = 96; // key + signature
const PROTOCOL = 3; // assembly/membership/codec.ts PROTOCOL_VERSION

function u64be(v) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v));
  return b;
}

/** An ALIVE datagram for member `id` at `slot` (20-byte address slot), incarnation 1. */
export function signedAlive(id, slot) {
  const name = new TextEncoder().encode(`peer${id}`);
  const info = new Uint8Array(4 + 8 + 18 + 2 + 4 + 1 + name.length + TRAILER);
  const v = new DataView(info.buffer);
  v.setUint32(0, 1);
  info.set(u64be(id), 4);
  info.set(slot.subarray(0, 18), 12);
  v.setUint16(30, PROTOCOL);
  info[36] = name.length;
  info.set(name, 37);
  stubSignClaim(info);
  return concat(Uint8Array.of(WIRE_VERSION, MSG_ALIVE), info);
}

/**
 * A MAC_UPDATE datagram: `owner` claims MAC `m` (6 bytes) at version 1, signed. `fromOwner`: an
 * announcement (relayed when news); otherwise a copy with age 0 (never relayed).
 */
export function signedMacUpdate(m, owner, fromOwner) {
  const form = new Uint8Array(MAC_FORM_LEN + TRAILER);
  form[0] = MSG_MAC_UPDATE;
  form.set(u64be(owner), 4);
  form.set(m, 12);
  new DataView(form.buffer).setUint32(18, 1);
  stubSignClaim(form);
  const msg = new Uint8Array(1 + 22 + TRAILER + (fromOwner ? 0 : 4));
  msg[0] = WIRE_VERSION;
  msg[1] = MSG_MAC_UPDATE;
  msg[2] = fromOwner ? 0x01 : 0;
  msg.set(m, 5);
  msg.set(u64be(owner), 11);
  new DataView(msg.buffer).setUint32(19, 1);
  msg.set(form.subarray(MAC_FORM_LEN), 23);
  return msg;
}
