// Single-use invitations (host/secure/invite.ts, docs/security.md "Invitations"): the exchange
// hands over the network key once, to a holder of the secret, before expiry; nothing an observer sees
// opens it; the token round-trips and the issuing side refuses what it must.
import assert from "node:assert/strict";
import { test } from "node:test";
import nacl from "tweetnacl";
import { encodeAddress } from "../../host/net/address.ts";
import { issueInvitation, parseLifetime } from "../../host/engine/invitations.ts";
import {
  ANSWER_LEN, INVITE_ANSWER, INVITE_REFUSED, InviteBook, InviteRedeemer, isInvitePacket, REQUEST_LEN,
} from "../../host/secure/invite.ts";
import { decodeToken } from "../../host/secure/token.ts";
import { crypto, newKey } from "./harness.ts";

const HOUR = 3_600_000;
const seeds = [{ host: "198.18.0.1", port: 4790 }];

function addr(last: number): Uint8Array {
  const a = new Uint8Array(18);
  encodeAddress((198 << 24 | 18 << 16 | last) >>> 0, 4790, a);
  return a;
}

/** A book holding `key`, and one invitation from it (its token decoded, as a joiner has it). */
function issued(key = newKey(), lifetimeS = 3600, now = 0) {
  const book = new InviteBook(crypto, () => key);
  const reply = issueInvitation(book, seeds, lifetimeS, now, Date.now());
  const token = decodeToken(reply.invitation);
  assert.equal(token.key, null, "an invitation carries no key");
  assert.deepEqual(token.seeds, seeds);
  return { book, key, reply, invitation: token.invitation! };
}

test("a holder of the invitation gets the network key, once; a second joiner is told it was used", () => {
  const { book, key, invitation } = issued();
  const joiner = new InviteRedeemer(crypto, invitation);
  assert.equal(joiner.request.length, REQUEST_LEN);
  assert.ok(isInvitePacket(joiner.request));
  const answer = book.incoming(addr(2), joiner.request, 1000)!;
  assert.equal(answer[1], INVITE_ANSWER);
  assert.equal(answer.length, ANSWER_LEN);
  assert.deepEqual(joiner.incoming(answer), key);

  // Its answer lost, the same joiner asks again: the same answer, still the same key.
  assert.deepEqual(book.incoming(addr(2), joiner.request, 1500), answer);

  const second = new InviteRedeemer(crypto, invitation);
  const refused = book.incoming(addr(3), second.request, 2000)!;
  assert.equal(refused[1], INVITE_REFUSED);
  const error = second.incoming(refused);
  assert.ok(error instanceof Error);
  assert.match(error.message, /already used: invitations work once/);
  assert.equal(book.counters.invites_answered, 1);
});

test("an expired invitation is refused, and so is a wrong secret or an unknown one", () => {
  const { book, invitation } = issued(newKey(), 60);
  const late = new InviteRedeemer(crypto, invitation);
  const refused = book.incoming(addr(2), late.request, 60_000)!; // its lifetime has passed (monotonic ms)
  assert.match((late.incoming(refused) as Error).message, /expired/);

  const fresh = issued();
  const wrong = { ...fresh.invitation, secret: fresh.invitation.secret.map((b, i) => (i === 0 ? b ^ 1 : b)) };
  const guesser = new InviteRedeemer(crypto, wrong);
  assert.match((guesser.incoming(fresh.book.incoming(addr(2), guesser.request, 1000)!) as Error).message, /wrong secret/);
  // A wrong guess does not use the invitation up: its holder still gets the key.
  const holder = new InviteRedeemer(crypto, fresh.invitation);
  assert.deepEqual(holder.incoming(fresh.book.incoming(addr(3), holder.request, 1000)!), fresh.key);

  const other = issued();
  const stranger = new InviteRedeemer(crypto, other.invitation);
  assert.match((stranger.incoming(fresh.book.incoming(addr(4), stranger.request, 1000)!) as Error).message, /does not know this invitation/);
});

test("a passive observer, even one that later learns the secret, cannot open the answer", () => {
  const { book, key, invitation } = issued();
  const joiner = new InviteRedeemer(crypto, invitation);
  const answer = book.incoming(addr(2), joiner.request, 1000)!;
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
  assert.ok(!hex(answer).includes(hex(key)), "the key does not travel in the clear");
  // The observer knows S (the token) and both public keys, but neither ephemeral secret: its own
  // ephemeral stands in for the joiner's, and the answer does not open.
  const observer = new InviteRedeemer(crypto, invitation);
  assert.equal(observer.incoming(answer), null);
  // A forged answer (another key sealed by someone without S) does not open either.
  const forged = Uint8Array.from(answer);
  forged.set(nacl.scalarMult.base(newKey()), 10);
  assert.equal(joiner.incoming(forged), null);
});

test("a request changed in flight or of the wrong length gets no answer with the key", () => {
  const { book, invitation } = issued();
  const joiner = new InviteRedeemer(crypto, invitation);
  const changed = Uint8Array.from(joiner.request);
  changed[20] ^= 1; // E_j: the mac no longer matches
  assert.equal(book.incoming(addr(2), changed, 1000)![1], INVITE_REFUSED);
  assert.equal(book.incoming(addr(2), joiner.request.subarray(0, 40), 1000), null);
  assert.equal(book.counters.invites_answered, 0);
});

test("--expires takes 90, 90s, 15m, 1h, 2d, at most 30 days", () => {
  assert.deepEqual(["90", "90s", "15m", "1h", "2d"].map(parseLifetime), [90, 90, 900, 3600, 172800]);
  for (const bad of ["0", "1w", "31d", "-1h", "h"]) assert.throws(() => parseLifetime(bad), /bad --expires/);
  const { reply } = issued(newKey(), 2 * HOUR / 1000);
  const expires = Date.parse(reply.expires);
  assert.ok(Math.abs(expires - (Date.now() + 2 * HOUR)) < 2000, reply.expires);
});
