// Join tokens: base64url of a small versioned binary naming the seed addresses to join through.
//   u8 version (1), u8 count, count * 18-byte underlay address
// The security layer will add the network key (a new version); decoders reject versions they do not know.
import { ADDR_LEN } from "./abi.ts";
import { type HostPort, addressBytes, formatAddress, parseHostPort } from "./address.ts";
import { usageError } from "./errors.ts";

const TOKEN_VERSION = 1;
const MAX_SEEDS = 16;

export interface JoinToken {
  seeds: HostPort[];
}

export function encodeToken(token: JoinToken): string {
  const seeds = token.seeds.slice(0, MAX_SEEDS);
  const bytes = new Uint8Array(2 + seeds.length * ADDR_LEN);
  bytes[0] = TOKEN_VERSION;
  bytes[1] = seeds.length;
  seeds.forEach((s, i) => bytes.set(addressBytes(s), 2 + i * ADDR_LEN));
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
  if (bytes.length < 2) throw bad("too short");
  if (bytes[0] !== TOKEN_VERSION) throw bad(`version ${bytes[0]} is not supported`);
  const count = bytes[1];
  if (count === 0 || bytes.length !== 2 + count * ADDR_LEN) throw bad("wrong length");
  const seeds: HostPort[] = [];
  for (let i = 0; i < count; i++) seeds.push(parseHostPort(formatAddress(bytes, 2 + i * ADDR_LEN)));
  return { seeds };
}

/** `--join` takes a token or a plain host:port. */
export function parseJoin(text: string, defaultPort: number): JoinToken {
  if (/^[\d.]+(:\d+)?$/.test(text)) {
    try {
      return { seeds: [parseHostPort(text, defaultPort)] };
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
