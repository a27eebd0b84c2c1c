// Member state changes, as OUT_EVENT records for the host and as in-core
// hooks for modules that must react when a member is gone (the MAC table
// drops that member's entries).
//
// OUT_EVENT body (little-endian, docs/abi.md): u16 kind, u16 state, u32 incarnation,
// u64 node id, address slot (20), name UTF-8.
import { ADDR_LEN, ADDR_SLOT, OUT_EVENT } from "../abi";
import { self } from "../node";
import { outputReserve } from "../queue";
import { Member } from "./state";

export const EVENT_JOIN: u16 = 1; // a new member, or a dead/left one back
export const EVENT_UPDATE: u16 = 2; // metadata (name, address, capabilities) changed
export const EVENT_SUSPECT: u16 = 3;
export const EVENT_ALIVE: u16 = 4; // a suspect refuted the suspicion
export const EVENT_DEAD: u16 = 5;
export const EVENT_LEFT: u16 = 6;

export const EVENT_KIND: u32 = 0;
export const EVENT_STATE: u32 = 2;
export const EVENT_INCARNATION: u32 = 4;
export const EVENT_ID: u32 = 8;
export const EVENT_ADDR: u32 = 16;
export const EVENT_NAME: u32 = EVENT_ADDR + ADDR_SLOT;

const goneHooks = new Array<(id: u64) => void>();
const joinHooks = new Array<(id: u64) => void>();

/** Registers `fn` to run when another member becomes dead or leaves. */
export function onMemberGone(fn: (id: u64) => void): void {
  goneHooks.push(fn);
}

/** Registers `fn` to run when another member joins: a new one, or a dead or departed one back. */
export function onMemberJoin(fn: (id: u64) => void): void {
  joinHooks.push(fn);
}

export function emitMemberEvent(kind: u16, m: Member): void {
  const nameLen = <u32>m.name.byteLength;
  const body = outputReserve(OUT_EVENT, EVENT_NAME + nameLen);
  if (body != 0) {
    store<u16>(body + EVENT_KIND, kind);
    store<u16>(body + EVENT_STATE, <u16>m.state);
    store<u32>(body + EVENT_INCARNATION, m.incarnation);
    store<u64>(body + EVENT_ID, m.id);
    memory.copy(body + EVENT_ADDR, m.addr, ADDR_LEN);
    store<u16>(body + EVENT_ADDR + ADDR_LEN, 0);
    memory.copy(body + EVENT_NAME, changetype<usize>(m.name), nameLen);
  }
  if (m.id == self.id) return;
  const hooks = kind == EVENT_DEAD || kind == EVENT_LEFT ? goneHooks : kind == EVENT_JOIN ? joinHooks : null;
  if (hooks == null) return;
  for (let i = 0; i < hooks.length; i++) {
    const fn = unchecked(hooks[i]);
    fn(m.id);
  }
}
