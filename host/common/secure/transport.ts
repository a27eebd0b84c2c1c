// The transport layer's state machine (docs/security.md), sans-IO: the host passes datagrams, its
// address key and 18-byte address, and the time; the transport returns what to send and what to
// deliver to the core. Every array and result it returns is reused: valid until the next call.
import nacl from "tweetnacl";
import { compareBytes, equalBytes, readU32, writeU32 } from "./bytes.ts";
import { DEFAULT_SECURE_CONFIG, REJECT_AFTER_MESSAGES, type SecureConfig } from "./config.ts";
import { CookieJar, NONCE_LEN } from "./cookie.ts";
import { newCounters, type SecureCounters } from "./counters.ts";
import {
  buildChallenge, buildConfirm, buildInit, CHALLENGE_LEN, CONFIRM_LEN, DATA, DATA_HEADER_LEN, DATA_OVERHEAD,
  deriveSessionKeys, wipeSessionKeys, HS_CHALLENGE, HS_CONFIRM, HS_INIT, INIT_LEN, OFF_CHALLENGE_S, OFF_CONFIRM_NR, OFF_CONFIRM_S,
  OFF_DATA_COUNTER, OFF_DATA_IDX, OFF_E, OFF_IDX_I, OFF_INIT_S, OFF_KEY_ID, OFF_N, PUBLIC_LEN, STATIC_LEN, verifyChallenge,
  verifyConfirm, verifyInit, WIRE_VERSION,
} from "./handshake.ts";
import type { Identity } from "./identity.ts";
import { PeerIdentities } from "./peer-identities.ts";
import type { Keyring, NetworkKey } from "./keyring.ts";
import type { CryptoProvider } from "./provider.ts";
import { emitRelayHeader, RELAY, RELAY_HEADER_LEN, relayAddr, relayInner, relayLengthOk, wrapRelay } from "./envelope.ts";
import { RateLimiter, sourceOf } from "./ratelimit.ts";
import { RelayAllowances, type RelayPair } from "./relay.ts";
import { ROUTE_DIRECT, ROUTE_RELAY, type Route, RouteTable } from "./routes.ts";
import { REPLAY_OK, REPLAY_SEEN } from "./replay.ts";
import { Session } from "./session.ts";
import { keyOfAddress } from "../address.ts";

/** How the host names an underlay address in maps: a number (IPv4 * 65536 + port) or a string. */
export type { AddrKey } from "./addr-key.ts";
import type { AddrKey } from "./addr-key.ts";

export interface Transmit {
  addrKey: AddrKey;
  /** 18-byte address (docs/abi.md). */
  addr: Uint8Array;
  data: Uint8Array;
}

export interface Incoming {
  /** Authenticated, fresh plaintext for the core, or null. */
  deliver: Uint8Array | null;
  /**
   * Who sent it (a view): the datagram's source; the peer's address when that source is the peer's
   * direct route's endpoint; the original sender for a relayed one.
   */
  source: Uint8Array;
  /** The relay it came through (its 18-byte address), or null when it came directly. */
  via: Uint8Array | null;
  transmits: Transmit[];
}

/** Where DATA may be opened: a buffer of `length` bytes for a datagram that came directly or `relayed`, or null. */
export type OpenInto = (length: number, relayed: boolean) => Uint8Array | null;

export interface SessionInfo {
  addrKey: AddrKey;
  /** The peer's static identity key (Ed25519 public key), proven in the handshake. */
  identity: Uint8Array | null;
  keyId: number;
  initiator: boolean;
  confirmed: boolean;
  ageMs: number;
  sent: number;
}

/** Our side of a handshake we started: enough to check the challenge and finish. */
interface Pending {
  idx: number;
  key: NetworkKey;
  e: Uint8Array;
  E: Uint8Array;
  N: Uint8Array;
  init: Uint8Array;
  peer: Peer;
  started: number;
  nextSend: number;
  interval: number;
}

class Peer {
  /** Oldest first. */
  readonly sessions: Session[] = [];
  /** Session our DATA goes out on: the newest confirmed one, else the newest (first handshake). */
  send: Session | null = null;
  /** Session the peer last sent on: older ones retire a grace period after it changes. */
  lastReceived: Session | null = null;
  pending: Pending | null = null;
  queue: Uint8Array[] = [];
  /** The static identity key its sessions were made with (docs/security.md "Identity"). */
  identity: Uint8Array | null = null;

  constructor(readonly addrKey: AddrKey, readonly addr: Uint8Array) {}

  chooseSend(now: number): void {
    let fallback: Session | null = null;
    this.send = null;
    for (let i = this.sessions.length - 1; i >= 0; i--) {
      const s = this.sessions[i];
      if (!s.live(now)) continue;
      if (s.confirmed) {
        this.send = s;
        return;
      }
      fallback ??= s;
    }
    // An unconfirmed initiator session is used only when nothing confirmed is left to carry data.
    this.send = fallback;
  }
}

