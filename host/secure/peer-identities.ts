// Which identity each peer of the transport proved, and which one the core expects at each address
// (docs/security.md "Identity"): sessions belong to an identity, so a handshake or datagram from a new
// address can be matched to the peer it comes from, and a handshake with a known member's address
// must prove that member's identity.
import type { AddrKey } from "./addr-key.ts";
import { equalBytes } from "./bytes.ts";
import { NODE_ID_LEN, nodeIdOf } from "./identity.ts";
import type { CryptoProvider } from "./provider.ts";

/** What the table needs of a peer: the identity its sessions were made with. */
export interface IdentifiedPeer {
  identity: Uint8Array | null;
}

const text = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

export class PeerIdentities<P extends IdentifiedPeer> {
  /** Static identity key (latin1 text) -> the peer holding sessions made with it. */
  private readonly byIdentity = new Map<string, P>();
  /** Peer address -> the node id (8 bytes) of the member the core knows there. */
  private readonly expected = new Map<AddrKey, Uint8Array>();

  constructor(private readonly crypto: CryptoProvider) {}

  /** `peer` proved `identity` in a handshake: it owns the peer's sessions from now on. */
  identify(peer: P, identity: Uint8Array): void {
    if (peer.identity !== null && !equalBytes(peer.identity, 0, identity, 0, identity.length)) this.forget(peer); // another node there now
    peer.identity = Uint8Array.from(identity);
    this.byIdentity.set(text(identity), peer);
  }

  /** The peer holding sessions with `identity`, if any. */
  holder(identity: Uint8Array): P | undefined {
    return this.byIdentity.get(text(identity));
  }

  /** The peer is gone: its identity names no peer any more. */
  forget(peer: P): void {
    if (peer.identity !== null && this.byIdentity.get(text(peer.identity)) === peer) this.byIdentity.delete(text(peer.identity));
  }

  /** The member at `key` has node id `nodeId` (null: none any more). */
  expect(key: AddrKey, nodeId: Uint8Array | null): void {
    if (nodeId === null) this.expected.delete(key);
    else this.expected.set(key, Uint8Array.from(nodeId));
  }

  /** False when the core knows another member at `key` than the one `identity` makes. */
  fits(key: AddrKey, identity: Uint8Array): boolean {
    return !this.expected.has(key) || this.expectedAt(key, identity);
  }

  /** True when the core knows the member `identity` makes at `key`. */
  expectedAt(key: AddrKey, identity: Uint8Array): boolean {
    const expected = this.expected.get(key);
    return expected !== undefined && equalBytes(nodeIdOf(this.crypto, identity), 0, expected, 0, NODE_ID_LEN);
  }
}
