// What the transport does on its timer: handshakes retransmitted and timed out, sessions expired,
// unconfirmed or made with a removed key replaced, idle peers forgotten, cookies rotated.
import type { TransportContext } from "./context.ts";
import { startHandshake } from "./initiator.ts";
import type { Peer } from "./peer.ts";
import type { Session } from "./session.ts";

/** Retransmits, timeouts, expiry, key removal, cookie rotation; hands what to send to `t.sink`. */
export function tick(t: TransportContext, now: number): void {
  t.cookies.rotateIfDue(now);
  t.limiter.prune(now);
  t.deadline = t.cookies.nextRotation;
  for (const p of t.pendingByIdx.values()) {
    if (!t.keyring.has(p.key.id)) {
      t.dropPending(p); // made with a removed key: no responder would answer it; tickPeer starts afresh
      continue;
    }
    if (now - p.started >= t.config.handshakeTimeoutMs) {
      t.counters.handshake_timeouts++;
      t.counters.queue_dropped += p.peer.queue.length;
      p.peer.queue = [];
      t.dropPending(p);
      continue;
    }
    if (now >= p.nextSend) {
      t.counters.handshake_retransmits++;
      p.interval = Math.min(2 * p.interval, t.config.handshakeRetransmitMaxMs);
      p.nextSend = now + p.interval;
      t.transmit(p.peer, p.init);
    }
    t.wake(Math.min(p.nextSend, p.started + t.config.handshakeTimeoutMs));
  }
  for (const peer of t.peers.values()) tickPeer(t, peer, now);
}

/** True when `s` is old or used enough to be replaced by a new handshake. */
export function rekeyDue(t: TransportContext, s: Session, now: number): boolean {
  const after = s.initiator ? t.config.rekeyAfterMs : t.config.rekeyAfterMs + t.config.responderRekeyDelayMs;
  return now - s.created >= after || s.sendCounter >= t.config.rekeyAfterMessages || s.rekeyDue;
}

function tickPeer(t: TransportContext, peer: Peer, now: number): void {
  let trafficLost = false;
  for (const s of [...peer.sessions]) {
    if (!s.live(now)) {
      t.counters.sessions_expired++;
      t.removeSession(peer, s);
    } else if (!s.confirmed && now - s.created >= t.config.confirmTimeoutMs) {
      // The confirm or every answer to it was lost: the responder may not hold this session.
      t.counters.confirm_timeouts++;
      trafficLost ||= s.sendCounter > 0;
      t.removeSession(peer, s);
    } else {
      if (!t.keyring.has(s.keyId) && s.retireAt > now + t.config.removedKeyGraceMs) {
        // `divs key remove`: replaced at once, and decrypting only until the peer has had time to move.
        t.counters.sessions_evicted++;
        s.rekeyDue = true;
        s.retireAt = now + t.config.removedKeyGraceMs;
        trafficLost = true;
      }
      t.wake(Math.min(s.expiresAt, s.retireAt, s.confirmed ? Infinity : s.created + t.config.confirmTimeoutMs));
    }
  }
  peer.chooseSend(now);
  if (trafficLost && (peer.send === null || peer.send.rekeyDue) && peer.pending === null) startHandshake(t, peer, now);
  if (peer.sessions.length === 0 && peer.pending === null && peer.queue.length === 0) {
    t.peers.delete(peer.addrKey);
    t.identities.forget(peer);
  }
}
