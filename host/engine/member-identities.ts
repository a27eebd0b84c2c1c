// Keeps the transport's expected identities (SecureTransport.expectIdentity, docs/security.md
// "Identity") in step with the members the core knows: from each OUT_EVENT, the member's node id at
// its address while it is a member, none once it is dead or gone or has moved elsewhere; a member
// that moved takes its sessions along (SecureTransport.memberMoved).
import { keyOfAddress, ADDR_LEN } from "../net/address.ts";
import type { AddrKey, SecureTransport } from "../secure/index.ts";

// OUT_EVENT body (docs/abi.md): u16 kind, u16 state, u32 incarnation, u64 id, address slot, name.
const EVENT_DEAD = 5;
const EVENT_LEFT = 6;
const OFF_ID = 8;
const OFF_ADDR = 16;

export class MemberIdentities {
  /** Node id (as latin1 text) -> the address it was expected at. */
  private readonly addressOf = new Map<string, { key: AddrKey; addr: Uint8Array }>();

  constructor(private readonly secure: SecureTransport) {}

  event(body: Uint8Array, now: number): void {
    if (body.length < OFF_ADDR + ADDR_LEN) return;
    const kind = body[0] | (body[1] << 8);
    const id = body.subarray(OFF_ID, OFF_ID + 8);
    const idText = String.fromCharCode(...id);
    const addr = body.subarray(OFF_ADDR, OFF_ADDR + ADDR_LEN);
    const key = keyOfAddress(addr);
    const old = this.addressOf.get(idText);
    const gone = kind === EVENT_DEAD || kind === EVENT_LEFT;
    const moved = old !== undefined && old.key !== key;
    if (old !== undefined && (gone || moved)) {
      this.secure.expectIdentity(old.addr, null);
      this.addressOf.delete(idText);
    }
    if (gone) return;
    this.secure.expectIdentity(addr, id);
    this.addressOf.set(idText, { key, addr: Uint8Array.from(addr) });
    if (moved) this.secure.memberMoved(old.addr, addr, now); // its queued datagrams go out on its sessions
  }
}