export class SecureTransport {
  readonly counters: SecureCounters = newCounters();
  readonly config: Readonly<SecureConfig>;
  private readonly peers = new Map<AddrKey, Peer>();
  private readonly sessionsByIdx = new Map<number, Session>();
  private readonly sessionPeer = new Map<Session, Peer>();
  private readonly pendingByIdx = new Map<number, Pending>();
  /** Sessions belong to an identity, whatever address it sends from. */
  private readonly identities: PeerIdentities<Peer>;
  private readonly routes = new RouteTable();
  private readonly relays: RelayAllowances;
  private readonly cookies: CookieJar;
  private readonly limiter: RateLimiter;
  private seq = 0;
  private deadline = Infinity;
  // Reused per call: the hot path allocates only the sealed datagram and the opened plaintext (plus
  // node:crypto's cipher objects for datagrams above SMALL_AEAD_MAX, host/common/secure/node-crypto.ts).
  private readonly out: Transmit[] = [];
  private readonly result: Incoming = { deliver: null, source: new Uint8Array(0), via: null, transmits: this.out };
  /** Where replies to the packet being handled go (its source), and the original sender to wrap them for when it came relayed. */
  private replyKey: AddrKey = 0;
  private replyAddr: Uint8Array = new Uint8Array(0);
  private replyVia: Uint8Array | null = null;
  private readonly nonce = new Uint8Array(12);
  private readonly aad = new Uint8Array(DATA_HEADER_LEN);
  private readonly idxBytes = new Uint8Array(4);
  /** Where a sealed DATA datagram is written: a fresh array, or the socket's send batch (sealInto). */
  private allocate: (length: number) => Uint8Array = (length) => new Uint8Array(length);

  constructor(
    readonly crypto: CryptoProvider,
    readonly keyring: Keyring,
    /** This node's static identity, proven in every handshake. */
    readonly identity: Identity,
    now: number,
    config: Partial<SecureConfig> = {},
  ) {
    this.config = { ...DEFAULT_SECURE_CONFIG, ...config };
    this.cookies = new CookieJar(crypto, now, this.config.cookiePeriodMs, this.config.confirmWindowMs);
    this.identities = new PeerIdentities(crypto);
    this.limiter = new RateLimiter(this.config.rateLimitPerSecond, this.config.rateLimitBurst, this.config.rateLimitSources);
    this.relays = new RelayAllowances(this.config.relayCapBytesPerSecond);
  }

  /**
   * The core's OUT_ROUTE: every packet for the peer at `peerAddr` goes to `sendAddr`, wrapped in a RELAY
   * envelope when `kind` is relay. Sessions made under a direct route's send address (before the core
   * knew whose it is) move to the peer: a path change never loses a session. A handshake waiting for
   * an answer on the old path is sent again at once on the new one, its backoff reset. Returns what
   * to send.
   */
  setRoute(peerAddr: Uint8Array, sendAddr: Uint8Array, kind: typeof ROUTE_DIRECT | typeof ROUTE_RELAY, now: number): Transmit[] {
    this.out.length = 0;
    const peerKey = keyOfAddress(peerAddr);
    const sendKey = keyOfAddress(sendAddr);
    this.routes.set(peerKey, peerAddr, sendKey, sendAddr, kind);
    if (kind === ROUTE_DIRECT && sendKey !== peerKey) this.adopt(peerKey, peerAddr, sendKey, now);
    const pending = this.peers.get(peerKey)?.pending;
    if (pending) {
      this.counters.handshake_retransmits++;
      pending.interval = this.config.handshakeRetransmitMs;
      pending.nextSend = now + pending.interval;
      this.wake(pending.nextSend);
      this.transmit(pending.peer, pending.init);
    }
    return this.out;
  }

  /**
   * The member the core knows at `peerAddr` has node id `nodeId` (null: none any more). Handshakes with
   * that address must then prove an identity the id derives from (`wrong_identity`), so a member on
   * the path cannot answer for another, nor speak from another's address.
   */
  expectIdentity(peerAddr: Uint8Array, nodeId: Uint8Array | null): void {
    this.identities.expect(keyOfAddress(peerAddr), nodeId);
  }

  /**
   * The member the core knew at `fromAddr` is at `toAddr` now (a new incarnation: behind a NAT it adopted
   * the address its datagrams come from, docs/nat.md). Sessions are keyed by the member's address, so
   * the ones it proved its identity on under the old address move to the new one, as on a direct route
   * (`adopt`). Left under the old address, its datagrams from the new one would roam the old address
   * there (a route the core just removed) and reach the core named by the old address, and relaying
   * would check the old address against allowances made for the new one. Returns what to send.
   */
  memberMoved(fromAddr: Uint8Array, toAddr: Uint8Array, now: number): Transmit[] {
    this.out.length = 0;
    const fromKey = keyOfAddress(fromAddr);
    const toKey = keyOfAddress(toAddr);
    const identity = this.peers.get(fromKey)?.identity;
    if (fromKey === toKey || !identity || !this.identities.expectedAt(toKey, identity)) return this.out;
    this.routes.delete(fromKey); // one roaming made: the core removed its own, and names the member by `toAddr` now
    this.adopt(toKey, toAddr, fromKey, now);
    return this.out;
  }

