// Where the transport sends a peer's packets (the core's OUT_ROUTE, docs/abi.md): peer address ->
// (send address, direct or relay). Sessions stay keyed by the peer's address, so a path change never
// loses a session; a direct route also tells which peer a datagram from its send address belongs to.
import type { AddrKey } from "./addr-key.ts";

export const ROUTE_DIRECT = 1;
export const ROUTE_RELAY = 2;

export interface Route {
  peerKey: AddrKey;
  /** 18-byte address of the peer (its key's address). */
  peerAddr: Uint8Array;
  sendKey: AddrKey;
  /** 18-byte address every packet for the peer goes to: its endpoint in use, or the relay's. */
  sendAddr: Uint8Array;
  kind: typeof ROUTE_DIRECT | typeof ROUTE_RELAY;
}

export class RouteTable {
  private readonly byPeer = new Map<AddrKey, Route>();
  /** Send address of a direct route -> the route: datagrams from there belong to its peer. */
  private readonly directBySend = new Map<AddrKey, Route>();

  /**
   * Sets the route to `peerKey`. A direct route to the peer's own address is no route (packets go to
   * the peer's address as without one), so it removes any.
   */
  set(peerKey: AddrKey, peerAddr: Uint8Array, sendKey: AddrKey, sendAddr: Uint8Array, kind: typeof ROUTE_DIRECT | typeof ROUTE_RELAY): void {
    this.delete(peerKey);
    if (kind === ROUTE_DIRECT && sendKey === peerKey) return;
    const route: Route = { peerKey, peerAddr: Uint8Array.from(peerAddr), sendKey, sendAddr: Uint8Array.from(sendAddr), kind };
    this.byPeer.set(peerKey, route);
    if (kind === ROUTE_DIRECT) this.directBySend.set(sendKey, route);
  }

  delete(peerKey: AddrKey): void {
    const old = this.byPeer.get(peerKey);
    if (old === undefined) return;
    this.byPeer.delete(peerKey);
    if (this.directBySend.get(old.sendKey) === old) this.directBySend.delete(old.sendKey);
  }

  get(peerKey: AddrKey): Route | undefined {
    return this.byPeer.get(peerKey);
  }

  /** The direct route whose send address is `sourceKey`: a datagram from there is its peer's. */
  directFrom(sourceKey: AddrKey): Route | undefined {
    return this.directBySend.get(sourceKey);
  }

  get size(): number {
    return this.byPeer.size;
  }

  list(): Route[] {
    return [...this.byPeer.values()];
  }
}
