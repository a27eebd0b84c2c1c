// One peer's path state (docs/nat.md "Paths"): its candidate endpoints, the
// one in use, the relay, and the counters that tell a path works.
import { ADDR_LEN } from "../abi";
import { NAT_UNKNOWN } from "../wire/nat";
import { Addr, addrCopy, addrEq, addrPtr } from "./addr";

export const KIND_DIRECT: u8 = 1;
export const KIND_RELAY: u8 = 2;

/** Search: pinging candidates; Rendezvous: a common member introduced us; AskRelay: punching failed. */
export enum Stage { Search = 0, Rendezvous = 1, AskRelay = 2, Relayed = 3, Direct = 4 }

const MAX_CANDIDATES: i32 = 12;

export class Candidate {
  /** When a PATH_PONG last came back from it (-Infinity: never: it gets no data). */
  pongAt: f64 = -Infinity;
  rtt: f64 = -1;
  constructor(readonly addr: Addr) {}
}

export class Path {
  key: Addr;
  readonly candidates: Array<Candidate> = new Array<Candidate>();
  /** The peer's NAT guess and candidate list version, from its CANDIDATES. */
  nat: u8 = NAT_UNKNOWN;
  candidatesVersion: u32 = 0;
  /** The peer's latest CANDIDATES message as received, passed on in our push-pulls. */
  candidatesMsg: StaticArray<u8> | null = null;

  stage: Stage = Stage.Search;
  stageAt: f64 = 0;
  endpoint: Addr = new StaticArray<u8>(ADDR_LEN); // the candidate in use while Direct
  rtt: f64 = -1;
  /** A relay that granted us this pair (0: none); used while Relayed, kept as the fallback while Direct. */
  relayId: u64 = 0;

  lastRx: f64 = 0;
  lastTx: f64 = 0;
  /** Datagrams sent since the peer last sent us anything, and when the first of them left. */
  unanswered: u32 = 0;
  unansweredSince: f64 = 0;

  nextPingAt: f64 = 0;
  heartbeatAt: f64 = -Infinity;
  pingBackAt: f64 = -Infinity;
  rendezvousAt: f64 = -Infinity;
  relayAskedAt: f64 = -Infinity;
  /** The relay's last RELAY_OK for this pair: it lapses there 90 s after the last request from either end. */
  relayGrantedAt: f64 = -Infinity;
  reprobeAt: f64 = Infinity;
  refusedRelay: u64 = 0;

  /** What the host was last told (OUT_ROUTE): nothing yet means "send to the key". */
  routedKind: u8 = KIND_DIRECT;
  routedTo: Addr;

  constructor(readonly id: u64, key: usize, now: f64) {
    this.key = addrCopy(key);
    this.routedTo = addrCopy(key);
    this.stageAt = now;
    this.addCandidate(key);
  }

  findCandidate(addr: usize): Candidate | null {
    for (let i = 0; i < this.candidates.length; i++) {
      const c = unchecked(this.candidates[i]);
      if (addrEq(addrPtr(c.addr), addr)) return c;
    }
    return null;
  }

  /** Adds `addr` unless known; when full, the oldest candidate that never answered makes room. */
  addCandidate(addr: usize): Candidate | null {
    const known = this.findCandidate(addr);
    if (known != null) return known;
    if (this.candidates.length >= MAX_CANDIDATES) {
      let drop = -1;
      for (let i = 0; i < this.candidates.length && drop < 0; i++) {
        const c = unchecked(this.candidates[i]);
        if (c.pongAt == -Infinity && !addrEq(addrPtr(c.addr), addrPtr(this.key))) drop = i;
      }
      if (drop < 0) return null;
      this.candidates.splice(drop, 1);
    }
    const c = new Candidate(addrCopy(addr));
    this.candidates.push(c);
    return c;
  }

  /** True when the host's route for the key sends to the key itself (no route). */
  get routedToKey(): bool {
    return this.routedKind == KIND_DIRECT && addrEq(addrPtr(this.routedTo), addrPtr(this.key));
  }

  /** Direct, relay, or 0 while no path is proven. */
  get kind(): u8 {
    if (this.stage == Stage.Direct) return KIND_DIRECT;
    if (this.stage == Stage.Relayed) return KIND_RELAY;
    return 0;
  }
}
