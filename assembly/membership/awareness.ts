// Lifeguard local health awareness (memberlist awareness.go): a score that
// rises when this node misses nacks or has to refute, and scales its own probe
// interval and timeouts so a slow node stops accusing healthy ones.
import { config } from "../config";

let score: i32 = 0;

export function awarenessScore(): i32 { return score; }

/** Adds `delta`, keeping the score within [0, awarenessMaxMultiplier - 1]. */
export function awarenessApply(delta: i32): void {
  const next = score + delta;
  const top = config.awarenessMaxMultiplier - 1;
  score = next < 0 ? 0 : next > top ? top : next;
}

/** A timeout or interval stretched by the current health: t * (score + 1). */
export function awarenessScale(t: f64): f64 {
  return t * <f64>(score + 1);
}
