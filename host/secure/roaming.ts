// A peer's datagrams come from a new address (NAT rebinding, roaming; docs/security.md "Identity"):
// found by the session a DATA opens on (data.ts) or by the identity a handshake proves (responder.ts).
import type { AddrKey } from "./addr-key.ts";
import type { TransportContext } from "./context.ts";
import type { Peer } from "./peer.ts";
import { ROUTE_DIRECT } from "./routes.ts";

/**
 * The peer that already holds sessions with `identity` at another address than `addrKey` (a handshake
 * from where it roamed to), rerouted to `addrKey`; or null.
 */
export function roamedPeer(t: TransportContext, addrKey: AddrKey, addr: Uint8Array, identity: Uint8Array): Peer | null {
  const known = t.identities.holder(identity);
  if (known === undefined || known.addrKey === addrKey || t.replyVia !== null) return null;
  if (t.peers.get(addrKey)?.sessions.length) return null; // a peer of its own lives there
  roam(t, known, addrKey, addr);
  return known;
}

/**
 * The peer's datagrams now come from `addrKey` (NAT rebinding, roaming): send there from now on, and
 * take datagrams from there as the peer's, which the core keeps knowing by its address.
 */
export function roam(t: TransportContext, peer: Peer, addrKey: AddrKey, addr: Uint8Array = t.replyAddr): void {
  t.counters.peer_roamed++;
  t.routes.set(peer.addrKey, peer.addr, addrKey, addr, ROUTE_DIRECT);
  t.result.source = peer.addr;
}
