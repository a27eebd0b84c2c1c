// The responder's side of the handshake (docs/security.md): HS_INIT answered statelessly with a
// cookie (step 1 -> 2), and only a proven HS_CONFIRM (step 3) makes a session and allocates.
import type { AddrKey } from "./addr-key.ts";
import { compareBytes, equalBytes, readU32 } from "./bytes.ts";
import type { TransportContext } from "./context.ts";
import { NONCE_LEN } from "./cookie.ts";
import { flushQueue, sealTo } from "./data.ts";
import {
  buildChallenge, CONFIRM_LEN, deriveSessionKeys, INIT_LEN, OFF_CONFIRM_NR, OFF_CONFIRM_S, OFF_E, OFF_IDX_I,
  OFF_INIT_S, OFF_N, PUBLIC_LEN, STATIC_LEN, verifyConfirm, verifyInit,
} from "./handshake.ts";
import { admit, charge, fitsAddress, refusedIdentity } from "./handshake-checks.ts";
import { Peer } from "./peer.ts";
import { roamedPeer } from "./roaming.ts";

/** True when `E` is the ephemeral key of a handshake we started. */
function ownEphemeral(t: TransportContext, E: Uint8Array): boolean {
  for (const p of t.pendingByIdx.values()) if (equalBytes(p.E, 0, E, 0, PUBLIC_LEN)) return true;
  return false;
}

/** Responder, step 1 -> 2: answer a proven HS_INIT statelessly. */
export function onInit(t: TransportContext, addrKey: AddrKey, addr: Uint8Array, p: Uint8Array, now: number): void {
  // (`addr`: the address the handshake is bound to: the datagram's source, or the relayed sender's.)
  const key = admit(t, p, INIT_LEN);
  if (key === null) return;
  if (!verifyInit(t.crypto, key.key, p)) {
    t.counters.bad_mac++;
    return;
  }
  const Ei = p.subarray(OFF_E, OFF_E + PUBLIC_LEN);
  if (ownEphemeral(t, Ei)) {
    t.counters.reflected++; // our own HS_INIT bounced back: answering it leads to a session with ourselves
    return;
  }
  const Si = p.subarray(OFF_INIT_S, OFF_INIT_S + STATIC_LEN);
  if (refusedIdentity(t, Si)) return;
  if (!charge(t, addrKey, addr, now)) return;
  const Ni = p.subarray(OFF_N, OFF_N + NONCE_LEN);
  const ours = t.peers.get(addrKey)?.pending;
  if (ours && compareBytes(ours.E, Ei) > 0) {
    // Both sides started at once: only the handshake with the larger E_i goes ahead.
    t.counters.handshake_collisions++;
    return;
  }
  t.cookies.rotateIfDue(now);
  const period = t.cookies.current;
  const Nr = period.cookie(t.crypto, addr, Ei, Ni, Si, t.cookies.slot(now));
  const idxI = readU32(p, OFF_IDX_I);
  t.counters.challenges_sent++;
  t.reply(buildChallenge(t.crypto, key.key, key.id, idxI, period.E, Nr, t.identity.signer, { Ei, Ni, Si }));
}

/** Responder, step 3: recognise our cookie, check the initiator's proof, and only then allocate. */
export function onConfirm(
  t: TransportContext, addrKey: AddrKey, peerAddr: Uint8Array, addr: Uint8Array, p: Uint8Array, now: number,
): void {
  const key = admit(t, p, CONFIRM_LEN);
  if (key === null) return;
  t.cookies.rotateIfDue(now);
  const Ei = p.subarray(OFF_E, OFF_E + PUBLIC_LEN);
  const Ni = p.subarray(OFF_N, OFF_N + NONCE_LEN);
  const Si = p.slice(OFF_CONFIRM_S, OFF_CONFIRM_S + STATIC_LEN);
  const period = t.cookies.find(addr, Ei, Ni, Si, p, OFF_CONFIRM_NR, now);
  if (period === null) {
    t.counters.bad_cookie++;
    return;
  }
  if (refusedIdentity(t, Si)) return; // banned since its challenge
  if (!charge(t, addrKey, addr, now)) return;
  const Nr = p.slice(OFF_CONFIRM_NR, OFF_CONFIRM_NR + NONCE_LEN);
  const nrText = String.fromCharCode(...Nr);
  if (period.accepted.has(nrText)) {
    t.counters.replayed_confirm++; // before the signature: a replay costs no public-key work
    return;
  }
  const Sr = t.identity.publicKey;
  if (!verifyConfirm(t.crypto, key.key, p, { Er: period.E, Sr })) {
    t.counters.bad_proof++;
    return;
  }
  if (!fitsAddress(t, addrKey, Si)) return;
  const idxR = readU32(Nr, 0);
  if (t.sessionsByIdx.has(idxR) || t.pendingByIdx.has(idxR)) {
    t.counters.index_collision++;
    return;
  }
  if (t.sessionsByIdx.size >= t.config.maxSessions) {
    t.counters.too_many_sessions++;
    return;
  }
  const keys = deriveSessionKeys(t.crypto, key.key, period.e, Ei, Ni, Nr, Ei, period.E, Si, Sr);
  if (keys === null) {
    t.counters.bad_proof++;
    return;
  }
  period.accepted.add(nrText);
  let peer = roamedPeer(t, addrKey, peerAddr, Si) ?? t.peers.get(addrKey);
  if (!peer) {
    peer = new Peer(addrKey, Uint8Array.from(peerAddr));
    t.peers.set(addrKey, peer);
  }
  // Their handshake made a session both sides hold; ours toward them is no longer needed.
  if (peer.pending) t.dropPending(peer.pending);
  const s = t.openSession(peer, Si, idxR, readU32(p, OFF_IDX_I), key.id, keys, false, now);
  t.counters.sessions_responded++;
  sealTo(t, peer, s, new Uint8Array(0)); // tells the initiator the session is up
  flushQueue(t, peer, now);
}
