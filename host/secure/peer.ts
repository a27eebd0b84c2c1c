// One peer of the transport, filed under its address key: its sessions, the one DATA goes out on,
// the handshake we started with it, and what waits for that handshake.
import type { AddrKey } from "./addr-key.ts";
import type { NetworkKey } from "./keyring.ts";
import type { Session } from "./session.ts";

/** Our side of a handshake we started: enough to check the challenge and finish. */
export interface Pending {
  idx: number;
  key: NetworkKey;
  e: Uint8Array;
  E: Uint8Array;
  N: Uint8Array;
  init: Uint8Array;
  peer: Peer;
  started: number;
  nextSend: number;
  interval: number;
}

export class Peer {
  /** Oldest first. */
  readonly sessions: Session[] = [];
  /** Session our DATA goes out on: the newest confirmed one, else the newest (first handshake). */
  send: Session | null = null;
  /** Session the peer last sent on: older ones retire a grace period after it changes. */
  lastReceived: Session | null = null;
  pending: Pending | null = null;
  queue: Uint8Array[] = [];
  /** The static identity key its sessions were made with (docs/security.md "Identity"). */
  identity: Uint8Array | null = null;

  constructor(readonly addrKey: AddrKey, readonly addr: Uint8Array) {}

  chooseSend(now: number): void {
    let fallback: Session | null = null;
    this.send = null;
    for (let i = this.sessions.length - 1; i >= 0; i--) {
      const s = this.sessions[i];
      if (!s.live(now)) continue;
      if (s.confirmed) {
        this.send = s;
        return;
      }
      fallback ??= s;
    }
    // An unconfirmed initiator session is used only when nothing confirmed is left to carry data.
    this.send = fallback;
  }
}
