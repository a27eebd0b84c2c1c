// The core's config keys by name (assembly/config.ts `Key`; docs/config.md documents each one),
// and the JSON config file: { "mac_ageing_ms": 60000, "membership_profile": "local", ... }.
import { usageError } from "../base/errors.ts";

export const CONFIG_KEYS: Record<string, number> = {
  mac_ageing_ms: 1,
  mac_capacity: 2,
  max_datagram: 3,
  mac_refresh_per_ageing: 4,
  arp_proxy: 6,
  probe_interval_ms: 100,
  probe_timeout_ms: 101,
  indirect_checks: 102,
  gossip_interval_ms: 103,
  gossip_nodes: 104,
  gossip_to_the_dead_ms: 105,
  retransmit_mult: 106,
  suspicion_mult: 107,
  suspicion_max_timeout_mult: 108,
  push_pull_interval_ms: 109,
  awareness_max_multiplier: 110,
  join_retry_ms: 111,
  reconnect_interval_ms: 112,
  reconnect_timeout_ms: 113,
  max_members: 114,
  membership_profile: 199,
  keepalive_ms: 200,
  relay_bytes_per_sec: 201,
};

/** Set by the host from how it opened the TAP (docs/config.md), never from a config file. */
export const CORE_TAP_VNET_HDR = 5;

/** `membership_profile` also takes a name: it loads a whole set of membership timings. */
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
  return coreConfigOf(json, source);
}

/** Core keys from a parsed JSON object (a `--config` file, or `--config-file`'s "core" section). */
export function coreConfigOf(json: unknown, source: string): CoreConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw usageError(`bad config file ${source}: expected a JSON object of key: number`);
  }
  const out: CoreConfig = new Map();
  for (const [name, value] of Object.entries(json)) {
    const key = CONFIG_KEYS[name];
    if (key === undefined) {
      throw usageError(`bad config file ${source}: unknown key "${name}" (known: ${Object.keys(CONFIG_KEYS).join(", ")})`);
    }
    if (key === CONFIG_KEYS.membership_profile && typeof value === "string" && value in PROFILES) {
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
