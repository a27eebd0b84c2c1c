// Checks both ends of a handshake make before a message costs them anything (docs/security.md
// "Rate limits and costs", "Identity"); each refusal is counted.
import type { AddrKey } from "./addr-key.ts";
import { equalBytes, readU32 } from "./bytes.ts";
import type { TransportContext } from "./context.ts";
import { OFF_KEY_ID } from "./handshake.ts";
import type { NetworkKey } from "./keyring.ts";
import { sourceOf } from "./ratelimit.ts";

/** Cheap checks common to all handshake messages: exact length, key id in the ring. */
export function admit(t: TransportContext, p: Uint8Array, length: number): NetworkKey | null {
  if (p.length !== length) {
    t.counters.bad_length++;
    return null;
  }
  const key = t.keyring.get(readU32(p, OFF_KEY_ID));
  if (key === undefined) {
    t.counters.unknown_key_id++;
    return null;
  }
  return key;
}

/**
 * The rate limit per source network, charged once a packet's first MAC passed (junk spends no one's
 * tokens); a peer with a live session is not charged (docs/security.md "Rate limits and costs").
 */
export function charge(t: TransportContext, peerKey: AddrKey, addr: Uint8Array, now: number): boolean {
  if (t.established(peerKey, now) || t.limiter.allow(sourceOf(addr), now)) return true;
  t.counters.rate_limited++;
  return false;
}

/**
 * True (counted) when no session may be made with `identity`: it was removed from the switch (`divs
 * remove`), or it is this node's own, proved by another node (one state directory used by two nodes).
 */
export function refusedIdentity(t: TransportContext, identity: Uint8Array): boolean {
  if (equalBytes(identity, 0, t.identity.publicKey, 0, identity.length)) {
    t.counters.own_identity++;
    return true;
  }
  if (!t.bans.bansKey(identity)) return false;
  t.counters.banned++;
  return true;
}

/** True unless the core knows another member at `peerKey` than the one `identity` makes (counted). */
export function fitsAddress(t: TransportContext, peerKey: AddrKey, identity: Uint8Array): boolean {
  if (t.identities.fits(peerKey, identity)) return true;
  t.counters.wrong_identity++;
  return false;
}
