// The transport layer's state machine (docs/security.md), sans-IO, driven as the core is (quinn-proto's
// model): the host passes datagrams, their address key and 18-byte address, and the time; each
// datagram to send goes to the sink given to transmitTo() as it is made, what to deliver to the core
// comes back from incoming() (reused: valid until the next call), and pollTimeout() says when
// handleTimeout() must run.
// This file is its surface; the steps behind it share a TransportContext (context.ts): a packet to
// its step (packets.ts), sealing and opening DATA (data.ts), the handshake's two sides (initiator.ts,
// responder.ts, handshake-checks.ts), relay envelopes (relaying.ts), the core's routes
// (route-change.ts), roaming (roaming.ts), the timer (upkeep.ts).
import { REJECT_AFTER_MESSAGES, type SecureConfig } from "./config.ts";
import { TransportContext } from "./context.ts";
import type { SecureCounters } from "./counters.ts";
import { type Destination, sealTo } from "./data.ts";
import type { BanList } from "./bans.ts";
import { RELAY } from "./envelope.ts";
import { CONTROL, DATA, WIRE_VERSION } from "./handshake.ts";
import type { Identity } from "./identity.ts";
import { startHandshake } from "./initiator.ts";
import type { Keyring } from "./keyring.ts";
import { onPacket } from "./packets.ts";
import type { CryptoProvider } from "./provider.ts";
import type { RelayPair } from "./relay.ts";
import { onRelay } from "./relaying.ts";
import type { Incoming, OpenInto, TransmitSink } from "./results.ts";
import { memberMoved, setRoute } from "./route-change.ts";
import type { ROUTE_DIRECT, ROUTE_RELAY, Route } from "./routes.ts";
import { rekeyDue, tick } from "./upkeep.ts";
import { keyOfAddress } from "../net/address.ts";

/** How the host names an underlay address in maps: a number (IPv4 * 65536 + port) or a string. */
export type { AddrKey } from "./addr-key.ts";
import type { AddrKey } from "./addr-key.ts";
export type { Incoming, OpenInto, TransmitSink } from "./results.ts";

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

export class SecureTransport {
  readonly counters: SecureCounters;
  readonly config: Readonly<SecureConfig>;
  private readonly ctx: TransportContext;

  constructor(
    readonly crypto: CryptoProvider,
    readonly keyring: Keyring,
    /** This node's static identity, proven in every handshake. */
    readonly identity: Identity,
    now: number,
    config: Partial<SecureConfig> = {},
  ) {
    this.ctx = new TransportContext(crypto, keyring, identity, now, config);
    this.counters = this.ctx.counters;
    this.config = this.ctx.config;
  }

  /** Where every datagram to send goes, as it is made (the host's socket batch). */
  transmitTo(sink: TransmitSink): void {
    this.ctx.sink = sink;
  }

  /**
   * The core's OUT_ROUTE: every packet for the peer at `peerAddr` goes to `sendAddr`, wrapped in a RELAY
   * envelope when `kind` is relay (route-change.ts).
   */
  setRoute(peerAddr: Uint8Array, sendAddr: Uint8Array, kind: typeof ROUTE_DIRECT | typeof ROUTE_RELAY, now: number): void {
    setRoute(this.ctx, peerAddr, sendAddr, kind, now);
  }

  /**
   * The member the core knows at `peerAddr` has node id `nodeId` (null: none any more). Handshakes with
   * that address must then prove an identity the id derives from (`wrong_identity`), so a member on
   * the path cannot answer for another, nor speak from another's address.
   */
  expectIdentity(peerAddr: Uint8Array, nodeId: Uint8Array | null): void {
    this.ctx.identities.expect(keyOfAddress(peerAddr), nodeId);
  }

  /** A member the core knew at `fromAddr` moved to `toAddr`: its sessions follow it (route-change.ts). */
  memberMoved(fromAddr: Uint8Array, toAddr: Uint8Array, now: number): void {
    memberMoved(this.ctx, fromAddr, toAddr, now);
  }

  /** The core's OUT_RELAY_ALLOW: relay between the members at `a` and `b`, `budget` bytes/s (0 revokes). */
  allowRelay(a: Uint8Array, b: Uint8Array, budget: number, now: number): void {
    this.ctx.relays.set(keyOfAddress(a), keyOfAddress(b), budget, now);
  }

  /** The peer (its 18-byte address) a direct route sends to `sendAddr`, or null. */
  directPeerAt(sendAddr: Uint8Array): Uint8Array | null {
    return this.ctx.routes.directFrom(keyOfAddress(sendAddr))?.peerAddr ?? null;
  }

  routeList(): Route[] {
    return this.ctx.routes.list();
  }

  relayPairs(): RelayPair[] {
    return this.ctx.relays.pairs();
  }

  /**
   * Seals DATA datagrams into buffers from `allocate` (the socket's batch: no copy on the way out).
   * Each buffer is returned in exactly one transmit, right away, and must stay valid until it is sent.
   */
  sealInto(allocate: (length: number) => Uint8Array): void {
    this.ctx.allocate = allocate;
  }

