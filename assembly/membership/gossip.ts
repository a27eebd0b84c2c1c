// Gossip (memberlist gossip()): every gossip interval, while updates are
// queued, a datagram of broadcasts to each of a few random members, the
// recently dead included so they learn they were declared dead and refute.
import { config } from "../config";
import { broadcastFill, broadcastPending } from "./broadcast";
import { randomMembers } from "./probe";
import { datagramBegin, datagramSend } from "./send";
import { Member } from "./state";

let nextGossipAt: f64 = 0;
const targets = new Array<Member>();

/** Gossips when due; returns the next gossip time, or Infinity while nothing is queued. */
export function gossipTick(now: f64): f64 {
  if (now >= nextGossipAt) {
    // A late call does not trigger a burst of catch-up rounds.
    nextGossipAt = now - nextGossipAt < config.gossipIntervalMs ? nextGossipAt + config.gossipIntervalMs
      : now + config.gossipIntervalMs;
    if (broadcastPending() > 0) gossipRound(config.gossipNodes);
  }
  return broadcastPending() > 0 ? nextGossipAt : Infinity;
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
