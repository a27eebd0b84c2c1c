// The pump of two sans-IO machines, driven alike (quinn-proto's model): the core and the transport layer
// (docs/security.md) take input and the time, hand what they make to a sink as they make it (the core's
// records to handleOutput, the transport's datagrams to transmit), and say when they are due next
// (pollTimeout); one timer is armed at the earliest of those deadlines and runs the due machines'
// handleTimeout. Input records are batched per process() call; randomness is fed with every core tick.
// Every underlay datagram passes the transport: the core's OUT_DATAGRAMs are sealed (or queued behind a
// handshake), and only authenticated plaintext becomes an IN_DATAGRAM.
import { hexU64 } from "../base/node-id.ts";
import { ADDR_SLOT, DATAGRAM_FLAGS, DATAGRAM_UNROUTED, OUT_DATAGRAM, OUT_DHCP_ADDRESS, OUT_DHCP_SAVE, OUT_EVENT, OUT_FRAME, OUT_LOG, OUT_MAC, OUT_MEMBER, OUT_PATH, OUT_PATHS_REPORT, OUT_PONG, OUT_RELAY_ALLOW, OUT_ROUTE, OUT_SELF, OUT_STAT, OUT_TIMER } from "../core/abi.ts";
import { type HostPort, addressBytes, keyOfAddress, ADDR_LEN } from "../net/address.ts";
import type { Core } from "../core/core.ts";
import { type DhcpState, decodeDhcpRecord } from "./dhcp.ts";
import type { SavedDhcpState } from "../state/dhcp-state.ts";
import { MemberIdentities } from "./member-identities.ts";
import { PendingRequests } from "./pending-requests.ts";
import { type CoreEvent, decodeEvent, decodeMac, decodeMember, type MacEntry, type Member } from "../core/records.ts";
import type { Clock, DatagramTransport, Logger, Randomness, TapDevice, Timers } from "../base/services.ts";
import { RandomPool } from "../base/random-pool.ts";
import {
  decodePath, decodePathsReport, decodePong, decodeRelayAllow, decodeRoute, decodeSelf, type PathRecord, type PathsReport,
  type Pong, type ReportedPath, type SelfRecord,
} from "../core/path-records.ts";
import { DATA_OVERHEAD, nodeIdOf, ROUTE_DIRECT, ROUTE_RELAY, type SecureTransport, type TransmitSink } from "../secure/index.ts";
import { type RemovalReport, Removals, type RemovalTarget } from "../secure/removal.ts";

const START_RANDOM_BYTES = 32;
/** OUT_EVENT (docs/abi.md): u16 kind at 0 (1: join), the member's address slot at 16. */
const EVENT_JOIN = 1;
const EVENT_ADDR = 16;
const TICK_RANDOM_BYTES = 8;
/** Node timers may fire up to a millisecond before performance.now() reaches the deadline. */
const TIMER_SLACK_MS = 1;

/** A sans-IO machine's clock (quinn-proto's poll_timeout / handle_timeout): the core, the transport, removals. */
interface Timed {
  /** When handleTimeout() must run next (ms; Infinity: nothing scheduled). */
  pollTimeout(): number;
  handleTimeout(now: number): void;
}

export interface Identity {
  nodeId: Uint8Array; // 8 bytes
  name: string;
  advertise: HostPort;
}

export interface DriverServices {
  clock: Clock;
  timers: Timers;
  random: Randomness;
  log: Logger;
  /** Wake-ups of the runtime loop's latency wake (host/engine/latency-wake.ts). */
  latencyWakes(): number;
}

