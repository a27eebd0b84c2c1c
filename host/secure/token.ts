// Join tokens: base64url of a small versioned binary naming the network key and the seed addresses.
//   u8 version (2), network key[32], u8 count, count * 18-byte underlay address
// Invitations (docs/security.md "Invitations"): single use, expiring, no key; the seeds are the issuer's.
//   u8 version (3), id[8], secret[32], u32 expiry (unix seconds), u8 count, count * 18-byte address
// Version 1 (addresses only, before the security layer) is refused: it cannot admit anyone any more.
import { type HostPort, addressBytes, formatAddress, parseHostPort, ADDR_LEN } from "../net/address.ts";
import { usageError } from "../base/errors.ts";
import { readU32, writeU32 } from "./bytes.ts";
import { INVITE_ID_LEN, INVITE_SECRET_LEN, type InvitationSecret } from "./invite.ts";
import { KEY_LEN } from "./keyring.ts";

const TOKEN_VERSION = 2;
const INVITATION_VERSION = 3;
const KEYLESS_VERSION = 1;
const OFF_KEY = 1;
const KEY_BODY = KEY_LEN;
const OFF_INVITE_SECRET = 1 + INVITE_ID_LEN;
const OFF_INVITE_EXPIRY = OFF_INVITE_SECRET + INVITE_SECRET_LEN;
const INVITE_BODY = INVITE_ID_LEN + INVITE_SECRET_LEN + 4;
const MAX_SEEDS = 16;

/** An invitation's secret part and when it expires (unix seconds: the joiner's own check and message). */
export interface Invitation extends InvitationSecret {
  expiresAtS: number;
}

export interface JoinToken {
  seeds: HostPort[];
  /** The network key the token carries; null for a plain host:port, which needs --key-file or DIVS_KEY. */
  key: Uint8Array | null;
  /** An invitation: the key comes from its issuer (the seed) in an exchange; null otherwise. */
  invitation: Invitation | null;
}

/** `u8 version, body, u8 count, seeds`. */
function encode(version: number, body: Uint8Array, seeds: HostPort[]): string {
  const kept = seeds.slice(0, MAX_SEEDS);
  const offSeeds = 2 + body.length;
  const bytes = new Uint8Array(offSeeds + kept.length * ADDR_LEN);
  bytes[0] = version;
  bytes.set(body, 1);
  bytes[1 + body.length] = kept.length;
  kept.forEach((s, i) => bytes.set(addressBytes(s), offSeeds + i * ADDR_LEN));
  return toBase64Url(bytes);
}

export function encodeToken(seeds: HostPort[], key: Uint8Array): string {
  return encode(TOKEN_VERSION, key, seeds);
}

export function encodeInvitation(seeds: HostPort[], invitation: Invitation): string {
  const body = new Uint8Array(INVITE_BODY);
  body.set(invitation.id, 0);
  body.set(invitation.secret, INVITE_ID_LEN);
  writeU32(body, INVITE_ID_LEN + INVITE_SECRET_LEN, invitation.expiresAtS);
  return encode(INVITATION_VERSION, body, seeds);
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
  if (bytes[0] !== TOKEN_VERSION && bytes[0] !== INVITATION_VERSION) throw bad(`version ${bytes[0]} is not supported`);
  const offCount = 1 + (bytes[0] === TOKEN_VERSION ? KEY_BODY : INVITE_BODY);
  if (bytes.length <= offCount) throw bad("too short");
  const count = bytes[offCount];
  if (count === 0 || bytes.length !== offCount + 1 + count * ADDR_LEN) throw bad("wrong length");
  const seeds: HostPort[] = [];
  for (let i = 0; i < count; i++) seeds.push(parseHostPort(formatAddress(bytes, offCount + 1 + i * ADDR_LEN)));
  if (bytes[0] === TOKEN_VERSION) return { seeds, key: bytes.slice(OFF_KEY, OFF_KEY + KEY_LEN), invitation: null };
  return {
    seeds, key: null,
    invitation: {
      id: bytes.slice(1, 1 + INVITE_ID_LEN),
      secret: bytes.slice(OFF_INVITE_SECRET, OFF_INVITE_SECRET + INVITE_SECRET_LEN),
      expiresAtS: readU32(bytes, OFF_INVITE_EXPIRY),
    },
  };
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
      return { seeds: [parseHostPort(text, defaultPort)], key: null, invitation: null };
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
