// A node's side of invitations (docs/security.md "Invitations"): `divs invite` issues one over the
// control socket; `divs up --join INVITATION` redeems it for the network key before the node joins.
// The exchange itself is host/secure/invite.ts; this file carries its datagrams and its time.
import { addressBytes, formatHostPort, type HostPort } from "../net/address.ts";
import { DivsError, ExitCode } from "../base/errors.ts";
import type { DatagramTransport, Timers } from "../base/services.ts";
import type { CryptoProvider } from "../secure/provider.ts";
import { InviteBook, InviteRedeemer } from "../secure/invite.ts";
import { encodeInvitation, type Invitation } from "../secure/token.ts";

/** `divs invite` without --expires: long enough to hand it over, short enough not to linger. */
export const DEFAULT_INVITE_LIFETIME_S = 3600;
/** At most 30 days. */
export const MAX_INVITE_LIFETIME_S = 30 * 86400;
/** The request is sent again this often while no answer came, to each seed in turn. */
const RESEND_MS = 500;
/** Then the joiner gives up. */
const REDEEM_TIMEOUT_MS = 10_000;

/** `divs invite`'s answer. */
export interface InviteReply {
  invitation: string;
  /** ISO 8601 time it expires. */
  expires: string;
}

/** Issues an invitation naming `seeds` (this node), valid `lifetimeS` from now. */
export function issueInvitation(book: InviteBook, seeds: HostPort[], lifetimeS: number, now: number, wallNowMs: number): InviteReply {
  if (!Number.isInteger(lifetimeS) || lifetimeS < 1 || lifetimeS > MAX_INVITE_LIFETIME_S) {
    throw new Error(`an invitation lives 1..${MAX_INVITE_LIFETIME_S} s, not ${lifetimeS}`);
  }
  const secret = book.issue(now, lifetimeS * 1000);
  const expiresAtS = Math.floor(wallNowMs / 1000) + lifetimeS;
  const invitation = encodeInvitation(seeds, { ...secret, expiresAtS });
  secret.secret.fill(0);
  return { invitation, expires: new Date(expiresAtS * 1000).toISOString() };
}

/** Parses `--expires` (90, 90s, 15m, 1h, 2d) into seconds. */
export function parseLifetime(text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text);
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[m?.[2] ?? ""];
  const seconds = m && unit ? Number(m[1]) * unit : NaN;
  if (!(seconds >= 1 && seconds <= MAX_INVITE_LIFETIME_S)) {
    throw new DivsError(`bad --expires "${text}": expected a duration like 90s, 15m, 1h, 2d (at most 30d)`, ExitCode.usage);
  }
  return seconds;
}

/**
 * Redeems an invitation through `transport` (the node's own socket, so the exchange comes from the
 * address the node then joins from). `route` is set to the handler of invite datagrams until it ends.
 * Resolves with the network key; rejects with a usage error when the issuer refuses, a failure when
 * nobody answers.
 */
export function redeemInvitation(
  crypto: CryptoProvider, timers: Timers, transport: DatagramTransport, seeds: HostPort[], invitation: Invitation,
  wallNowMs: number, route: (handler: ((packet: Uint8Array) => void) | null) => void,
): Promise<Uint8Array> {
  if (wallNowMs / 1000 >= invitation.expiresAtS) {
    const at = new Date(invitation.expiresAtS * 1000).toISOString();
    return Promise.reject(new DivsError(`this invitation expired at ${at}: divs invite on a member makes a new one`, ExitCode.usage));
  }
  const redeemer = new InviteRedeemer(crypto, invitation);
  const addresses = seeds.map(addressBytes);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let timer: unknown = null;
    const end = (finish: () => void) => {
      timers.clear(timer);
      route(null);
      redeemer.wipe();
      // Settled from a timer: a runtime whose loop gives promises a turn only after timers (the Node
      // poll loop, host/node/poll-loop.ts) would not run the awaiting code after a datagram.
      timers.set(finish, 0);
    };
    const send = () => {
      if (sent * RESEND_MS >= REDEEM_TIMEOUT_MS) {
        end(() => reject(new DivsError(`no answer to the invitation from ${seeds.map(formatHostPort).join(", ")}`, ExitCode.failure)));
        return;
      }
      transport.send(addresses[sent % addresses.length], 0, redeemer.request);
      transport.flush();
      sent++;
      timer = timers.set(send, RESEND_MS);
    };
    route((packet) => {
      const result = redeemer.incoming(packet);
      if (result === null) return; // not ours, or forged
      if (result instanceof Error) end(() => reject(new DivsError(`invitation refused: ${result.message}`, ExitCode.usage)));
      else end(() => resolve(result));
    });
    send();
  });
}
