// The host's half of signed member claims (host/secure/claims.ts): a claim verifies only as
// signed, only under the key its node id derives from, in the byte order the core writes ids.
import assert from "node:assert/strict";
import { test } from "node:test";
import { claimCrypto } from "../../host/secure/claims.ts";
import { Identity } from "../../host/secure/identity.ts";
import { crypto } from "./harness.ts";

/** Member info as the core writes it (u32 incarnation, then the node id big-endian), some body, and the 96-byte trailer. */
function claimOf(identity: Identity, body = 40): Uint8Array {
  const claim = new Uint8Array(4 + 8 + body + 96);
  claim.set([0, 0, 0, 7], 0);
  claim.set(Uint8Array.from(identity.nodeId).reverse(), 4); // the core's LE u64, written big-endian
  for (let i = 12; i < 12 + body; i++) claim[i] = i;
  return claim;
}

test("a member's own claim verifies; every changed byte, another id or another signer does not", () => {
  const a = Identity.generate(crypto);
  const b = Identity.generate(crypto);
  const claims = claimCrypto(crypto, a);
  const claim = claimOf(a);
  claims.sign(claim);
  assert.ok(claims.verify(claim));
  assert.ok(claimCrypto(crypto, b).verify(claim), "anyone checks a's claim");
  for (let i = 0; i < claim.length; i += 7) {
    const flipped = Uint8Array.from(claim);
    flipped[i] ^= 1;
    assert.equal(claims.verify(flipped), false, `byte ${i} changed`);
  }
  const asB = claimOf(b); // b's id, signed by a
  claims.sign(asB);
  assert.equal(claims.verify(asB), false, "a's key does not derive b's node id");
  assert.equal(claims.verify(claim.subarray(0, 60)), false, "cut short");
});
