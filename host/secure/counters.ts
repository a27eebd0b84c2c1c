// One counter per outcome. Rejections say why a packet was dropped; the rest show the layer working.

export const REJECTION_COUNTERS = [
  "bad_length", // shorter or longer than its type allows
  "bad_version", // first byte is not the wire version
  "bad_type", // unknown packet type
  "unknown_key_id", // key id not in the keyring (or not the one the handshake used)
  "rate_limited", // handshake packet over its source's budget
  "bad_mac", // HS_INIT mac does not verify: sender lacks the key
  "reflected", // HS_INIT carrying one of our own ephemeral keys: our handshake bounced back
  "unknown_handshake", // HS_CHALLENGE for no pending handshake (late, duplicate or replayed)
  "wrong_source", // packet from another address than its handshake or session
  "bad_proof", // proof_r / proof_i or the identity's signature does not verify, or a degenerate public key
  "wrong_identity", // the handshake proved another identity than the member the core knows at that address
  "bad_cookie", // HS_CONFIRM's N_r not minted by us for this address and initiator
  "replayed_confirm", // HS_CONFIRM whose N_r already made a session
  "index_collision", // responder index already in use
  "too_many_sessions", // session table full
  "too_many_peers", // a datagram for a new address while maxPeers peers are held
  "no_session", // DATA for an unknown, expired or retired session
  "bad_counter", // DATA counter beyond the session's limit
  "replayed", // DATA counter already seen within the window
  "too_old", // DATA counter below the window
  "decrypt_failed", // DATA failed authentication
  "queue_full", // datagram dropped while waiting for a handshake
  "queue_dropped", // datagrams dropped when a handshake gave up
  "relay_dropped_not_member", // RELAY envelope from, or for, an address without an established session
  "relay_dropped_not_allowed", // RELAY envelope for a pair the core did not allow, not for us either
  "relay_dropped_cap", // RELAY envelope over its pair's token bucket (--relay-cap, the core's budget)
  "invites_refused", // INVITE_REQUEST refused: unknown, used or expired invitation, wrong secret
  "invites_dropped", // INVITE_REQUEST of a wrong length or over its source's budget, or any other invitation packet
  "banned", // handshake proving an identity removed from the switch (`divs remove`)
  "own_identity", // handshake proving this node's own identity: another node runs on a copy of its state directory
] as const;

export const ACTIVITY_COUNTERS = [
  "handshakes_started",
  "handshake_collisions", // both sides initiated at once: the HS_INIT with the smaller E_i is not answered
  "handshake_retransmits",
  "handshake_timeouts",
  "challenges_sent",
  "sessions_initiated",
  "sessions_responded",
  "sessions_expired",
  "sessions_evicted", // made with a key `divs key remove` took out of the keyring
  "confirm_timeouts",
  "data_sealed",
  "data_opened",
  "keepalives_sent",
  "keepalives_received",
  "relay_forwarded", // RELAY envelopes this node forwarded between two members
  "relay_bytes", // their bytes (each forwarded exactly as long as received: no amplification)
  "relay_sent", // packets this node sent to a peer through a relay
  "relay_received", // packets that reached this node through a relay
  "peer_roamed", // a peer's authenticated datagram or handshake came from a new address: its sessions follow it
  "invites_issued", // `divs invite`
  "invites_answered", // invitations redeemed: the network key handed over
  "sessions_banned", // sessions dropped because their identity was removed (`divs remove`)
  "control_sent", // CONTROL messages sealed (removals, docs/security.md "Removing a node")
  "control_received", // CONTROL messages opened and handed to the host
] as const;

export type CounterName = (typeof REJECTION_COUNTERS)[number] | (typeof ACTIVITY_COUNTERS)[number];
export type SecureCounters = Record<CounterName, number>;

export function newCounters(): SecureCounters {
  const c = {} as SecureCounters;
  for (const name of [...REJECTION_COUNTERS, ...ACTIVITY_COUNTERS]) c[name] = 0;
  return c;
}

export function totalRejections(c: SecureCounters): number {
  let n = 0;
  for (const name of REJECTION_COUNTERS) n += c[name];
  return n;
}
