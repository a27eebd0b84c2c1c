// Single-use invitations (docs/security.md "Invitations"): a member hands the network key to a joiner
// that proves it holds the invitation's one-time secret S, in its own two-message exchange, apart from
// the session handshake. Sans-IO: callers pass datagrams, addresses and time.
//   INVITE_REQUEST  joiner -> member   ver, 0x90, id[8], E_j[32], mac[16]      mac = HMAC(S, "divs invite request" || previous bytes)
//   INVITE_ANSWER   member -> joiner   ver, 0x91, id[8], E_m[32], sealed key[32], tag[16]
//   INVITE_REFUSED  member -> joiner   ver, 0x92, id[8], reason u8             not authenticated
// The answer's AEAD key is HKDF(ikm = X25519(e_m, E_j), salt = S, info = "divs invite" || id || E_j || E_m):
// a passive observer (even one who later learns S) lacks both ephemeral secrets; an active one without S
// can neither make a request the member accepts nor an answer the joiner opens.
import { concatBytes, equalBytes, utf8 } from "./bytes.ts";
import { AEAD_TAG_LEN as TAG_LEN, type CryptoProvider } from "./provider.ts";
import { KEY_LEN } from "./keyring.ts";
import { RateLimiter, sourceOf } from "./ratelimit.ts";
import { newCounters, type SecureCounters } from "./counters.ts";

type InviteCounters = Pick<SecureCounters, "invites_issued" | "invites_answered" | "invites_refused" | "invites_dropped">;
import { MAC_LEN, PUBLIC_LEN, WIRE_VERSION } from "./handshake.ts";

export const INVITE_REQUEST = 0x90;
export const INVITE_ANSWER = 0x91;
export const INVITE_REFUSED = 0x92;

export const INVITE_ID_LEN = 8;
export const INVITE_SECRET_LEN = 32;
const OFF_ID = 2;
const OFF_E = OFF_ID + INVITE_ID_LEN; // 10
const OFF_REQUEST_MAC = OFF_E + PUBLIC_LEN; // 42
export const REQUEST_LEN = OFF_REQUEST_MAC + MAC_LEN; // 58
const OFF_SEALED = OFF_E + PUBLIC_LEN; // 42
export const ANSWER_LEN = OFF_SEALED + KEY_LEN + TAG_LEN; // 90
const OFF_REASON = OFF_ID + INVITE_ID_LEN; // 10
export const REFUSED_LEN = OFF_REASON + 1; // 11

const REQUEST_LABEL = utf8("divs invite request");
const ANSWER_LABEL = utf8("divs invite");

/** Why a member refused an invitation; the joiner's error says it. */
export const REFUSAL = { unknown: 1, used: 2, expired: 3, wrongSecret: 4 } as const;
const REFUSAL_TEXT: Record<number, string> = {
  [REFUSAL.unknown]: "the member does not know this invitation (made on another node, or the node restarted)",
  [REFUSAL.used]: "this invitation was already used: invitations work once (divs invite on a member makes a new one)",
  [REFUSAL.expired]: "this invitation has expired (divs invite on a member makes a new one)",
  [REFUSAL.wrongSecret]: "wrong secret for this invitation (a changed or mistyped token)",
};

/** What an invitation token carries besides the seeds. */
export interface InvitationSecret {
  id: Uint8Array;
  secret: Uint8Array;
}

/** True for the invitation packet types (routed to the book or the redeemer, never to the session transport). */
export function isInvitePacket(packet: Uint8Array): boolean {
  return packet.length >= 2 && packet[0] === WIRE_VERSION && packet[1] >= INVITE_REQUEST && packet[1] <= INVITE_REFUSED;
}

function requestMac(crypto: CryptoProvider, secret: Uint8Array, packet: Uint8Array): Uint8Array {
  return crypto.hmacSha256(secret, REQUEST_LABEL, packet.subarray(0, OFF_REQUEST_MAC)).subarray(0, MAC_LEN);
}

