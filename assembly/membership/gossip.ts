// Gossip (memberlist gossip()): every gossip interval, while updates are
// queued, a datagram of broadcasts to each of a few random members, the
// recently dead included so they learn they were declared dead and refute.
import { config } from "../config";
import { nextUnit } from "../prng";
import { broadcastFill, broadcastPending } from "./broadcast";
import { randomMembers } from "./probe";
import { datagramBegin, datagramSend } from "./send";
import { Member } from "./state";

let nextGossipAt: f64 = 0;
let pendingAtLastTick = false;
const targets = new Array<Member>();

/**
 * Gossips on a fixed grid of gossip intervals, like memberlist's ticker: an update
 * queued between two ticks waits for the next one. Returns the next tick while
 * updates are queued, Infinity otherwise (no wake-ups when idle).
 */
export function gossipTick(now: f64): f64 {
  if (now >= nextGossipAt) {
    const behind = Math.floor((now - nextGossipAt) / config.gossipIntervalMs);
    nextGossipAt += (behind + 1) * config.gossipIntervalMs; // a late call does not burst catch-up rounds
    if (pendingAtLastTick && broadcastPending() > 0) gossipRound(config.gossipNodes);
  }
  pendingAtLastTick = broadcastPending() > 0;
  return pendingAtLastTick ? nextGossipAt : Infinity;
}

/** Puts this node's gossip ticks at a random phase, so nodes do not gossip in step. */
export function gossipStagger(now: f64): void {
  nextGossipAt = now + nextUnit() * config.gossipIntervalMs;
}

/** One round: a datagram of broadcasts to each of `fanout` random members. */
export function gossipRound(fanout: i32): void {
  randomMembers(fanout, 0, true, targets);
  for (let i = 0; i < targets.length; i++) {
    const w = datagramBegin();
    if (broadcastFill(w) == 0) return;
    datagramSend(unchecked(targets[i]).addr);
  }
}