  /** The core's OUT_RELAY_ALLOW: relay between the members at `a` and `b`, `budget` bytes/s (0 revokes). */
  allowRelay(a: Uint8Array, b: Uint8Array, budget: number, now: number): void {
    this.relays.set(keyOfAddress(a), keyOfAddress(b), budget, now);
  }

  /** The peer (its 18-byte address) a direct route sends to `sendAddr`, or null. */
  directPeerAt(sendAddr: Uint8Array): Uint8Array | null {
    return this.routes.directFrom(keyOfAddress(sendAddr))?.peerAddr ?? null;
  }

  routeList(): Route[] {
    return this.routes.list();
  }

  relayPairs(): RelayPair[] {
    return this.relays.pairs();
  }

  /**
   * Seals DATA datagrams into buffers from `allocate` (the socket's batch: no copy on the way out).
   * Each buffer is returned in exactly one transmit, right away, and must stay valid until it is sent.
   */
  sealInto(allocate: (length: number) => Uint8Array): void {
    this.allocate = allocate;
  }

  /** Seals `plaintext` for the peer at `addr`, or queues it and starts a handshake. */
  outgoing(addrKey: AddrKey, addr: Uint8Array, plaintext: Uint8Array, now: number): Transmit[] {
    this.out.length = 0;
    // Sent to a direct route's endpoint (the core probing it): that is the route's peer, on its session.
    const direct = this.routes.directFrom(addrKey);
    if (direct !== undefined) {
      addrKey = direct.peerKey;
      addr = direct.peerAddr;
    }
    let peer = this.peers.get(addrKey);
    if (!peer) {
      if (this.peers.size >= this.config.maxPeers) {
        this.counters.too_many_peers++;
        return this.out;
      }
      peer = new Peer(addrKey, Uint8Array.from(addr));
      this.peers.set(addrKey, peer);
    }
    const s = peer.send;
    if (s !== null && now < s.expiresAt && s.sendCounter < REJECT_AFTER_MESSAGES) {
      this.sealTo(peer, s, plaintext);
      if (peer.pending === null && this.rekeyDue(s, now) && peer.sessions[peer.sessions.length - 1] === s) {
        this.startHandshake(peer, now);
      }
      return this.out;
    }
    if (peer.queue.length >= this.config.queueLimit) this.counters.queue_full++;
    else peer.queue.push(Uint8Array.from(plaintext));
    if (peer.pending === null) this.startHandshake(peer, now);
    return this.out;
  }

  /**
   * Checks one datagram from the underlay; `deliver` is set only for authenticated fresh data. With
   * `openInto`, DATA is opened into the buffer it returns for the plaintext's length (the core's input
   * region: no copy), or into a fresh one when it returns null.
   */
  incoming(addrKey: AddrKey, addr: Uint8Array, packet: Uint8Array, now: number, openInto?: OpenInto): Incoming {
    this.out.length = 0;
    const result = this.result;
    result.deliver = null;
    result.source = addr;
    result.via = null;
    if (packet.length < 2) {
      this.counters.bad_length++;
    } else if (packet[0] !== WIRE_VERSION) {
      this.counters.bad_version++;
    } else if (packet[1] === RELAY) {
      this.onRelay(addrKey, addr, packet, now, openInto);
    } else {
      this.replyKey = addrKey;
      this.replyAddr = addr;
      this.replyVia = null;
      // A datagram from a direct route's endpoint is its peer's: sessions are keyed by the peer.
      const route = this.routes.directFrom(addrKey);
      if (route !== undefined) result.source = route.peerAddr;
      this.onPacket(route?.peerKey ?? addrKey, route?.peerAddr ?? addr, addr, packet, now, openInto);
    }
    return result;
  }

  /** A transport packet from the peer at `peerKey`; `cookieAddr` is the address its handshake is bound to. */
  private onPacket(
    peerKey: AddrKey, peerAddr: Uint8Array, cookieAddr: Uint8Array, packet: Uint8Array, now: number,
    openInto?: OpenInto,
  ): void {
    switch (packet[1]) {
      case DATA:
        this.onData(peerKey, packet, now, openInto);
        break;
      case HS_INIT:
        this.onInit(peerKey, cookieAddr, packet, now);
        break;
      case HS_CHALLENGE:
        this.onChallenge(peerKey, cookieAddr, packet, now);
        break;
      case HS_CONFIRM:
        this.onConfirm(peerKey, peerAddr, cookieAddr, packet, now);
        break;
      default:
        this.counters.bad_type++; // a RELAY envelope inside one too: relays do not chain
    }
  }

  // --- RELAY --------------------------------------------------------------------------------------