/** Counters of the host's own work and failures; the core's counters come from stats_dump. */
export interface HostCounters {
  process_calls: number;
  frames_read: number;
  /** Underlay datagrams received, before the transport layer checks them. */
  datagrams_read: number;
  /** Of those, authenticated plaintext handed to the core. */
  datagrams_delivered: number;
  tap_write_errors: number;
  /** Bytes of the frames read from and written to the TAP (virtio-net header included), for --metrics. */
  tap_bytes_read: number;
  tap_bytes_written: number;
  /** Bytes of the datagrams received (before the transport layer) and handed to the socket to send. */
  udp_bytes_received: number;
  udp_bytes_sent: number;
  /** Datagrams the socket could not send (an IPv6 address on an IPv4 socket, a full buffer, another error). */
  udp_send_errors: number;
  /** Sends the socket refused with EMSGSIZE (DF, a path MTU below the datagram), told to the core. */
  udp_send_too_big: number;
  /** sendmmsg(2) calls and the datagrams they carried; recvmmsg(2) calls and the datagrams they read. */
  udp_send_calls: number;
  udp_datagrams_sent: number;
  udp_recv_calls: number;
  timer_ticks: number;
  /** Wake-ups of the runtime loop's latency wake (host/engine/latency-wake.ts). */
  latency_wakes: number;
  /** OUT_ROUTE / OUT_RELAY_ALLOW / OUT_PONG records too short or of an unknown kind: not carried out. */
  core_records_malformed: number;
  /** `divs ping`: IN_PINGs pushed, OUT_PONGs matched, pings that had no answer within their timeout. */
  pings_sent: number;
  pongs_received: number;
  pings_timed_out: number;
}

export class Driver {
  readonly counters: Omit<HostCounters, "latency_wakes" | "udp_send_errors" | "udp_send_too_big" | "udp_send_calls" | "udp_datagrams_sent" | "udp_recv_calls"> = {
    process_calls: 0, frames_read: 0, datagrams_read: 0, datagrams_delivered: 0, tap_write_errors: 0,
    tap_bytes_read: 0, tap_bytes_written: 0, udp_bytes_received: 0, udp_bytes_sent: 0, timer_ticks: 0, core_records_malformed: 0, pings_sent: 0, pongs_received: 0, pings_timed_out: 0,
  };
  readonly startedAt: number;
  private tap: TapDevice | null = null;
  private transport: DatagramTransport | null = null;
  private timer: unknown = null;
  /** What the armed timer is for: the earliest pollTimeout() of the machines. */
  private timerDeadline = Infinity;
  /** The core's deadline: the latest process() call that returned an OUT_TIMER set it. */
  private coreDeadline = Infinity;
  /** The earliest OUT_TIMER of the process() call being drained. */
  private nextDeadline = Infinity;
  /** The time of the process() call being drained, for the transport layer. */
  private now = 0;
  /** A sendTooBig record waits for the core: process again once this batch is sent. */
  private tooBigPending = false;
  private readonly tickRandom = new Uint8Array(TICK_RANDOM_BYTES);
  /** The ticks' randomness, from one larger fill of the runtime's CSPRNG at a time. */
  private readonly random: Randomness;
  private eventListeners: ((e: CoreEvent) => void)[] = [];
  /** Set by OUT_DHCP_SAVE during a drain: `saveDhcp` gets the state once the drain is done. */
  private dhcpSaveDue = false;
  private saveDhcp: ((chunks: Uint8Array[]) => void) | null = null;
  private selfAddress: ((ip: number, prefix: number, leaseS: number) => void) | null = null;
  private readonly pings: PendingRequests<Pong>;
  private readonly pathQueries: PendingRequests<PathsReport>;
  private readonly memberIdentities: MemberIdentities;
  /** `divs remove`, issued here or by another member (docs/security.md "Removing a node"). */
  readonly removals: Removals;
  private readonly banListeners: ((nodeId: Uint8Array) => void)[] = [];
  private twinWarned = false;

  constructor(
    readonly core: Core,
    readonly identity: Identity,
    readonly secure: SecureTransport,
    private readonly services: DriverServices,
  ) {
    this.startedAt = services.clock.now();
    this.random = new RandomPool(services.random);
    secure.transmitTo(this.transmit);
    this.memberIdentities = new MemberIdentities(secure);
    this.pings = new PendingRequests(services.timers, () => this.counters.pings_timed_out++);
    this.pathQueries = new PendingRequests(services.timers);
    this.removals = new Removals(secure.crypto, secure.keyring, identity.nodeId, {
      ban: (nodeId) => this.ban(nodeId),
      keysChanged: () => this.keyringChanged(),
      send: (addr, message) => this.secure.control(keyOfAddress(addr), addr, message, this.services.clock.now()),
      bans: () => this.secure.bans.list(),
    });
    this.timed = [secure, this.removals, this.coreTimer];
  }

