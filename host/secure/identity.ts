// A node's static identity (docs/security.md "Identity"): an Ed25519 key pair whose seed lives in the
// state directory (docs/state.md), made on first start, so a restarted node keeps its node id. The node
// id (8 bytes, what the core names members by) is derived from the public key, so whoever proves the
// key owns the id.
import { utf8 } from "./bytes.ts";
import type { CryptoProvider, Signer } from "./provider.ts";
import type { StateStore } from "../state/state-dir.ts";

export const IDENTITY_FILE = "identity.key";
export const SEED_LEN = 32;
export const NODE_ID_LEN = 8;
const NODE_ID_LABEL = utf8("divs node id");

/** The first 8 bytes of SHA-256("divs node id" || public key). */
export function nodeIdOf(crypto: CryptoProvider, publicKey: Uint8Array): Uint8Array {
  return crypto.sha256(NODE_ID_LABEL, publicKey).slice(0, NODE_ID_LEN);
}

export class Identity {
  readonly signer: Signer;
  readonly nodeId: Uint8Array;

  constructor(crypto: CryptoProvider, seed: Uint8Array) {
    this.signer = crypto.signer(seed);
    this.nodeId = nodeIdOf(crypto, this.signer.publicKey);
  }

  get publicKey(): Uint8Array {
    return this.signer.publicKey;
  }

  /** A fresh identity (tests, tools): not saved anywhere. */
  static generate(crypto: CryptoProvider): Identity {
    const seed = new Uint8Array(SEED_LEN);
    crypto.randomFill(seed);
    const identity = new Identity(crypto, seed);
    seed.fill(0);
    return identity;
  }
}

/** The identity saved in `store` (the 32-byte seed, raw), made and saved first when there is none. */
export function loadIdentity(store: StateStore, crypto: CryptoProvider): Identity {
  let seed = store.read(IDENTITY_FILE);
  if (seed === null) {
    seed = new Uint8Array(SEED_LEN);
    crypto.randomFill(seed);
    store.write(IDENTITY_FILE, seed);
  } else if (seed.length !== SEED_LEN) {
    throw new Error(`${store.dir}/${IDENTITY_FILE}: ${seed.length} bytes, not an identity (${SEED_LEN} bytes); move it away to make a new one`);
  }
  const identity = new Identity(crypto, seed);
  seed.fill(0);
  return identity;
}