  /**
   * A RELAY envelope from `srcAddr` (docs/security.md "Relaying"). The sender must hold an established
   * session with us. Then either the core allowed us to relay between the sender and the address
   * field (we forward it, never opening the inner packet), or the envelope brings us a packet from
   * the member in the address field: accepted when our route to that member goes through this relay,
   * or when it is DATA on a session we hold with that member (a path change we have not heard of yet).
   */
  private onRelay(srcKey: AddrKey, srcAddr: Uint8Array, p: Uint8Array, now: number, openInto?: OpenInto): void {
    if (!relayLengthOk(p)) {
      this.counters.bad_length++;
      return;
    }
    const direct = this.routes.directFrom(srcKey);
    const fromKey = direct?.peerKey ?? srcKey;
    const addr = relayAddr(p);
    const otherKey = keyOfAddress(addr);
    if (!this.established(fromKey, now)) {
      this.counters.relay_dropped_not_member++;
      return;
    }
    if (this.relays.allowed(fromKey, otherKey)) {
      this.forward(fromKey, otherKey, p, now);
      return;
    }
    const inner = relayInner(p);
    const route = this.routes.get(otherKey);
    const routedHere = route !== undefined && route.kind === ROUTE_RELAY && route.sendKey === srcKey;
    if (!routedHere && !this.dataOnSessionOf(otherKey, inner, now)) {
      this.counters.relay_dropped_not_allowed++;
      return;
    }
    this.counters.relay_received++;
    this.replyKey = srcKey;
    this.replyAddr = srcAddr;
    this.replyVia = addr;
    this.result.source = addr;
    this.result.via = srcAddr;
    this.onPacket(otherKey, addr, addr, inner, now, openInto);
  }

  /** Forwards a relay request from `fromKey` to `toKey` as `ver, RELAY, addr = from, inner`: same length. */
  private forward(fromKey: AddrKey, toKey: AddrKey, p: Uint8Array, now: number): void {
    const to = this.peers.get(toKey);
    if (to === undefined || !this.established(toKey, now)) {
      this.counters.relay_dropped_not_member++;
      return;
    }
    const route = this.routes.get(toKey);
    if (route?.kind === ROUTE_RELAY) {
      this.counters.relay_dropped_not_allowed++; // relays do not chain
      return;
    }
    if (!this.relays.take(fromKey, toKey, p.length, now)) {
      this.counters.relay_dropped_cap++;
      return;
    }
    const out = this.allocate(p.length);
    out.set(p);
    emitRelayHeader(out, this.peers.get(fromKey)!.addr);
    this.counters.relay_forwarded++;
    this.counters.relay_bytes += p.length;
    this.out.push({ addrKey: route?.sendKey ?? toKey, addr: route?.sendAddr ?? to.addr, data: out });
  }

  /** A peer with a live confirmed session: one that can send to us and be sent to. */
  private established(key: AddrKey, now: number): boolean {
    const peer = this.peers.get(key);
    if (peer === undefined) return false;
    for (const s of peer.sessions) if (s.confirmed && s.live(now)) return true;
    return false;
  }

  /** True when `inner` is DATA for a live session we hold with the peer at `key`. */
  private dataOnSessionOf(key: AddrKey, inner: Uint8Array, now: number): boolean {
    if (inner[0] !== WIRE_VERSION || inner[1] !== DATA || inner.length < DATA_OVERHEAD) return false;
    const s = this.sessionsByIdx.get(readU32(inner, OFF_DATA_IDX));
    return s !== undefined && s.live(now) && this.sessionPeer.get(s)!.addrKey === key;
  }

  /** Retransmits, timeouts, expiry, key removal, cookie rotation. Call by nextTimer() at the latest. */
  tick(now: number): Transmit[] {
    this.out.length = 0;
    this.cookies.rotateIfDue(now);
    this.limiter.prune(now);
    this.deadline = this.cookies.nextRotation;
    for (const p of this.pendingByIdx.values()) {
      if (!this.keyring.has(p.key.id)) {
        this.dropPending(p); // made with a removed key: no responder would answer it; tickPeer starts afresh
        continue;
      }
      if (now - p.started >= this.config.handshakeTimeoutMs) {
        this.counters.handshake_timeouts++;
        this.counters.queue_dropped += p.peer.queue.length;
        p.peer.queue = [];
        this.dropPending(p);
        continue;
      }
      if (now >= p.nextSend) {
        this.counters.handshake_retransmits++;
        p.interval = Math.min(2 * p.interval, this.config.handshakeRetransmitMaxMs);
        p.nextSend = now + p.interval;
        this.transmit(p.peer, p.init);
      }
      this.wake(Math.min(p.nextSend, p.started + this.config.handshakeTimeoutMs));
    }
    for (const peer of this.peers.values()) this.tickPeer(peer, now);
    return this.out;
  }

  /** The time (ms) by which tick() must run next. */
  nextTimer(): number {
    return this.deadline;
  }

  sessionCount(): number {
    return this.sessionsByIdx.size;
  }

  peerCount(): number {
    return this.peers.size;
  }

  pendingCount(): number {
    return this.pendingByIdx.size;
  }

  sessions(now: number): SessionInfo[] {
    const info: SessionInfo[] = [];
    for (const peer of this.peers.values()) {
      for (const s of peer.sessions) {
        info.push({
          addrKey: peer.addrKey, identity: peer.identity, keyId: s.keyId, initiator: s.initiator, confirmed: s.confirmed,
          ageMs: now - s.created, sent: s.sendCounter,
        });
      }
    }
    return info;
  }

  // --- DATA -------------------------------------------------------------------------------------

