// What every step of the transport (docs/security.md) shares: its config and counters, the tables of
// peers, sessions and handshakes in flight, the routes, and where the output goes.
// transport.ts is the surface the host calls; each step lives in a file of its own (packets.ts,
// data.ts, initiator.ts, responder.ts, handshake-checks.ts, relaying.ts, roaming.ts, route-change.ts,
// upkeep.ts).
import type { AddrKey } from "./addr-key.ts";
import { BanList } from "./bans.ts";
import { readU32 } from "./bytes.ts";
import { DEFAULT_SECURE_CONFIG, type SecureConfig } from "./config.ts";
import { CookieJar } from "./cookie.ts";
import { newCounters, type SecureCounters } from "./counters.ts";
import { wrapRelay } from "./envelope.ts";
import { DATA_HEADER_LEN, type SessionKeys, wipeSessionKeys } from "./handshake.ts";
import type { Identity } from "./identity.ts";
import type { Keyring } from "./keyring.ts";
import { PeerIdentities } from "./peer-identities.ts";
import { Peer, type Pending } from "./peer.ts";
import type { CryptoProvider } from "./provider.ts";
import { RateLimiter } from "./ratelimit.ts";
import { RelayAllowances } from "./relay.ts";
import type { Incoming, TransmitSink } from "./results.ts";
import { ROUTE_RELAY, type Route, RouteTable } from "./routes.ts";
import { Session } from "./session.ts";

export class TransportContext {
  readonly counters: SecureCounters = newCounters();
  readonly config: Readonly<SecureConfig>;
  readonly peers = new Map<AddrKey, Peer>();
  readonly sessionsByIdx = new Map<number, Session>();
  readonly sessionPeer = new Map<Session, Peer>();
  readonly pendingByIdx = new Map<number, Pending>();
  /** Sessions belong to an identity, whatever address it sends from. */
  readonly identities: PeerIdentities<Peer>;
  readonly routes = new RouteTable();
  readonly relays: RelayAllowances;
  /** Identities removed from the switch: their handshakes are refused (`banned`). */
  readonly bans: BanList;
  readonly cookies: CookieJar;
  readonly limiter: RateLimiter;
  /** The last session's creation order (Session.seq). */
  seq = 0;
  /** The time by which handleTimeout() must run next. */
  deadline = Infinity;
  /** Where each datagram to send goes (SecureTransport.transmitTo). */
  sink: TransmitSink = () => {
    throw new Error("SecureTransport: transmitTo() names no sink yet");
  };
  // Reused per call: the hot path allocates only the sealed datagram and the opened plaintext (plus
  // node:crypto's cipher objects for datagrams above SMALL_AEAD_MAX, host/secure/node-crypto.ts).
  readonly result: Incoming = { deliver: null, source: new Uint8Array(0), via: null, control: null, controlFrom: null };
  /** Where replies to the packet being handled go (its source), and the original sender to wrap them for when it came relayed. */
  replyKey: AddrKey = 0;
  replyAddr: Uint8Array = new Uint8Array(0);
  replyVia: Uint8Array | null = null;
  readonly nonce = new Uint8Array(12);
  readonly aad = new Uint8Array(DATA_HEADER_LEN);
  private readonly idxBytes = new Uint8Array(4);
  /** Where a sealed DATA datagram is written: a fresh array, or the socket's send batch (sealInto). */
  allocate: (length: number) => Uint8Array = (length) => new Uint8Array(length);

  constructor(
    readonly crypto: CryptoProvider,
    readonly keyring: Keyring,
    /** This node's static identity, proven in every handshake. */
    readonly identity: Identity,
    now: number,
    config: Partial<SecureConfig>,
  ) {
    this.config = { ...DEFAULT_SECURE_CONFIG, ...config };
    this.cookies = new CookieJar(crypto, now, this.config.cookiePeriodMs, this.config.confirmWindowMs);
    this.identities = new PeerIdentities(crypto);
    this.bans = new BanList(crypto);
    this.limiter = new RateLimiter(this.config.rateLimitPerSecond, this.config.rateLimitBurst, this.config.rateLimitSources);
    this.relays = new RelayAllowances(this.config.relayCapBytesPerSecond);
  }

  wake(t: number): void {
    if (t < this.deadline) this.deadline = t;
  }

  // --- the tables ---------------------------------------------------------------------------------

