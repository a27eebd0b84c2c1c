// RELAY envelopes that reach us (docs/security.md "Relaying"): forwarded between two members the core
// allowed us to relay for, or opened as a packet from the member they name.
import type { AddrKey } from "./addr-key.ts";
import { readU32 } from "./bytes.ts";
import type { TransportContext } from "./context.ts";
import { emitRelayHeader, relayAddr, relayInner, relayLengthOk } from "./envelope.ts";
import { CONTROL, DATA, DATA_OVERHEAD, OFF_DATA_IDX, WIRE_VERSION } from "./handshake.ts";
import { onPacket } from "./packets.ts";
import type { OpenInto } from "./results.ts";
import { ROUTE_RELAY } from "./routes.ts";
import { keyOfAddress } from "../net/address.ts";

/**
 * A RELAY envelope from `srcAddr`. The sender must hold an established session with us. Then either
 * the core allowed us to relay between the sender and the address field (we forward it, never opening
 * the inner packet), or the envelope brings us a packet from the member in the address field: accepted
 * when our route to that member goes through this relay, or when it is DATA on a session we hold with
 * that member (a path change we have not heard of yet).
 */
export function onRelay(t: TransportContext, srcKey: AddrKey, srcAddr: Uint8Array, p: Uint8Array, now: number, openInto?: OpenInto): void {
  if (!relayLengthOk(p)) {
    t.counters.bad_length++;
    return;
  }
  const direct = t.routes.directFrom(srcKey);
  const fromKey = direct?.peerKey ?? srcKey;
  const addr = relayAddr(p);
  const otherKey = keyOfAddress(addr);
  if (!t.established(fromKey, now)) {
    t.counters.relay_dropped_not_member++;
    return;
  }
  if (t.relays.allowed(fromKey, otherKey)) {
    forward(t, fromKey, otherKey, p, now);
    return;
  }
  const inner = relayInner(p);
  const route = t.routes.get(otherKey);
  const routedHere = route !== undefined && route.kind === ROUTE_RELAY && route.sendKey === srcKey;
  if (!routedHere && !dataOnSessionOf(t, otherKey, inner, now)) {
    t.counters.relay_dropped_not_allowed++;
    return;
  }
  t.counters.relay_received++;
  t.replyKey = srcKey;
  t.replyAddr = srcAddr;
  t.replyVia = addr;
  t.result.source = addr;
  t.result.via = srcAddr;
  onPacket(t, otherKey, addr, addr, inner, now, openInto);
}

/** Forwards a relay request from `fromKey` to `toKey` as `ver, RELAY, addr = from, inner`: same length. */
function forward(t: TransportContext, fromKey: AddrKey, toKey: AddrKey, p: Uint8Array, now: number): void {
  const to = t.peers.get(toKey);
  if (to === undefined || !t.established(toKey, now)) {
    t.counters.relay_dropped_not_member++;
    return;
  }
  const route = t.routes.get(toKey);
  if (route?.kind === ROUTE_RELAY) {
    t.counters.relay_dropped_not_allowed++; // relays do not chain
    return;
  }
  if (!t.relays.take(fromKey, toKey, p.length, now)) {
    t.counters.relay_dropped_cap++;
    return;
  }
  const out = t.allocate(p.length);
  out.set(p);
  emitRelayHeader(out, t.peers.get(fromKey)!.addr);
  t.counters.relay_forwarded++;
  t.counters.relay_bytes += p.length;
  t.sink(route?.sendKey ?? toKey, route?.sendAddr ?? to.addr, out);
}

/** True when `inner` is DATA for a live session we hold with the peer at `key`. */
function dataOnSessionOf(t: TransportContext, key: AddrKey, inner: Uint8Array, now: number): boolean {
  if (inner[0] !== WIRE_VERSION || (inner[1] !== DATA && inner[1] !== CONTROL) || inner.length < DATA_OVERHEAD) return false;
  const s = t.sessionsByIdx.get(readU32(inner, OFF_DATA_IDX));
  return s !== undefined && s.live(now) && t.sessionPeer.get(s)!.addrKey === key;
}