  private sealTo(peer: Peer, s: Session, plaintext: Uint8Array): void {
    const counter = s.sendCounter++;
    const aad = this.aad;
    aad[0] = WIRE_VERSION;
    aad[1] = DATA;
    writeU32(aad, OFF_DATA_IDX, s.remoteIdx);
    writeU32(aad, OFF_DATA_COUNTER, Math.floor(counter / 4294967296));
    writeU32(aad, OFF_DATA_COUNTER + 4, counter >>> 0);
    const nonce = this.nonce;
    for (let i = 0; i < 8; i++) nonce[4 + i] = aad[OFF_DATA_COUNTER + i];
    // A relayed peer's DATA is sealed right behind the envelope header: no copy to wrap it.
    const route = this.routes.get(peer.addrKey);
    const header = route?.kind === ROUTE_RELAY ? RELAY_HEADER_LEN : 0;
    const datagram = this.allocate(header + DATA_OVERHEAD + plaintext.length);
    if (header !== 0) emitRelayHeader(datagram, peer.addr);
    datagram.set(aad, header);
    this.crypto.seal(s.sendKey, nonce, aad, plaintext, datagram, header + DATA_HEADER_LEN);
    if (plaintext.length === 0) this.counters.keepalives_sent++;
    else this.counters.data_sealed++;
    this.send(peer, route, datagram);
  }

  private onData(addrKey: AddrKey, p: Uint8Array, now: number, openInto?: OpenInto): void {
    if (p.length < DATA_OVERHEAD) {
      this.counters.bad_length++;
      return;
    }
    const s = this.sessionsByIdx.get(readU32(p, OFF_DATA_IDX));
    if (s === undefined || !s.live(now)) {
      this.counters.no_session++;
      return;
    }
    const peer = this.sessionPeer.get(s)!;
    // From another address than the peer's: it roamed (or its NAT rebound) if the datagram opens, and
    // a relayed one must come from the peer it names.
    const roamed = peer.addrKey !== addrKey;
    if (roamed && this.result.via !== null) {
      this.counters.wrong_source++;
      return;
    }
    const hi = readU32(p, OFF_DATA_COUNTER);
    const counter = hi * 4294967296 + readU32(p, OFF_DATA_COUNTER + 4);
    if (counter >= REJECT_AFTER_MESSAGES) {
      this.counters.bad_counter++;
      return;
    }
    const freshness = s.window.check(counter);
    if (freshness !== REPLAY_OK) {
      if (freshness === REPLAY_SEEN) this.counters.replayed++;
      else this.counters.too_old++;
      return;
    }
    const aad = this.aad;
    for (let i = 0; i < DATA_HEADER_LEN; i++) aad[i] = p[i];
    const nonce = this.nonce;
    for (let i = 0; i < 8; i++) nonce[4 + i] = p[OFF_DATA_COUNTER + i];
    const out = openInto?.(p.length - DATA_OVERHEAD, this.result.via !== null) ?? undefined;
    const plaintext = this.crypto.open(s.recvKey, nonce, aad, p, DATA_HEADER_LEN, p.length, out);
    if (plaintext === null) {
      this.counters.decrypt_failed++;
      return;
    }
    s.window.accept(counter);
    if (roamed) this.roam(peer, addrKey);
    if (peer.lastReceived !== s) this.peerMovedTo(peer, s, now);
    if (plaintext.length === 0) {
      this.counters.keepalives_received++;
      return;
    }
    this.counters.data_opened++;
    this.result.deliver = plaintext;
  }

  /** The peer sent on `s`: it holds it, so it is confirmed, and older sessions get their grace period. */
  private peerMovedTo(peer: Peer, s: Session, now: number): void {
    peer.lastReceived = s;
    if (!s.confirmed) {
      s.confirmed = true;
      peer.chooseSend(now);
    }
    for (const old of peer.sessions) {
      if (old.seq < s.seq && old.retireAt === Infinity) {
        old.retireAt = now + this.config.oldSessionGraceMs;
        this.wake(old.retireAt);
      }
    }
  }

  // --- Handshake ----------------------------------------------------------------------------------

  private startHandshake(peer: Peer, now: number): void {
    const key = this.keyring.primary;
    const e = new Uint8Array(32);
    this.crypto.randomFill(e);
    const E = nacl.scalarMult.base(e);
    const N = new Uint8Array(NONCE_LEN);
    this.crypto.randomFill(N);
    const idx = this.freshIndex();
    const init = buildInit(this.crypto, key.key, key.id, idx, E, N, this.identity.publicKey);
    const p: Pending = {
      idx, key, e, E, N, init, peer, started: now,
      nextSend: now + this.config.handshakeRetransmitMs, interval: this.config.handshakeRetransmitMs,
    };
    peer.pending = p;
    this.pendingByIdx.set(idx, p);
    this.counters.handshakes_started++;
    this.wake(p.nextSend);
    this.transmit(peer, init);
  }

  /** Cheap checks common to all handshake messages: exact length, key id in the ring. */
  private admit(p: Uint8Array, length: number): NetworkKey | null {
    if (p.length !== length) {
      this.counters.bad_length++;
      return null;
    }
    const key = this.keyring.get(readU32(p, OFF_KEY_ID));
    if (key === undefined) {
      this.counters.unknown_key_id++;
      return null;
    }
    return key;
  }