/** The answer's one-use AEAD key; null for a degenerate public key. The shared secret is wiped. */
function answerKey(crypto: CryptoProvider, secret: Uint8Array, ours: Uint8Array, theirs: Uint8Array, id: Uint8Array, Ej: Uint8Array, Em: Uint8Array): Uint8Array | null {
  const shared = crypto.x25519(ours, theirs);
  let nonzero = 0;
  for (const v of shared) nonzero |= v;
  if (nonzero === 0) return null;
  const key = crypto.hkdfSha256(shared, secret, concatBytes(ANSWER_LABEL, id, Ej, Em), 32);
  shared.fill(0);
  return key;
}

/** Each answer key seals exactly one message: a zero nonce is safe. */
const ZERO_NONCE = new Uint8Array(12);

function header(type: number, length: number, id: Uint8Array): Uint8Array {
  const m = new Uint8Array(length);
  m[0] = WIRE_VERSION;
  m[1] = type;
  m.set(id, OFF_ID);
  return m;
}

interface Entry {
  secret: Uint8Array;
  expiresAt: number;
  /** The joiner's E_j that used it, and the answer it got (sent again if its request is repeated). */
  usedBy: Uint8Array | null;
  answer: Uint8Array | null;
}

/** An issuing member's outstanding invitations (docs/security.md "Invitations"). */
export class InviteBook {
  private readonly entries = new Map<string, Entry>();
  /** Refusals and answers per source: a stranger cannot make the member send much. */
  private readonly limiter = new RateLimiter(5, 10, 1024);
  constructor(
    private readonly crypto: CryptoProvider,
    /** The network key a valid request receives: read at answer time, so it is the primary then. */
    private readonly networkKey: () => Uint8Array,
    /** The node's transport counters (docs/security.md "Counters"), or a set of its own. */
    readonly counters: InviteCounters = newCounters(),
    /** Outstanding invitations at most; issue() refuses beyond. */
    private readonly capacity = 1024,
    /** A used or expired invitation is remembered this long after it expired, to say "used"/"expired". */
    private readonly memoryMs = 3_600_000,
  ) {}

  /** A new invitation valid for `lifetimeMs` from `now` (monotonic ms). */
  issue(now: number, lifetimeMs: number): InvitationSecret {
    this.prune(now);
    if (this.entries.size >= this.capacity) throw new Error(`${this.capacity} invitations are outstanding: let some expire first`);
    const id = new Uint8Array(INVITE_ID_LEN);
    const secret = new Uint8Array(INVITE_SECRET_LEN);
    this.crypto.randomFill(id);
    this.crypto.randomFill(secret);
    this.entries.set(String.fromCharCode(...id), { secret: Uint8Array.from(secret), expiresAt: now + lifetimeMs, usedBy: null, answer: null });
    this.counters.invites_issued++;
    return { id, secret };
  }

  get size(): number {
    return this.entries.size;
  }

  /** An INVITE_REQUEST from `addr` (18 bytes): the datagram to send back, or null. */
  incoming(addr: Uint8Array, packet: Uint8Array, now: number): Uint8Array | null {
    if (packet[1] !== INVITE_REQUEST || packet.length !== REQUEST_LEN || !this.limiter.allow(sourceOf(addr), now)) {
      this.counters.invites_dropped++;
      return null;
    }
    this.prune(now);
    const id = packet.subarray(OFF_ID, OFF_ID + INVITE_ID_LEN);
    const Ej = packet.subarray(OFF_E, OFF_E + PUBLIC_LEN);
    const entry = this.entries.get(String.fromCharCode(...id));
    if (entry === undefined) return this.refuse(id, REFUSAL.unknown);
    const macOk = equalBytes(requestMac(this.crypto, entry.secret, packet), 0, packet, OFF_REQUEST_MAC, MAC_LEN);
    if (entry.usedBy !== null) {
      // The same joiner asking again (its answer was lost) gets the same answer; anyone else: used.
      if (macOk && equalBytes(entry.usedBy, 0, Ej, 0, PUBLIC_LEN)) return entry.answer;
      return this.refuse(id, REFUSAL.used);
    }
    if (now >= entry.expiresAt) return this.refuse(id, REFUSAL.expired);
    if (!macOk) return this.refuse(id, REFUSAL.wrongSecret);
    const answer = this.answer(entry.secret, id, Ej);
    if (answer === null) {
      this.counters.invites_dropped++; // a degenerate E_j: only a holder of S can send one
      return null;
    }
    entry.usedBy = Uint8Array.from(Ej);
    entry.answer = answer;
    this.counters.invites_answered++;
    return answer;
  }

