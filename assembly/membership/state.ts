// The member table (memberlist's nodeMap + nodes): every member we know of,
// self included, by node id, in a shuffled order the prober walks round-robin.
import { ADDR_LEN } from "../abi";
import { CLAIM_LEN } from "../claims";
import { nextBelow } from "../prng";
import { wakeNow } from "../wake";
import { Suspicion } from "./suspicion";

export enum MemberState { Alive = 0, Suspect = 1, Dead = 2, Left = 3 }

export class Member {
  private readonly addrBytes: StaticArray<u8> = new StaticArray<u8>(ADDR_LEN);
  private readonly claimBytes: StaticArray<u8> = new StaticArray<u8>(CLAIM_LEN);
  incarnation: u32 = 0;
  state: MemberState = MemberState.Dead;
  /** Name, UTF-8, at most NAME_MAX bytes. */
  name: ArrayBuffer = new ArrayBuffer(0);
  protocol: u16 = 0;
  capabilities: u32 = 0;
  /** When `state` last changed (ms). */
  stateSince: f64 = 0;
  /** Set while suspect. */
  suspicion: Suspicion | null = null;

  constructor(readonly id: u64) {}

  /** The advertised underlay address (ADDR_LEN bytes). */
  get addr(): usize { return changetype<usize>(this.addrBytes); }
  /** Public key and signature of its latest ALIVE (CLAIM_LEN bytes): it is passed on as signed. */
  get claim(): usize { return changetype<usize>(this.claimBytes); }
  /** Alive or suspect: still a peer the data plane forwards to. */
  get live(): bool { return this.state <= MemberState.Suspect; }
}

const byId = new Map<u64, Member>();
/** Probe order; new members go to a random position, the order is reshuffled every round. */
export const members = new Array<Member>();

export function memberById(id: u64): Member | null {
  return byId.has(id) ? byId.get(id) : null;
}

let liveCount: i32 = 0;

/** Members alive or suspect, self included: the N of memberlist's formulas. */
export function memberCount(): i32 { return liveCount; }

/** Moves `m` to state `s` at `now`, keeping the live count. */
export function memberSetState(m: Member, s: MemberState, now: f64): void {
  if (m.state == s) return;
  if (m.live) liveCount--;
  m.state = s;
  m.stateSince = now;
  if (m.live) liveCount++;
  wakeNow(); // the probe, suspicion and relay-grant ticks look at members' states
}

/** Adds a member at a random place in the probe order, as memberlist does. */
export function memberAdd(m: Member): void {
  byId.set(m.id, m);
  members.push(m);
  const last = members.length - 1;
  const j = <i32>nextBelow(<u32>members.length);
  const t = unchecked(members[j]);
  unchecked(members[j] = members[last]);
  unchecked(members[last] = t);
}

/**
 * Forgets left members whose state is older than `leftBefore` and dead ones older than
 * `deadBefore` (kept longer so we can reconnect to them), then shuffles (memberlist resetNodes).
 */
export function memberReapAndShuffle(leftBefore: f64, deadBefore: f64): void {
  let w = 0;
  for (let i = 0, n = members.length; i < n; i++) {
    const m = unchecked(members[i]);
    if (m.state == MemberState.Left && m.stateSince < leftBefore ||
      m.state == MemberState.Dead && m.stateSince < deadBefore) {
      byId.delete(m.id);
      continue;
    }
    unchecked(members[w++] = m);
  }
  members.length = w;
  for (let i = w - 1; i > 0; i--) {
    const j = <i32>nextBelow(<u32>(i + 1));
    const t = unchecked(members[i]);
    unchecked(members[i] = members[j]);
    unchecked(members[j] = t);
  }
}