  /**
   * Seals `plaintext` for the peer at `addr`, or queues it and starts a handshake. `unrouted` (the core's
   * DATAGRAM_UNROUTED, a probe of that address) sends it to `addr` itself, not along the peer's route;
   * one that waits for a handshake takes the route like the rest of the queue.
   */
  outgoing(addrKey: AddrKey, addr: Uint8Array, plaintext: Uint8Array, now: number, unrouted = false): void {
    const t = this.ctx;
    const to: Destination | null = unrouted ? { addrKey, addr } : null;
    // Sent to a direct route's endpoint (the core probing it): that is the route's peer, on its session.
    const direct = t.routes.directFrom(addrKey);
    if (direct !== undefined) {
      addrKey = direct.peerKey;
      addr = direct.peerAddr;
    }
    const peer = t.peerAt(addrKey, addr);
    if (peer === null) return;
    const s = peer.send;
    if (s !== null && now < s.expiresAt && s.sendCounter < REJECT_AFTER_MESSAGES) {
      sealTo(t, peer, s, plaintext, DATA, to);
      if (peer.pending === null && rekeyDue(t, s, now) && peer.sessions[peer.sessions.length - 1] === s) {
        startHandshake(t, peer, now);
      }
      return;
    }
    if (peer.queue.length >= t.config.queueLimit) t.counters.queue_full++;
    else peer.queue.push(Uint8Array.from(plaintext));
    if (peer.pending === null) startHandshake(t, peer, now);
  }

  /**
   * Seals a CONTROL message (the host's own, docs/security.md "Removing a node") for the peer at `addr`
   * on its live session; true when sealed. Without one nothing is sent and a handshake starts, so that
   * the caller's next try finds a session: CONTROL messages are retried by their protocol, never queued here.
   */
  control(addrKey: AddrKey, addr: Uint8Array, message: Uint8Array, now: number): boolean {
    const t = this.ctx;
    const peer = t.peerAt(addrKey, addr);
    if (peer === null) return false;
    const s = peer.send;
    if (s !== null && s.live(now) && s.sendCounter < REJECT_AFTER_MESSAGES) {
      sealTo(t, peer, s, message, CONTROL);
      return true;
    }
    if (peer.pending === null) startHandshake(t, peer, now);
    return false;
  }

  /** Identities removed from the switch (`divs remove`): their handshakes are refused. */
  get bans(): BanList {
    return this.ctx.bans;
  }

  /**
   * Bans the identity with this node id: its handshakes are refused from now on (`banned`), and the
   * sessions, handshake and queue of the peer that proved it are dropped at once (`sessions_banned`).
   */
  ban(nodeId: Uint8Array): void {
    const t = this.ctx;
    t.bans.add(nodeId);
    for (const peer of [...t.peers.values()]) {
      if (peer.identity === null || !t.bans.bansKey(peer.identity)) continue;
      for (const s of [...peer.sessions]) {
        t.counters.sessions_banned++;
        t.removeSession(peer, s);
      }
      if (peer.pending !== null) t.dropPending(peer.pending);
      t.counters.queue_dropped += peer.queue.length;
      peer.queue = [];
      t.peers.delete(peer.addrKey);
      t.identities.forget(peer);
    }
  }

  /**
   * Checks one datagram from the underlay; `deliver` is set only for authenticated fresh data. With
   * `openInto`, DATA is opened into the buffer it returns for the plaintext's length (the core's input
   * region: no copy), or into a fresh one when it returns null.
   */
  incoming(addrKey: AddrKey, addr: Uint8Array, packet: Uint8Array, now: number, openInto?: OpenInto): Incoming {
    const t = this.ctx;
    const result = t.result;
    result.deliver = null;
    result.source = addr;
    result.via = null;
    result.control = null;
    result.controlFrom = null;
    if (packet.length < 2) {
      t.counters.bad_length++;
    } else if (packet[0] !== WIRE_VERSION) {
      t.counters.bad_version++;
    } else if (packet[1] === RELAY) {
      onRelay(t, addrKey, addr, packet, now, openInto);
    } else {
      t.replyKey = addrKey;
      t.replyAddr = addr;
      t.replyVia = null;
      // A datagram from a direct route's endpoint is its peer's: sessions are keyed by the peer.
      const route = t.routes.directFrom(addrKey);
      if (route !== undefined) result.source = route.peerAddr;
      onPacket(t, route?.peerKey ?? addrKey, route?.peerAddr ?? addr, addr, packet, now, openInto);
    }
    return result;
  }

  /** Retransmits, timeouts, expiry, key removal, cookie rotation (upkeep.ts). Call by pollTimeout() at the latest. */
  handleTimeout(now: number): void {
    tick(this.ctx, now);
  }

  /** The time (ms) by which handleTimeout() must run next. */
  pollTimeout(): number {
    return this.ctx.deadline;
  }

  sessionCount(): number {
    return this.ctx.sessionsByIdx.size;
  }

  peerCount(): number {
    return this.ctx.peers.size;
  }

  pendingCount(): number {
    return this.ctx.pendingByIdx.size;
  }

  sessions(now: number): SessionInfo[] {
    const info: SessionInfo[] = [];
    for (const peer of this.ctx.peers.values()) {
      for (const s of peer.sessions) {
        info.push({
          addrKey: peer.addrKey, identity: peer.identity, keyId: s.keyId, initiator: s.initiator, confirmed: s.confirmed,
          ageMs: now - s.created, sent: s.sendCounter,
        });
      }
    }
    return info;
  }
}