  /** The peer at `addrKey`, made when new; null (counted) when the peer map is full. */
  peerAt(addrKey: AddrKey, addr: Uint8Array): Peer | null {
    const known = this.peers.get(addrKey);
    if (known !== undefined) return known;
    if (this.peers.size >= this.config.maxPeers) {
      this.counters.too_many_peers++;
      return null;
    }
    const peer = new Peer(addrKey, Uint8Array.from(addr));
    this.peers.set(addrKey, peer);
    return peer;
  }

  /** A peer with a live confirmed session: one that can send to us and be sent to. */
  established(key: AddrKey, now: number): boolean {
    const peer = this.peers.get(key);
    if (peer === undefined) return false;
    for (const s of peer.sessions) if (s.confirmed && s.live(now)) return true;
    return false;
  }

  /**
   * The session a finished handshake made with `peer`, which proved `identity`: our end's keys from
   * `keys` (then wiped), filed with the peer. The responder's is confirmed at once; the initiator's
   * when the first DATA arrives on it.
   */
  openSession(
    peer: Peer, identity: Uint8Array, localIdx: number, remoteIdx: number, keyId: number, keys: SessionKeys,
    initiator: boolean, now: number,
  ): Session {
    const sendKey = initiator ? keys.initiatorToResponder : keys.responderToInitiator;
    const recvKey = initiator ? keys.responderToInitiator : keys.initiatorToResponder;
    const s = new Session(
      localIdx, remoteIdx, keyId, this.crypto.aeadKey(sendKey), this.crypto.aeadKey(recvKey),
      initiator, now, now + this.config.expireAfterMs, ++this.seq, !initiator,
    );
    wipeSessionKeys(keys);
    this.addSession(peer, s, now);
    this.identities.identify(peer, identity);
    return s;
  }

  addSession(peer: Peer, s: Session, now: number): void {
    if (peer.sessions.length >= this.config.maxSessionsPerPeer) this.removeSession(peer, peer.sessions[0]);
    peer.sessions.push(s);
    this.sessionsByIdx.set(s.localIdx, s);
    this.sessionPeer.set(s, peer);
    peer.chooseSend(now);
    this.wake(s.confirmed ? s.expiresAt : s.created + this.config.confirmTimeoutMs);
  }

  removeSession(peer: Peer, s: Session): void {
    peer.sessions.splice(peer.sessions.indexOf(s), 1);
    this.sessionsByIdx.delete(s.localIdx);
    this.sessionPeer.delete(s);
    this.crypto.disposeAeadKey(s.sendKey);
    this.crypto.disposeAeadKey(s.recvKey);
    if (peer.lastReceived === s) peer.lastReceived = null;
    if (peer.send === s) peer.send = null;
  }

  dropPending(p: Pending): void {
    p.e.fill(0); // the initiator's ephemeral key is not needed past this point
    this.pendingByIdx.delete(p.idx);
    if (p.peer.pending === p) p.peer.pending = null;
  }

  /** An index no session or handshake of ours uses. */
  freshIndex(): number {
    for (;;) {
      this.crypto.randomFill(this.idxBytes);
      const idx = readU32(this.idxBytes, 0);
      if (!this.sessionsByIdx.has(idx) && !this.pendingByIdx.has(idx)) return idx;
    }
  }

  // --- the output ---------------------------------------------------------------------------------

  /** A handshake message for `peer`, along its route (wrapped for a relay). */
  transmit(peer: Peer, data: Uint8Array): void {
    const route = this.routes.get(peer.addrKey);
    this.send(peer, route, route?.kind === ROUTE_RELAY ? wrapRelay(peer.addr, data) : data);
  }

  /** `data` (already wrapped when the route is a relay) to the route's address, or the peer's. */
  send(peer: Peer, route: Route | undefined, data: Uint8Array): void {
    if (route === undefined) {
      this.sink(peer.addrKey, peer.addr, data);
      return;
    }
    if (route.kind === ROUTE_RELAY) this.counters.relay_sent++;
    this.sink(route.sendKey, route.sendAddr, data);
  }

  /** An answer to the packet being handled goes back the way it came: to its source, through its relay. */
  reply(data: Uint8Array): void {
    const via = this.replyVia;
    if (via !== null) this.counters.relay_sent++;
    this.sink(this.replyKey, this.replyAddr, via === null ? data : wrapRelay(via, data));
  }
}