  /**
   * The rate limit per source network, charged once a packet's first MAC passed (junk spends no one's
   * tokens); a peer with a live session is not charged (docs/security.md "Rate limits and costs").
   */
  private charge(peerKey: AddrKey, addr: Uint8Array, now: number): boolean {
    if (this.established(peerKey, now) || this.limiter.allow(sourceOf(addr), now)) return true;
    this.counters.rate_limited++;
    return false;
  }

  /** True when `E` is the ephemeral key of a handshake we started. */
  private ownEphemeral(E: Uint8Array): boolean {
    for (const p of this.pendingByIdx.values()) if (equalBytes(p.E, 0, E, 0, PUBLIC_LEN)) return true;
    return false;
  }

  /** Responder, step 1 -> 2: answer a proven HS_INIT statelessly. */
  private onInit(addrKey: AddrKey, addr: Uint8Array, p: Uint8Array, now: number): void {
    // (`addr`: the address the handshake is bound to: the datagram's source, or the relayed sender's.)
    const key = this.admit(p, INIT_LEN);
    if (key === null) return;
    if (!verifyInit(this.crypto, key.key, p)) {
      this.counters.bad_mac++;
      return;
    }
    const Ei = p.subarray(OFF_E, OFF_E + PUBLIC_LEN);
    if (this.ownEphemeral(Ei)) {
      this.counters.reflected++; // our own HS_INIT bounced back: answering it leads to a session with ourselves
      return;
    }
    if (!this.charge(addrKey, addr, now)) return;
    const Ni = p.subarray(OFF_N, OFF_N + NONCE_LEN);
    const Si = p.subarray(OFF_INIT_S, OFF_INIT_S + STATIC_LEN);
    const ours = this.peers.get(addrKey)?.pending;
    if (ours && compareBytes(ours.E, Ei) > 0) {
      // Both sides started at once: only the handshake with the larger E_i goes ahead.
      this.counters.handshake_collisions++;
      return;
    }
    this.cookies.rotateIfDue(now);
    const period = this.cookies.current;
    const Nr = period.cookie(this.crypto, addr, Ei, Ni, Si, this.cookies.slot(now));
    const idxI = readU32(p, OFF_IDX_I);
    this.counters.challenges_sent++;
    this.reply(buildChallenge(this.crypto, key.key, key.id, idxI, period.E, Nr, this.identity.signer, { Ei, Ni, Si }));
  }

  /** Initiator, step 2 -> 3: check the responder's proof, make the session, confirm. */
  private onChallenge(addrKey: AddrKey, addr: Uint8Array, p: Uint8Array, now: number): void {
    const key = this.admit(p, CHALLENGE_LEN);
    if (key === null) return;
    const pending = this.pendingByIdx.get(readU32(p, OFF_IDX_I));
    if (pending === undefined) {
      this.counters.unknown_handshake++;
      return;
    }
    if (pending.key.id !== key.id) {
      this.counters.unknown_key_id++;
      return;
    }
    if (pending.peer.addrKey !== addrKey) {
      this.counters.wrong_source++;
      return;
    }
    const Si = this.identity.publicKey;
    if (!verifyChallenge(this.crypto, key.key, p, { Ei: pending.E, Ni: pending.N, Si })) {
      this.counters.bad_proof++;
      return;
    }
    if (!this.charge(addrKey, addr, now)) return;
    const Er = p.slice(OFF_E, OFF_E + PUBLIC_LEN);
    const Nr = p.slice(OFF_N, OFF_N + NONCE_LEN);
    const Sr = p.slice(OFF_CHALLENGE_S, OFF_CHALLENGE_S + STATIC_LEN);
    if (!this.fitsAddress(pending.peer.addrKey, Sr)) return;
    const keys = deriveSessionKeys(this.crypto, key.key, pending.e, Er, pending.N, Nr, pending.E, Er, Si, Sr);
    if (keys === null) {
      this.counters.bad_proof++;
      return;
    }
    const peer = pending.peer;
    this.dropPending(pending);
    const s = new Session(
      pending.idx, readU32(Nr, 0), key.id,
      this.crypto.aeadKey(keys.initiatorToResponder), this.crypto.aeadKey(keys.responderToInitiator),
      true, now, now + this.config.expireAfterMs, ++this.seq, false,
    );
    wipeSessionKeys(keys);
    this.addSession(peer, s, now);
    this.identities.identify(peer, Sr);
    this.counters.sessions_initiated++;
    this.transmit(peer, buildConfirm(this.crypto, key.key, key.id, pending.idx, pending.E, pending.N, Nr, this.identity.signer, { Er, Sr }));
    this.flushQueue(peer, now);
  }

