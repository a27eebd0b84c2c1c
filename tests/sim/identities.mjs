// Real identities for simulated nodes: an Ed25519 key pair each (node:crypto), the node id derived
// from the public key, and the claim imports made and checked as the host does
// (host/secure/claims.ts, identity.ts: the same label, id derivation and byte order), so a
// simulated member cannot sign for another. Slower than the stand-in (~0.3 ms per check): for
// small clusters under attack (forged-gossip.test.mjs).
import { createHash, createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";

const LABEL = Buffer.from("divs claim");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const TRAILER = 96;
const ID_AT = 4;

/** The 8 node id bytes of a raw public key: SHA-256("divs node id" || key)[0..8]. */
function nodeIdBytes(raw) {
  return createHash("sha256").update("divs node id").update(raw).digest().subarray(0, 8);
}

/** Claim imports that sign as `identity` and check any member's claims. */
function claimImports(identity) {
  return (buffer) => ({
    claim_sign(ptr, len) {
      signClaim(identity, new Uint8Array(buffer(), ptr, len));
    },
    claim_verify(ptr, len) {
      if (len < ID_AT + 8 + TRAILER) return 0;
      const b = new Uint8Array(buffer(), ptr, len);
      const key = b.slice(len - TRAILER, len - 64);
      const id = nodeIdBytes(key);
      for (let i = 0; i < 8; i++) if (id[i] !== b[ID_AT + 7 - i]) return 0; // the core writes the LE id big-endian
      try {
        const pub = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, key]), format: "der", type: "spki" });
        return verify(null, Buffer.concat([LABEL, b.subarray(0, len - 64)]), pub, b.subarray(len - 64)) ? 1 : 0;
      } catch {
        return 0;
      }
    },
  });
}

/** A fresh identity: {id (the u64 the core is given), raw (public key), privateKey, claims}. */
export function newIdentity() {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length);
  const identity = { id: nodeIdBytes(raw).readBigUInt64LE(0), raw, privateKey, claims: null };
  identity.claims = claimImports(identity);
  return identity;
}

/** Signs a claim region (info || key || signature) in place with `identity`: what its node would send. */
export function signClaim(identity, region) {
  const len = region.length;
  region.set(identity.raw, len - TRAILER);
  region.set(sign(null, Buffer.concat([LABEL, region.subarray(0, len - 64)]), identity.privateKey), len - 64);
}
