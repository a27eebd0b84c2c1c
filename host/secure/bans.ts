// Identities removed from the switch (`divs remove`, docs/security.md "Removing a node"). A ban names
// the identity by its node id, the 8 bytes the core and `wrong_identity` name members by: SHA-256 of
// the static key, so a key that matches a banned id takes about 2^64 tries to find.
import { NODE_ID_LEN, nodeIdOf } from "./identity.ts";
import type { CryptoProvider } from "./provider.ts";

/** Bans kept, at most: each is an operator's `divs remove`, so a full list is an attack or a mistake. */
export const MAX_BANS = 4096;

const text = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

export class BanList {
  private readonly ids = new Set<string>();

  constructor(private readonly crypto: CryptoProvider) {}

  /** Adds the 8-byte node id; false when it was banned already or the list is full. */
  add(nodeId: Uint8Array): boolean {
    if (nodeId.length !== NODE_ID_LEN) throw new Error(`a node id is ${NODE_ID_LEN} bytes, got ${nodeId.length}`);
    const id = text(nodeId);
    if (this.ids.has(id) || this.ids.size >= MAX_BANS) return false;
    this.ids.add(id);
    return true;
  }

  hasId(nodeId: Uint8Array): boolean {
    return this.ids.size > 0 && this.ids.has(text(nodeId));
  }

  /** True when the static identity key derives a banned node id (one SHA-256, only while any ban exists). */
  bansKey(identity: Uint8Array): boolean {
    return this.ids.size > 0 && this.ids.has(text(nodeIdOf(this.crypto, identity)));
  }

  get size(): number {
    return this.ids.size;
  }

  /** The banned node ids (8 bytes each). */
  list(): Uint8Array[] {
    return [...this.ids].map((id) => Uint8Array.from(id, (c) => c.charCodeAt(0)));
  }
}
