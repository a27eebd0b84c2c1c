// DATA (docs/security.md "4. DATA"): the host's datagrams sealed on the peer's send session, the
// peer's opened against the session's replay window, and what an opened one says about its sessions.
import type { AddrKey } from "./addr-key.ts";
import { readU32, writeU32 } from "./bytes.ts";
import { REJECT_AFTER_MESSAGES } from "./config.ts";
import type { TransportContext } from "./context.ts";
import { emitRelayHeader, RELAY_HEADER_LEN } from "./envelope.ts";
import { CONTROL, DATA, DATA_HEADER_LEN, DATA_OVERHEAD, OFF_DATA_COUNTER, OFF_DATA_IDX, WIRE_VERSION } from "./handshake.ts";
import type { Peer } from "./peer.ts";
import { REPLAY_OK, REPLAY_SEEN } from "./replay.ts";
import type { OpenInto } from "./results.ts";
import { roam } from "./roaming.ts";
import { ROUTE_RELAY } from "./routes.ts";
import type { Session } from "./session.ts";

/** Where one datagram goes instead of along the peer's route (a probe of that address). */
export interface Destination {
  addrKey: AddrKey;
  addr: Uint8Array;
}

/** Seals `plaintext` on `s` as DATA (for the peer's core) or CONTROL (for its host), along the route or to `to`. */
export function sealTo(t: TransportContext, peer: Peer, s: Session, plaintext: Uint8Array, type = DATA, to: Destination | null = null): void {
  const counter = s.sendCounter++;
  const aad = t.aad;
  aad[0] = WIRE_VERSION;
  aad[1] = type;
  writeU32(aad, OFF_DATA_IDX, s.remoteIdx);
  writeU32(aad, OFF_DATA_COUNTER, Math.floor(counter / 4294967296));
  writeU32(aad, OFF_DATA_COUNTER + 4, counter >>> 0);
  const nonce = t.nonce;
  for (let i = 0; i < 8; i++) nonce[4 + i] = aad[OFF_DATA_COUNTER + i];
  // A relayed peer's DATA is sealed right behind the envelope header: no copy to wrap it.
  const route = to === null ? t.routes.get(peer.addrKey) : undefined;
  const header = route?.kind === ROUTE_RELAY ? RELAY_HEADER_LEN : 0;
  const datagram = t.allocate(header + DATA_OVERHEAD + plaintext.length);
  if (header !== 0) emitRelayHeader(datagram, peer.addr);
  datagram.set(aad, header);
  t.crypto.seal(s.sendKey, nonce, aad, plaintext, datagram, header + DATA_HEADER_LEN);
  if (type === CONTROL) t.counters.control_sent++;
  else if (plaintext.length === 0) t.counters.keepalives_sent++;
  else t.counters.data_sealed++;
  if (to === null) t.send(peer, route, datagram);
  else t.sink(to.addrKey, to.addr, datagram);
}

/** Seals what waited for a session, now that the peer has one to send on. */
export function flushQueue(t: TransportContext, peer: Peer, now: number): void {
  const s = peer.send;
  if (s === null || !s.live(now) || peer.queue.length === 0) return;
  const queued = peer.queue;
  peer.queue = [];
  for (const plaintext of queued) sealTo(t, peer, s, plaintext);
}

export function onData(t: TransportContext, addrKey: AddrKey, p: Uint8Array, now: number, openInto?: OpenInto): void {
  if (p.length < DATA_OVERHEAD) {
    t.counters.bad_length++;
    return;
  }
  const s = t.sessionsByIdx.get(readU32(p, OFF_DATA_IDX));
  if (s === undefined || !s.live(now)) {
    t.counters.no_session++;
    return;
  }
  const peer = t.sessionPeer.get(s)!;
  // From another address than the peer's: it roamed (or its NAT rebound) if the datagram opens, and
  // a relayed one must come from the peer it names.
  const roamed = peer.addrKey !== addrKey;
  if (roamed && t.result.via !== null) {
    t.counters.wrong_source++;
    return;
  }
  const hi = readU32(p, OFF_DATA_COUNTER);
  const counter = hi * 4294967296 + readU32(p, OFF_DATA_COUNTER + 4);
  if (counter >= REJECT_AFTER_MESSAGES) {
    t.counters.bad_counter++;
    return;
  }
  const freshness = s.window.check(counter);
  if (freshness !== REPLAY_OK) {
    if (freshness === REPLAY_SEEN) t.counters.replayed++;
    else t.counters.too_old++;
    return;
  }
  const aad = t.aad;
  for (let i = 0; i < DATA_HEADER_LEN; i++) aad[i] = p[i];
  const nonce = t.nonce;
  for (let i = 0; i < 8; i++) nonce[4 + i] = p[OFF_DATA_COUNTER + i];
  const out = openInto?.(p.length - DATA_OVERHEAD, t.result.via !== null) ?? undefined;
  const plaintext = t.crypto.open(s.recvKey, nonce, aad, p, DATA_HEADER_LEN, p.length, out);
  if (plaintext === null) {
    t.counters.decrypt_failed++;
    return;
  }
  s.window.accept(counter);
  if (roamed) roam(t, peer, addrKey);
  if (peer.lastReceived !== s) peerMovedTo(t, peer, s, now);
  if (p[1] === CONTROL) {
    t.counters.control_received++;
    t.result.control = plaintext;
    t.result.controlFrom = peer.identity;
    return;
  }
  if (plaintext.length === 0) {
    t.counters.keepalives_received++;
    return;
  }
  t.counters.data_opened++;
  t.result.deliver = plaintext;
}

/** The peer sent on `s`: it holds it, so it is confirmed, and older sessions get their grace period. */
function peerMovedTo(t: TransportContext, peer: Peer, s: Session, now: number): void {
  peer.lastReceived = s;
  if (!s.confirmed) {
    s.confirmed = true;
    peer.chooseSend(now);
  }
  for (const old of peer.sessions) {
    if (old.seq < s.seq && old.retireAt === Infinity) {
      old.retireAt = now + t.config.oldSessionGraceMs;
      t.wake(old.retireAt);
    }
  }
}
