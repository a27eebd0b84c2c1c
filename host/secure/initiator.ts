// The initiator's side of the handshake (docs/security.md): HS_INIT out (step 1), then on the
// responder's HS_CHALLENGE (step 2) the session, and HS_CONFIRM out (step 3).
import type { AddrKey } from "./addr-key.ts";
import { readU32 } from "./bytes.ts";
import type { TransportContext } from "./context.ts";
import { NONCE_LEN } from "./cookie.ts";
import { flushQueue } from "./data.ts";
import {
  buildConfirm, buildInit, CHALLENGE_LEN, deriveSessionKeys, OFF_CHALLENGE_S, OFF_E, OFF_IDX_I, OFF_N, PUBLIC_LEN,
  STATIC_LEN, verifyChallenge,
} from "./handshake.ts";
import { admit, charge, fitsAddress, refusedIdentity } from "./handshake-checks.ts";
import type { Peer, Pending } from "./peer.ts";

export function startHandshake(t: TransportContext, peer: Peer, now: number): void {
  const key = t.keyring.primary;
  const e = new Uint8Array(32);
  t.crypto.randomFill(e);
  const E = t.crypto.x25519Public(e);
  const N = new Uint8Array(NONCE_LEN);
  t.crypto.randomFill(N);
  const idx = t.freshIndex();
  const init = buildInit(t.crypto, key.key, key.id, idx, E, N, t.identity.publicKey);
  const p: Pending = {
    idx, key, e, E, N, init, peer, started: now,
    nextSend: now + t.config.handshakeRetransmitMs, interval: t.config.handshakeRetransmitMs,
  };
  peer.pending = p;
  t.pendingByIdx.set(idx, p);
  t.counters.handshakes_started++;
  t.wake(p.nextSend);
  t.transmit(peer, init);
}

/** Initiator, step 2 -> 3: check the responder's proof, make the session, confirm. */
export function onChallenge(t: TransportContext, addrKey: AddrKey, addr: Uint8Array, p: Uint8Array, now: number): void {
  const key = admit(t, p, CHALLENGE_LEN);
  if (key === null) return;
  const pending = t.pendingByIdx.get(readU32(p, OFF_IDX_I));
  if (pending === undefined) {
    t.counters.unknown_handshake++;
    return;
  }
  if (pending.key.id !== key.id) {
    t.counters.unknown_key_id++;
    return;
  }
  if (pending.peer.addrKey !== addrKey) {
    t.counters.wrong_source++;
    return;
  }
  const Si = t.identity.publicKey;
  if (!verifyChallenge(t.crypto, key.key, p, { Ei: pending.E, Ni: pending.N, Si })) {
    t.counters.bad_proof++;
    return;
  }
  if (!charge(t, addrKey, addr, now)) return;
  const Er = p.slice(OFF_E, OFF_E + PUBLIC_LEN);
  const Nr = p.slice(OFF_N, OFF_N + NONCE_LEN);
  const Sr = p.slice(OFF_CHALLENGE_S, OFF_CHALLENGE_S + STATIC_LEN);
  if (refusedIdentity(t, Sr) || !fitsAddress(t, pending.peer.addrKey, Sr)) return;
  const keys = deriveSessionKeys(t.crypto, key.key, pending.e, Er, pending.N, Nr, pending.E, Er, Si, Sr);
  if (keys === null) {
    t.counters.bad_proof++;
    return;
  }
  const peer = pending.peer;
  t.dropPending(pending);
  t.openSession(peer, Sr, pending.idx, readU32(Nr, 0), key.id, keys, true, now);
  t.counters.sessions_initiated++;
  t.transmit(peer, buildConfirm(t.crypto, key.key, key.id, pending.idx, pending.E, pending.N, Nr, t.identity.signer, { Er, Sr }));
  flushQueue(t, peer, now);
}