  /**
   * Identity and entropy first, then seeds to join through (none: this node starts a switch), then a
   * saved DHCP state, all before the first process() call: the core seeds a pool only where nothing was saved.
   */
  start(tap: TapDevice, transport: DatagramTransport, seeds: HostPort[], dhcp: SavedDhcpState | null = null, bans: Uint8Array[] = []): void {
    this.tap = tap;
    this.transport = transport;
    const entropy = new Uint8Array(START_RANDOM_BYTES);
    this.random.fill(entropy);
    this.core.pushRandom(entropy);
    this.core.pushIdentity(this.identity.nodeId, addressBytes(this.identity.advertise), this.identity.name);
    for (const seed of seeds) this.core.pushJoin(addressBytes(seed));
    for (const nodeId of bans) this.applyBan(nodeId); // kept in the state directory: still refused after a restart
    for (const chunk of dhcp?.chunks ?? []) {
      if (!this.core.fits(8 + chunk.length)) this.flush(); // chunks are at most 60 KB: the first fits
      this.core.pushDhcpRestore(dhcp!.elapsedMs, chunk);
    }
    this.flush();
  }

  /** `--address dhcp`: asks the core for the TAP's lease (IN_DHCP_SELF); `onSelfAddress` hears the answer. */
  askSelfLease(mac: Uint8Array): void {
    if (!this.core.fits(8 + 64)) this.flush();
    this.core.pushDhcpSelf(mac, this.identity.name);
    this.flush();
  }

  onSelfAddress(listener: (ip: number, prefix: number, leaseS: number) => void): void {
    this.selfAddress = listener;
  }

  /** Where the DHCP state goes whenever the core says it changed (host/state/dhcp-state.ts). */
  onDhcpSave(save: (chunks: Uint8Array[]) => void): void {
    this.saveDhcp = save;
  }

  /** Runs for every identity newly banned here (by `divs remove` here or on another member): to persist it. */
  onBan(listener: (nodeId: Uint8Array) => void): void {
    this.banListeners.push(listener);
  }

  /**
   * `divs remove`: bans the member with this 8-byte id switch-wide and moves `targets` (the members to
   * keep) to a new network key; resolves once every one answered or a step timed out.
   */
  remove(nodeId: Uint8Array, targets: RemovalTarget[]): Promise<RemovalReport> {
    return new Promise((resolve) => {
      this.removals.start(nodeId, targets, this.services.clock.now(), resolve);
      this.flush(); // the core hears of the ban; the first messages go out with the drain
    });
  }

  private ban(nodeId: Uint8Array): void {
    if (this.secure.bans.hasId(nodeId)) return;
    this.applyBan(nodeId);
    for (const l of this.banListeners) l(nodeId);
  }

  /** The transport refuses the identity and drops its sessions; the core declares it dead for good. */
  private applyBan(nodeId: Uint8Array): void {
    this.secure.ban(nodeId);
    if (!this.core.fits(8)) this.flush();
    this.core.pushBan(nodeId);
  }

  onEvent(listener: (e: CoreEvent) => void): void {
    this.eventListeners.push(listener);
  }

  /** A frame read from TAP. The caller calls flush() after a batch. */
  frameIn(frame: Uint8Array): void {
    if (!this.core.fits(frame.length)) this.flush();
    this.core.pushFrame(frame);
    this.counters.frames_read++;
    this.counters.tap_bytes_read += frame.length;
  }

  /**
   * A datagram from the underlay: the transport layer answers handshakes itself and hands over only
   * authenticated plaintext, which is processed with the rest of its batch. The socket calls
   * datagramBatchEnd() after a batch.
   */
  datagramIn(address: Uint8Array, addressOffset: number, datagram: Uint8Array): void {
    this.counters.datagrams_read++;
    this.counters.udp_bytes_received += datagram.length;
    const addr = addressOffset === 0 ? address : address.subarray(addressOffset, addressOffset + ADDR_LEN);
    this.slot = null;
    const r = this.secure.incoming(keyOfAddress(addr), addr, datagram, this.services.clock.now(), this.openIntoCore);
    if (r.control !== null && r.controlFrom !== null) {
      this.removals.message(nodeIdOf(this.secure.crypto, r.controlFrom), Uint8Array.from(r.source), r.control, this.services.clock.now());
    }
    const plaintext = r.deliver;
    if (plaintext === null) {
      this.armTimer(); // a handshake may have set an earlier transport deadline
      return;
    }
    const inPlace = plaintext === (this.slot as Uint8Array | null); // (set by openIntoCore during incoming())
    if (r.via !== null) {
      // Relayed: the core hears the original sender and the relay it came through.
      if (inPlace) this.core.pushOpenedDatagramVia(r.source, r.via, plaintext.length);
      else {
        if (!this.core.fits(2 * ADDR_SLOT + plaintext.length)) this.flush();
        this.core.pushDatagramVia(r.source, r.via, plaintext);
      }
    } else if (inPlace) {
      this.core.pushOpenedDatagram(r.source, plaintext.length); // opened in place
    } else {
      if (!this.core.fits(ADDR_SLOT + plaintext.length)) this.flush();
      this.core.pushDatagram(r.source, 0, plaintext);
    }
    this.counters.datagrams_delivered++;
  }