  private answer(secret: Uint8Array, id: Uint8Array, Ej: Uint8Array): Uint8Array | null {
    const e = new Uint8Array(32);
    this.crypto.randomFill(e);
    const Em = this.crypto.x25519Public(e);
    const key = answerKey(this.crypto, secret, e, Ej, id, Ej, Em);
    e.fill(0);
    if (key === null) return null;
    const m = header(INVITE_ANSWER, ANSWER_LEN, id);
    m.set(Em, OFF_E);
    const networkKey = this.networkKey();
    this.crypto.seal(this.crypto.aeadKey(key), ZERO_NONCE, m.subarray(0, OFF_SEALED), networkKey, m, OFF_SEALED);
    key.fill(0);
    return m;
  }

  private refuse(id: Uint8Array, reason: number): Uint8Array {
    this.counters.invites_refused++;
    const m = header(INVITE_REFUSED, REFUSED_LEN, id);
    m[OFF_REASON] = reason;
    return m;
  }

  /** Forgets invitations past their expiry by more than memoryMs; wipes secrets of used or expired ones it drops. */
  private prune(now: number): void {
    for (const [k, e] of this.entries) {
      if (now < e.expiresAt + this.memoryMs) continue;
      e.secret.fill(0);
      this.entries.delete(k);
    }
  }
}

/** The joiner's side: one request, the answer it waits for. */
export class InviteRedeemer {
  private readonly e = new Uint8Array(32);
  private readonly Ej: Uint8Array;
  readonly request: Uint8Array;

  constructor(private readonly crypto: CryptoProvider, private readonly invitation: InvitationSecret) {
    crypto.randomFill(this.e);
    this.Ej = crypto.x25519Public(this.e);
    const m = header(INVITE_REQUEST, REQUEST_LEN, invitation.id);
    m.set(this.Ej, OFF_E);
    m.set(requestMac(crypto, invitation.secret, m), OFF_REQUEST_MAC);
    this.request = m;
  }

  /**
   * An answer or refusal for this invitation: the network key, or an Error saying why it was refused;
   * null when the packet is not for this exchange or does not open (forged).
   */
  incoming(packet: Uint8Array): Uint8Array | Error | null {
    if (!isInvitePacket(packet) || !equalBytes(packet, OFF_ID, this.invitation.id, 0, INVITE_ID_LEN)) return null;
    if (packet[1] === INVITE_REFUSED && packet.length === REFUSED_LEN) {
      return new Error(REFUSAL_TEXT[packet[OFF_REASON]] ?? `refused (reason ${packet[OFF_REASON]})`);
    }
    if (packet[1] !== INVITE_ANSWER || packet.length !== ANSWER_LEN) return null;
    const Em = packet.subarray(OFF_E, OFF_E + PUBLIC_LEN);
    const key = answerKey(this.crypto, this.invitation.secret, this.e, Em, this.invitation.id, this.Ej, Em);
    if (key === null) return null;
    const networkKey = this.crypto.open(this.crypto.aeadKey(key), ZERO_NONCE, packet.subarray(0, OFF_SEALED), packet, OFF_SEALED, ANSWER_LEN);
    key.fill(0);
    if (networkKey === null) return null;
    const copy = Uint8Array.from(networkKey); // a plain array, whatever the provider returns
    networkKey.fill(0);
    return copy;
  }

  /** Overwrites the ephemeral secret once the exchange is over. */
  wipe(): void {
    this.e.fill(0);
  }
}
