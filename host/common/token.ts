// Join tokens: base64url of a small versioned binary naming the network key and the seed addresses.
//   u8 version (2), network key[32], u8 count, count * 18-byte underlay address
// Version 1 (addresses only, before the security layer) is refused: it cannot admit anyone any more.
import { ADDR_LEN } from "./abi.ts";
import { type HostPort, addressBytes, formatAddress, parseHostPort } from "./address.ts";
import { usageError } from "./errors.ts";
import { KEY_LEN } from "./secure/keyring.ts";

const TOKEN_VERSION = 2;
const KEYLESS_VERSION = 1;
const OFF_KEY = 1;
const OFF_COUNT = OFF_KEY + KEY_LEN;
const OFF_SEEDS = OFF_COUNT + 1;
const MAX_SEEDS = 16;

export interface JoinToken {
  seeds: HostPort[];
  /** The network key the token carries; null for a plain host:port, which needs --key-file or DIVS_KEY. */
  key: Uint8Array | null;
}

export function encodeToken(seeds: HostPort[], key: Uint8Array): string {
  const kept = seeds.slice(0, MAX_SEEDS);
  const bytes = new Uint8Array(OFF_SEEDS + kept.length * ADDR_LEN);
  bytes[0] = TOKEN_VERSION;
  bytes.set(key, OFF_KEY);
  bytes[OFF_COUNT] = kept.length;
  kept.forEach((s, i) => bytes.set(addressBytes(s), OFF_SEEDS + i * ADDR_LEN));
  return toBase64Url(bytes);
}

export function decodeToken(text: string): JoinToken {
  const bad = (why: string) => usageError(`bad join token: ${why}`);
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(text.trim());
  } catch {
    throw bad("not base64url");
  }
  if (bytes.length < 1) throw bad("too short");
  if (bytes[0] === KEYLESS_VERSION) {
    throw bad("version 1 carries no network key (made before the security layer): get a new token from `divs up`");
  }
  if (bytes[0] !== TOKEN_VERSION) throw bad(`version ${bytes[0]} is not supported`);
  if (bytes.length < OFF_SEEDS) throw bad("too short");
  const count = bytes[OFF_COUNT];
  if (count === 0 || bytes.length !== OFF_SEEDS + count * ADDR_LEN) throw bad("wrong length");
  const seeds: HostPort[] = [];
  for (let i = 0; i < count; i++) seeds.push(parseHostPort(formatAddress(bytes, OFF_SEEDS + i * ADDR_LEN)));
  return { seeds, key: bytes.slice(OFF_KEY, OFF_KEY + KEY_LEN) };
}

/** A token is base64url: never a ":" or "[" as in "[v6]:port", nor only digits and dots as in "a.b.c.d". */
export function looksLikeAddress(text: string): boolean {
  return /^[\d.]+(:\d+)?$/.test(text) || /[:[]/.test(text);
}

/** True when `text` is (or claims to be) a token carrying the network key: not to be shown on a command line. */
export function carriesKey(text: string): boolean {
  try {
    return fromBase64Url(text.trim())[0] === TOKEN_VERSION;
  } catch {
    return false;
  }
}

/** `--join` takes a token or a plain host:port (which carries no key). */
export function parseJoin(text: string, defaultPort: number): JoinToken {
  if (looksLikeAddress(text)) {
    try {
      return { seeds: [parseHostPort(text, defaultPort)], key: null };
    } catch (e) {
      throw usageError(`bad --join address: ${(e as Error).message}`);
    }
  }
  return decodeToken(text);
}

function toBase64Url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new Error("alphabet");
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