  /** DATA is opened straight into the core's input region when it fits (else datagramIn copies it after a flush). */
  private slot: Uint8Array | null = null;
  private readonly openIntoCore = (length: number, relayed: boolean) => (this.slot = this.core.datagramSlot(length, relayed));

  /** The end of a batch of datagramIn() calls: one process() for the batch, or just the handshake replies. */
  datagramBatchEnd(): void {
    if (this.core.pendingInput > 0) this.flush();
    else this.sendQueued();
  }

  /** Sends the queued datagrams; a refusal the core must hear is processed at once. */
  private sendQueued(): void {
    this.transport!.flush();
    if (this.tooBigPending) {
      // Not at the core's next timer: each round needs a smaller refused size, so this ends.
      this.tooBigPending = false;
      this.flush();
    }
  }

  /**
   * The socket could not send `length` bytes to `address` (EMSGSIZE: DF and a smaller path MTU). A
   * DATA datagram's plaintext size goes to the core (IN_SEND_TOO_BIG); handshake messages (a few
   * hundred bytes at most) are below any path MTU (IPv6 guarantees 1280 bytes).
   */
  sendTooBig(address: Uint8Array, addressOffset: number, length: number): void {
    if (length <= DATA_OVERHEAD) return;
    const sentTo = addressOffset === 0 ? address : address.subarray(addressOffset, addressOffset + ADDR_LEN);
    // The core knows a peer by its address, not by the endpoint a direct route sends to.
    const addr = this.secure.directPeerAt(sentTo) ?? sentTo;
    if (!this.core.fits(ADDR_SLOT + 4)) return; // the core hears the next refusal
    this.core.pushSendTooBig(addr, length - DATA_OVERHEAD);
    this.tooBigPending = true;
  }

  /** This node's local addresses (host/net/local-addresses.ts) for the core, replacing the last list. */
  setCandidates(candidates: HostPort[]): void {
    if (!this.core.fits(candidates.length * ADDR_SLOT)) this.flush();
    this.core.pushCandidates(candidates.map(addressBytes));
    this.flush();
  }

  /**
   * `divs ping`: asks the core to ping the member with this 8-byte id over its path (IN_PING); resolves
   * with its OUT_PONG, or null when none came within `timeoutMs`.
   */
  ping(nodeId: Uint8Array, timeoutMs: number): Promise<Pong | null> {
    this.counters.pings_sent++;
    return this.pings.start(timeoutMs, (seq) => {
      if (!this.core.fits(12)) this.flush();
      this.core.pushPing(nodeId, seq);
      this.flush();
    });
  }

  private pong(body: Uint8Array): void {
    const pong = decodePong(body);
    if (pong === null) this.counters.core_records_malformed++;
    else if (this.pings.answer(pong.seq, pong)) this.counters.pongs_received++;
  }

  /**
   * `divs paths`: the paths the member with this 8-byte id reports (IN_PATHS_QUERY, page after page of
   * OUT_PATHS_REPORT); null when a page did not come within `timeoutMs`.
   */
  async reportedPaths(nodeId: Uint8Array, timeoutMs: number): Promise<ReportedPath[] | null> {
    const paths: ReportedPath[] = [];
    for (;;) {
      const start = paths.length;
      const page = await this.pathQueries.start(timeoutMs, (seq) => {
        if (!this.core.fits(14)) this.flush();
        this.core.pushPathsQuery(nodeId, seq, start);
        this.flush();
      });
      if (page === null) return null;
      paths.push(...page.paths);
      if (page.paths.length === 0 || paths.length >= page.total) return paths;
    }
  }