  /** Responder, step 3: recognise our cookie, check the initiator's proof, and only then allocate. */
  private onConfirm(addrKey: AddrKey, peerAddr: Uint8Array, addr: Uint8Array, p: Uint8Array, now: number): void {
    const key = this.admit(p, CONFIRM_LEN);
    if (key === null) return;
    this.cookies.rotateIfDue(now);
    const Ei = p.subarray(OFF_E, OFF_E + PUBLIC_LEN);
    const Ni = p.subarray(OFF_N, OFF_N + NONCE_LEN);
    const Si = p.slice(OFF_CONFIRM_S, OFF_CONFIRM_S + STATIC_LEN);
    const period = this.cookies.find(addr, Ei, Ni, Si, p, OFF_CONFIRM_NR, now);
    if (period === null) {
      this.counters.bad_cookie++;
      return;
    }
    if (!this.charge(addrKey, addr, now)) return;
    const Nr = p.slice(OFF_CONFIRM_NR, OFF_CONFIRM_NR + NONCE_LEN);
    const nrText = String.fromCharCode(...Nr);
    if (period.accepted.has(nrText)) {
      this.counters.replayed_confirm++; // before the signature: a replay costs no public-key work
      return;
    }
    const Sr = this.identity.publicKey;
    if (!verifyConfirm(this.crypto, key.key, p, { Er: period.E, Sr })) {
      this.counters.bad_proof++;
      return;
    }
    if (!this.fitsAddress(addrKey, Si)) return;
    const idxR = readU32(Nr, 0);
    if (this.sessionsByIdx.has(idxR) || this.pendingByIdx.has(idxR)) {
      this.counters.index_collision++;
      return;
    }
    if (this.sessionsByIdx.size >= this.config.maxSessions) {
      this.counters.too_many_sessions++;
      return;
    }
    const keys = deriveSessionKeys(this.crypto, key.key, period.e, Ei, Ni, Nr, Ei, period.E, Si, Sr);
    if (keys === null) {
      this.counters.bad_proof++;
      return;
    }
    period.accepted.add(nrText);
    let peer = this.roamedPeer(addrKey, peerAddr, Si) ?? this.peers.get(addrKey);
    if (!peer) {
      peer = new Peer(addrKey, Uint8Array.from(peerAddr));
      this.peers.set(addrKey, peer);
    }
    // Their handshake made a session both sides hold; ours toward them is no longer needed.
    if (peer.pending) this.dropPending(peer.pending);
    const s = new Session(
      idxR, readU32(p, OFF_IDX_I), key.id,
      this.crypto.aeadKey(keys.responderToInitiator), this.crypto.aeadKey(keys.initiatorToResponder),
      false, now, now + this.config.expireAfterMs, ++this.seq, true,
    );
    wipeSessionKeys(keys);
    this.addSession(peer, s, now);
    this.identities.identify(peer, Si);
    this.counters.sessions_responded++;
    this.sealTo(peer, s, new Uint8Array(0)); // tells the initiator the session is up
    this.flushQueue(peer, now);
  }

  // --- Bookkeeping --------------------------------------------------------------------------------

  private rekeyDue(s: Session, now: number): boolean {
    const after = s.initiator ? this.config.rekeyAfterMs : this.config.rekeyAfterMs + this.config.responderRekeyDelayMs;
    return now - s.created >= after || s.sendCounter >= this.config.rekeyAfterMessages || s.rekeyDue;
  }

  private addSession(peer: Peer, s: Session, now: number): void {
    if (peer.sessions.length >= this.config.maxSessionsPerPeer) this.removeSession(peer, peer.sessions[0]);
    peer.sessions.push(s);
    this.sessionsByIdx.set(s.localIdx, s);
    this.sessionPeer.set(s, peer);
    peer.chooseSend(now);
    this.wake(s.confirmed ? s.expiresAt : s.created + this.config.confirmTimeoutMs);
  }

  private removeSession(peer: Peer, s: Session): void {
    peer.sessions.splice(peer.sessions.indexOf(s), 1);
    this.sessionsByIdx.delete(s.localIdx);
    this.sessionPeer.delete(s);
    this.crypto.disposeAeadKey(s.sendKey);
    this.crypto.disposeAeadKey(s.recvKey);
    if (peer.lastReceived === s) peer.lastReceived = null;
    if (peer.send === s) peer.send = null;
  }

  private dropPending(p: Pending): void {
    p.e.fill(0); // the initiator's ephemeral key is not needed past this point
    this.pendingByIdx.delete(p.idx);
    if (p.peer.pending === p) p.peer.pending = null;
  }

  private flushQueue(peer: Peer, now: number): void {
    const s = peer.send;
    if (s === null || !s.live(now) || peer.queue.length === 0) return;
    const queued = peer.queue;
    peer.queue = [];
    for (const plaintext of queued) this.sealTo(peer, s, plaintext);
  }

  private tickPeer(peer: Peer, now: number): void {
    let trafficLost = false;
    for (const s of [...peer.sessions]) {
      if (!s.live(now)) {
        this.counters.sessions_expired++;
        this.removeSession(peer, s);
      } else if (!s.confirmed && now - s.created >= this.config.confirmTimeoutMs) {
        // The confirm or every answer to it was lost: the responder may not hold this session.
        this.counters.confirm_timeouts++;
        trafficLost ||= s.sendCounter > 0;
        this.removeSession(peer, s);
      } else {
        if (!this.keyring.has(s.keyId) && s.retireAt > now + this.config.removedKeyGraceMs) {
          // `divs key remove`: replaced at once, and decrypting only until the peer has had time to move.
          this.counters.sessions_evicted++;
          s.rekeyDue = true;
          s.retireAt = now + this.config.removedKeyGraceMs;
          trafficLost = true;
        }
        this.wake(Math.min(s.expiresAt, s.retireAt, s.confirmed ? Infinity : s.created + this.config.confirmTimeoutMs));
      }
    }
    peer.chooseSend(now);
    if (trafficLost && (peer.send === null || peer.send.rekeyDue) && peer.pending === null) this.startHandshake(peer, now);
    if (peer.sessions.length === 0 && peer.pending === null && peer.queue.length === 0) {
      this.peers.delete(peer.addrKey);
      this.identities.forget(peer);
    }
  }

