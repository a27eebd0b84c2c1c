// Transport timing and limits. Defaults follow docs/security.md; tests shorten some of them.

/** The default relaying cap per pair of members: 20 Mbit/s. */
export const DEFAULT_RELAY_CAP_BYTES_PER_SECOND = 20_000_000 / 8;

export interface SecureConfig {
  /** Start a new handshake when the sending session is this old (ms). 120 s, as WireGuard. */
  rekeyAfterMs: number;
  /**
   * The responder of a session rekeys by time only this much later (ms), so the two sides of a busy
   * pair do not both start a handshake at the same instant. 10 s: well inside the 60 s before expiry.
   */
  responderRekeyDelayMs: number;
  /** ...or after this many datagrams sent on it. 2^48: far below nonce exhaustion. */
  rekeyAfterMessages: number;
  /** A session neither sends nor decrypts after this age (ms). 180 s: rekeying has had 60 s to finish. */
  expireAfterMs: number;
  /** An older session keeps decrypting this long (ms) after the peer was seen on a newer one. 30 s. */
  oldSessionGraceMs: number;
  /** First HS_INIT retransmit after this long (ms); doubles each time. 1 s. */
  handshakeRetransmitMs: number;
  /** Retransmit interval cap (ms). 8 s. */
  handshakeRetransmitMaxMs: number;
  /** Give up a handshake (drop its queue) after this long (ms). 20 s. */
  handshakeTimeoutMs: number;
  /** An initiator session that has received nothing this long (ms) is dropped and redone. 5 s. */
  confirmTimeoutMs: number;
  /**
   * A session made with a key removed from the keyring is replaced at once and decrypts this long (ms)
   * more, while the peer moves to the new one. 2 s: a handshake and a retransmit.
   */
  removedKeyGraceMs: number;
  /** Cookie secret and responder ephemeral lifetime (ms); the previous period stays valid. 120 s. */
  cookiePeriodMs: number;
  /**
   * An HS_CONFIRM is recognised only in the window (ms) its challenge was sent in and the next: at most
   * 2 windows late. 2 s: room for any round trip, and below confirmTimeoutMs (5 s), so the initiator
   * still holds the session a responder makes from it (a confirm held back longer cut one direction).
   */
  confirmWindowMs: number;
  /** Datagrams queued per peer while its handshake runs. 16: a burst of gossip, not a backlog. */
  queueLimit: number;
  /** Handshake packets per second per source network (IPv4 /24, IPv6 /64). 20. */
  rateLimitPerSecond: number;
  /** Token bucket depth per source network. 40. */
  rateLimitBurst: number;
  /** Source networks tracked by the rate limiter at once; beyond, the least recently used is evicted. 16384. */
  rateLimitSources: number;
  /** Sessions held at once; further HS_CONFIRMs are refused. 65536. */
  maxSessions: number;
  /** Sessions per peer (current, rekeying, grace). 4. */
  maxSessionsPerPeer: number;
  /**
   * Addresses held at once (sessions, a handshake, a queue); a datagram for another is dropped. 65536:
   * the core's default member table (max_members) and maxSessions. Before, it had no bound: each
   * address the core was made to send to (gossip names any) kept a queue of up to queueLimit datagrams.
   */
  maxPeers: number;
  /** Relaying between one pair of members, bytes per second (`divs up --relay-cap MBIT`). 20 Mbit/s. */
  relayCapBytesPerSecond: number;
}

export const DEFAULT_SECURE_CONFIG: Readonly<SecureConfig> = {
  rekeyAfterMs: 120_000,
  responderRekeyDelayMs: 10_000,
  rekeyAfterMessages: 2 ** 48,
  expireAfterMs: 180_000,
  oldSessionGraceMs: 30_000,
  handshakeRetransmitMs: 1_000,
  handshakeRetransmitMaxMs: 8_000,
  handshakeTimeoutMs: 20_000,
  confirmTimeoutMs: 5_000,
  removedKeyGraceMs: 2_000,
  cookiePeriodMs: 120_000,
  confirmWindowMs: 2_000,
  queueLimit: 16,
  rateLimitPerSecond: 20,
  rateLimitBurst: 40,
  rateLimitSources: 16_384,
  maxSessions: 65_536,
  maxSessionsPerPeer: 4,
  maxPeers: 65_536,
  relayCapBytesPerSecond: DEFAULT_RELAY_CAP_BYTES_PER_SECOND,
};

/** Counters never exceed this; past it a session refuses to send (2^48 + 2^32: unreachable in practice). */
export const REJECT_AFTER_MESSAGES = 2 ** 48 + 2 ** 32;