  private pathsReport(body: Uint8Array): void {
    const report = decodePathsReport(body);
    if (report === null) this.counters.core_records_malformed++;
    else this.pathQueries.answer(report.seq, report);
  }

  /** Announces a graceful leave; the caller keeps the sockets open a moment so it goes out. */
  leave(): void {
    this.core.pushLeave();
    this.flush();
  }

  /** Processes the batched input, then arms the timer and sends what both machines made. */
  flush(): void {
    this.processBatch();
    this.armTimer();
    this.sendQueued(); // the drain's datagrams, in as few system calls as the kernel allows
  }

  private processBatch(): void {
    this.counters.process_calls++;
    this.now = this.services.clock.now();
    this.nextDeadline = Infinity;
    this.core.process(this.now, this.handleOutput);
    if (this.nextDeadline !== Infinity) this.coreDeadline = this.nextDeadline;
    if (this.dhcpSaveDue) {
      this.dhcpSaveDue = false;
      this.saveDhcp?.(this.core.dhcpState());
    }
  }

  /** After a keyring change: sessions under a removed key are marked for rekeying at once. */
  keyringChanged(): void {
    this.secure.handleTimeout(this.services.clock.now());
    this.armTimer();
    this.sendQueued();
  }

  /** The transport's sink: every datagram it makes joins the socket's batch (sent by sendQueued). */
  private readonly transmit: TransmitSink = (_addrKey, addr, data) => {
    this.counters.udp_bytes_sent += data.length;
    this.transport!.send(addr, 0, data);
  };

  /** The host's counters for `divs status`, with the socket's. */
  hostCounters(): HostCounters {
    const socket = this.transport?.counters;
    return {
      ...this.counters,
      udp_send_errors: this.transport?.sendErrors ?? 0,
      udp_send_too_big: socket?.send_too_big ?? 0,
      udp_send_calls: socket?.send_calls ?? 0,
      udp_datagrams_sent: socket?.datagrams_sent ?? 0,
      udp_recv_calls: socket?.recv_calls ?? 0,
      latency_wakes: this.services.latencyWakes(),
    };
  }