  private freshIndex(): number {
    for (;;) {
      this.crypto.randomFill(this.idxBytes);
      const idx = readU32(this.idxBytes, 0);
      if (!this.sessionsByIdx.has(idx) && !this.pendingByIdx.has(idx)) return idx;
    }
  }

  /** A handshake message for `peer`, along its route (wrapped for a relay). */
  private transmit(peer: Peer, data: Uint8Array): void {
    const route = this.routes.get(peer.addrKey);
    this.send(peer, route, route?.kind === ROUTE_RELAY ? wrapRelay(peer.addr, data) : data);
  }

  /** `data` (already wrapped when the route is a relay) to the route's address, or the peer's. */
  private send(peer: Peer, route: Route | undefined, data: Uint8Array): void {
    if (route === undefined) {
      this.out.push({ addrKey: peer.addrKey, addr: peer.addr, data });
      return;
    }
    if (route.kind === ROUTE_RELAY) this.counters.relay_sent++;
    this.out.push({ addrKey: route.sendKey, addr: route.sendAddr, data });
  }

  /** An answer to the packet being handled goes back the way it came: to its source, through its relay. */
  private reply(data: Uint8Array): void {
    const via = this.replyVia;
    if (via !== null) this.counters.relay_sent++;
    this.out.push({ addrKey: this.replyKey, addr: Uint8Array.from(this.replyAddr), data: via === null ? data : wrapRelay(via, data) });
  }

  /** Moves what is held under `fromKey` (a direct route's send address, a moved member's old address) to the peer at `peerKey`. */
  private adopt(peerKey: AddrKey, peerAddr: Uint8Array, fromKey: AddrKey, now: number): void {
    const from = this.peers.get(fromKey);
    if (from === undefined) return;
    this.peers.delete(fromKey);
    let peer = this.peers.get(peerKey);
    if (!peer) {
      peer = new Peer(peerKey, Uint8Array.from(peerAddr));
      this.peers.set(peerKey, peer);
    }
    for (const s of from.sessions) {
      this.sessionPeer.set(s, peer);
      peer.sessions.push(s);
    }
    peer.sessions.sort((x, y) => x.seq - y.seq);
    while (peer.sessions.length > this.config.maxSessionsPerPeer) this.removeSession(peer, peer.sessions[0]);
    if (from.lastReceived !== null && peer.sessions.includes(from.lastReceived) &&
        (peer.lastReceived === null || from.lastReceived.seq > peer.lastReceived.seq)) {
      peer.lastReceived = from.lastReceived;
    }
    if (from.pending !== null) {
      if (peer.pending === null) {
        peer.pending = from.pending;
        from.pending.peer = peer;
      } else {
        this.dropPending(from.pending);
      }
    }
    for (const q of from.queue) if (peer.queue.length < this.config.queueLimit) peer.queue.push(q);
    if (from.identity !== null) this.identities.identify(peer, from.identity);
    peer.chooseSend(now);
    this.flushQueue(peer, now);
  }

  // --- Identities ---------------------------------------------------------------------------------

  /** True unless the core knows another member at `peerKey` than the one `identity` makes (counted). */
  private fitsAddress(peerKey: AddrKey, identity: Uint8Array): boolean {
    if (this.identities.fits(peerKey, identity)) return true;
    this.counters.wrong_identity++;
    return false;
  }

  /**
   * The peer that already holds sessions with `identity` at another address than `addrKey` (a handshake
   * from where it roamed to), rerouted to `addrKey`; or null.
   */
  private roamedPeer(addrKey: AddrKey, addr: Uint8Array, identity: Uint8Array): Peer | null {
    const known = this.identities.holder(identity);
    if (known === undefined || known.addrKey === addrKey || this.replyVia !== null) return null;
    if (this.peers.get(addrKey)?.sessions.length) return null; // a peer of its own lives there
    this.roam(known, addrKey, addr);
    return known;
  }

  /**
   * The peer's datagrams now come from `addrKey` (NAT rebinding, roaming): send there from now on, and
   * take datagrams from there as the peer's, which the core keeps knowing by its address.
   */
  private roam(peer: Peer, addrKey: AddrKey, addr: Uint8Array = this.replyAddr): void {
    this.counters.peer_roamed++;
    this.routes.set(peer.addrKey, peer.addr, addrKey, addr, ROUTE_DIRECT);
    this.result.source = peer.addr;
  }

  private wake(t: number): void {
    if (t < this.deadline) this.deadline = t;
  }
}
