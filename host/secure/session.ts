// One direction-keyed session with a peer: send counter, replay window, and its lifetime.
import type { AeadKey } from "./provider.ts";
import { ReplayWindow } from "./replay.ts";

export class Session {
  sendCounter = 0;
  readonly window = new ReplayWindow();
  /** No decryption at or after this time once the peer has moved to a newer session. */
  retireAt = Infinity;
  /** Set when the key that made the session leaves the keyring: replace it on the next send. */
  rekeyDue = false;

  constructor(
    /** Our index: DATA addressed to us carries it. */
    readonly localIdx: number,
    /** The peer's index: our DATA carries it. */
    readonly remoteIdx: number,
    readonly keyId: number,
    readonly sendKey: AeadKey,
    readonly recvKey: AeadKey,
    readonly initiator: boolean,
    readonly created: number,
    readonly expiresAt: number,
    /** Creation order within this transport: higher is newer. */
    readonly seq: number,
    /**
     * The peer is known to hold the session: true for a responder (the confirm proved it), false for
     * an initiator until the first authenticated DATA arrives on it.
     */
    public confirmed: boolean,
  ) {}

  live(now: number): boolean {
    return now < this.expiresAt && now < this.retireAt;
  }
}