  private readonly handleOutput = (kind: number, body: Uint8Array) => {
    switch (kind) {
      case OUT_FRAME:
        try {
          this.tap!.write(body);
          this.counters.tap_bytes_written += body.length;
        } catch {
          this.counters.tap_write_errors++;
        }
        break;
      case OUT_DATAGRAM: {
        const unrouted = (body[DATAGRAM_FLAGS] & DATAGRAM_UNROUTED) !== 0;
        this.secure.outgoing(keyOfAddress(body, 0), body.subarray(0, ADDR_LEN), body.subarray(ADDR_SLOT), this.now, unrouted);
        break;
      }
      case OUT_TIMER: {
        const at = new DataView(body.buffer, body.byteOffset, 8).getFloat64(0, true);
        if (at < this.nextDeadline) this.nextDeadline = at;
        break;
      }
      case OUT_EVENT: {
        this.memberIdentities.event(body, this.now);
        if (body.length >= EVENT_ADDR + ADDR_LEN && (body[0] | (body[1] << 8)) === EVENT_JOIN) {
          this.removals.memberJoined(body.subarray(EVENT_ADDR, EVENT_ADDR + ADDR_LEN), this.now); // it hears our bans
        }
        const event = decodeEvent(body);
        for (const l of this.eventListeners) l(event);
        break;
      }
      case OUT_ROUTE: {
        const route = decodeRoute(body);
        if (route === null || (route.kind !== ROUTE_DIRECT && route.kind !== ROUTE_RELAY)) this.counters.core_records_malformed++;
        else this.secure.setRoute(route.peer, route.sendTo, route.kind, this.now);
        break;
      }
      case OUT_RELAY_ALLOW: {
        const allow = decodeRelayAllow(body);
        if (allow === null) this.counters.core_records_malformed++;
        else this.secure.allowRelay(allow.a, allow.b, allow.bytesPerSecond, this.now);
        break;
      }
      case OUT_PONG:
        this.pong(body);
        break;
      case OUT_PATHS_REPORT:
        this.pathsReport(body);
        break;
      case OUT_LOG:
        this.services.log.info(new TextDecoder().decode(body));
        break;
      case OUT_DHCP_SAVE:
        this.dhcpSaveDue = true;
        break;
      case OUT_DHCP_ADDRESS: {
        if (body.length < 12) { this.counters.core_records_malformed++; break; }
        const v = new DataView(body.buffer, body.byteOffset, 12);
        this.selfAddress?.(v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true));
        break;
      }
    }
  };

  /** The core as a Timed machine: due at its latest OUT_TIMER; a tick feeds randomness and processes. */
  private readonly coreTimer: Timed = {
    pollTimeout: () => this.coreDeadline,
    handleTimeout: () => {
      this.coreDeadline = Infinity;
      this.counters.timer_ticks++;
      this.random.fill(this.tickRandom);
      this.core.pushRandom(this.tickRandom);
      this.processBatch();
    },
  };

  /** The machines the one timer runs, in this order: the transport, removals, the core. */
  private readonly timed: Timed[];

  /** One timer for every machine, at the earliest deadline. */
  private armTimer(): void {
    let deadline = Infinity;
    for (const m of this.timed) deadline = Math.min(deadline, m.pollTimeout());
    if (deadline === this.timerDeadline) return;
    if (this.timer !== null) this.services.timers.clear(this.timer);
    this.timer = null;
    this.timerDeadline = deadline;
    if (deadline === Infinity) return;
    const delay = Math.max(0, deadline - this.services.clock.now());
    this.timer = this.services.timers.set(this.tick, delay);
  }

  private readonly tick = () => {
    this.timer = null;
    this.timerDeadline = Infinity;
    const now = this.services.clock.now();
    for (const m of this.timed) if (now + TIMER_SLACK_MS >= m.pollTimeout()) m.handleTimeout(now);
    this.warnIfTwin();
    this.armTimer();
    this.sendQueued();
  };

  /** Another node proving our identity is refused (`own_identity`); the log says why, once. */
  private warnIfTwin(): void {
    if (this.twinWarned || this.secure.counters.own_identity === 0) return;
    this.twinWarned = true;
    this.services.log.warn("another node proves this node's identity and is refused: both run on one state directory (the same --state-dir, or a copy): give each node its own");
  }

  stop(): void {
    this.pings.cancelAll();
    this.pathQueries.cancelAll();
    if (this.timer !== null) this.services.timers.clear(this.timer);
    this.timer = null;
    this.timerDeadline = Infinity;
    this.coreDeadline = Infinity;
  }

  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    this.core.stats((kind, body) => {
      if (kind !== OUT_STAT) return;
      const value = new DataView(body.buffer, body.byteOffset, 8).getFloat64(0, true);
      out[new TextDecoder().decode(body.subarray(8))] = value;
    });
    return out;
  }

  members(): Member[] {
    const out: Member[] = [];
    const selfId = hexU64(this.identity.nodeId, 0);
    this.core.members((kind, body) => {
      if (kind === OUT_MEMBER) out.push(decodeMember(body, selfId));
    });
    return out;
  }

  /** Every peer's path (paths_dump), or null on a core without NAT traversal. */
  paths(): PathRecord[] | null {
    if (!this.core.hasPaths) return null;
    const out: PathRecord[] = [];
    this.core.paths((kind, body) => {
      const path = kind === OUT_PATH ? decodePath(body) : null;
      if (path !== null) out.push(path);
    });
    return out;
  }

  /** What members see of this node (self_dump), or null on a core without NAT traversal. */
  self(): SelfRecord | null {
    if (!this.core.hasSelf) return null;
    let self: SelfRecord | null = null;
    this.core.self((kind, body) => {
      if (kind === OUT_SELF) self = decodeSelf(body) ?? self;
    });
    return self;
  }

  dhcp(): DhcpState {
    const out: DhcpState = { ranges: [], leases: [] };
    this.core.dhcp((kind, body) => decodeDhcpRecord(kind, body, out));
    return out;
  }

  macs(): MacEntry[] {
    const out: MacEntry[] = [];
    this.core.macs((kind, body) => {
      if (kind === OUT_MAC) out.push(decodeMac(body));
    });
    return out;
  }
}
