// The core's OUT_ROUTE (docs/host.md "Routes and relaying"): where the peer's packets go from now
// on, and the sessions and handshake a direct route's send address held moving to the peer.
import type { AddrKey } from "./addr-key.ts";
import type { TransportContext } from "./context.ts";
import { flushQueue } from "./data.ts";
import { Peer } from "./peer.ts";
import { ROUTE_DIRECT, type ROUTE_RELAY } from "./routes.ts";
import { keyOfAddress } from "../net/address.ts";

/**
 * Every packet for the peer at `peerAddr` goes to `sendAddr`, wrapped in a RELAY envelope when `kind`
 * is relay. Sessions made under a direct route's send address (before the core knew whose it is) move
 * to the peer: a path change never loses a session. A handshake waiting for an answer on the old path
 * is sent again at once on the new one, its backoff reset. Hands what to send to `t.sink`.
 */
export function setRoute(
  t: TransportContext, peerAddr: Uint8Array, sendAddr: Uint8Array, kind: typeof ROUTE_DIRECT | typeof ROUTE_RELAY, now: number,
): void {
  const peerKey = keyOfAddress(peerAddr);
  const sendKey = keyOfAddress(sendAddr);
  t.routes.set(peerKey, peerAddr, sendKey, sendAddr, kind);
  if (kind === ROUTE_DIRECT && sendKey !== peerKey) adopt(t, peerKey, peerAddr, sendKey, now);
  const pending = t.peers.get(peerKey)?.pending;
  if (pending) {
    t.counters.handshake_retransmits++;
    pending.interval = t.config.handshakeRetransmitMs;
    pending.nextSend = now + pending.interval;
    t.wake(pending.nextSend);
    t.transmit(pending.peer, pending.init);
  }
}

/**
 * The member the core knew at `fromAddr` is at `toAddr` now (a new incarnation: behind a NAT it adopted
 * the address its datagrams come from, docs/nat.md). Sessions are keyed by the member's address, so
 * the ones it proved its identity on under the old address move to the new one, as on a direct route.
 * Left under the old address, its datagrams from the new one would roam the old address there (a
 * route the core just removed) and reach the core named by the old address, and relaying would check
 * the old address against allowances made for the new one. Hands what to send to `t.sink`.
 */
export function memberMoved(t: TransportContext, fromAddr: Uint8Array, toAddr: Uint8Array, now: number): void {
  const fromKey = keyOfAddress(fromAddr);
  const toKey = keyOfAddress(toAddr);
  const identity = t.peers.get(fromKey)?.identity;
  if (fromKey === toKey || !identity || !t.identities.expectedAt(toKey, identity)) return;
  t.routes.delete(fromKey); // one roaming made: the core removed its own, and names the member by `toAddr` now
  adopt(t, toKey, toAddr, fromKey, now);
}

/** Moves what is held under `fromKey` (a direct route's send address, a moved member's old address) to the peer at `peerKey`. */
function adopt(t: TransportContext, peerKey: AddrKey, peerAddr: Uint8Array, fromKey: AddrKey, now: number): void {
  const from = t.peers.get(fromKey);
  if (from === undefined) return;
  t.peers.delete(fromKey);
  let peer = t.peers.get(peerKey);
  if (!peer) {
    peer = new Peer(peerKey, Uint8Array.from(peerAddr));
    t.peers.set(peerKey, peer);
  }
  for (const s of from.sessions) {
    t.sessionPeer.set(s, peer);
    peer.sessions.push(s);
  }
  peer.sessions.sort((x, y) => x.seq - y.seq);
  while (peer.sessions.length > t.config.maxSessionsPerPeer) t.removeSession(peer, peer.sessions[0]);
  if (from.lastReceived !== null && peer.sessions.includes(from.lastReceived) &&
      (peer.lastReceived === null || from.lastReceived.seq > peer.lastReceived.seq)) {
    peer.lastReceived = from.lastReceived;
  }
  if (from.pending !== null) {
    if (peer.pending === null) {
      peer.pending = from.pending;
      from.pending.peer = peer;
    } else {
      t.dropPending(from.pending);
    }
  }
  for (const q of from.queue) if (peer.queue.length < t.config.queueLimit) peer.queue.push(q);
  if (from.identity !== null) t.identities.identify(peer, from.identity);
  peer.chooseSend(now);
  flushQueue(t, peer, now);
}
