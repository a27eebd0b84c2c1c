// The core's config keys by name (assembly/config.ts `Key`; docs/config.md documents each one),
// and the JSON config file: { "macAgeingMs": 60000, ... }.
import { usageError } from "./errors.ts";

export const CONFIG_KEYS: Record<string, number> = {
  macAgeingMs: 1,
  macCapacity: 2,
  maxDatagram: 3,
  probeIntervalMs: 100,
  probeTimeoutMs: 101,
  indirectChecks: 102,
  gossipIntervalMs: 103,
  gossipNodes: 104,
  gossipToTheDeadMs: 105,
  retransmitMult: 106,
  suspicionMult: 107,
  suspicionMaxTimeoutMult: 108,
  pushPullIntervalMs: 109,
  awarenessMaxMultiplier: 110,
  joinRetryMs: 111,
  reconnectIntervalMs: 112,
  reconnectTimeoutMs: 113,
  membershipProfile: 199,
};

/** `membershipProfile` also takes a name: it loads a whole set of membership timings. */
const PROFILES: Record<string, number> = { lan: 0, wan: 1, local: 2 };

export type CoreConfig = Map<number, number>;

/** Parses the text of a config file; unknown keys and non-numbers are usage errors. */
export function parseConfig(text: string, source: string): CoreConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw usageError(`bad config file ${source}: ${(e as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw usageError(`bad config file ${source}: expected a JSON object of key: number`);
  }
  const out: CoreConfig = new Map();
  for (const [name, value] of Object.entries(json)) {
    const key = CONFIG_KEYS[name];
    if (key === undefined) {
      throw usageError(`bad config file ${source}: unknown key "${name}" (known: ${Object.keys(CONFIG_KEYS).join(", ")})`);
    }
    if (key === CONFIG_KEYS.membershipProfile && typeof value === "string" && value in PROFILES) {
      out.set(key, PROFILES[value]);
      continue;
    }
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw usageError(`bad config file ${source}: "${name}" must be a number`);
    }
    out.set(key, value);
  }
  return out;
}

export function configName(key: number): string {
  for (const [name, k] of Object.entries(CONFIG_KEYS)) if (k === key) return name;
  return `key${key}`;
}
