// One transport packet from a peer, come directly or out of a relay envelope, to the step its type names.
import type { AddrKey } from "./addr-key.ts";
import type { TransportContext } from "./context.ts";
import { onData } from "./data.ts";
import { CONTROL, DATA, HS_CHALLENGE, HS_CONFIRM, HS_INIT } from "./handshake.ts";
import { onChallenge } from "./initiator.ts";
import { onConfirm, onInit } from "./responder.ts";
import type { OpenInto } from "./results.ts";

/** A transport packet from the peer at `peerKey`; `cookieAddr` is the address its handshake is bound to. */
export function onPacket(
  t: TransportContext, peerKey: AddrKey, peerAddr: Uint8Array, cookieAddr: Uint8Array, packet: Uint8Array, now: number,
  openInto?: OpenInto,
): void {
  switch (packet[1]) {
    case DATA:
      onData(t, peerKey, packet, now, openInto);
      break;
    case CONTROL:
      onData(t, peerKey, packet, now); // never into the core's input region
      break;
    case HS_INIT:
      onInit(t, peerKey, cookieAddr, packet, now);
      break;
    case HS_CHALLENGE:
      onChallenge(t, peerKey, cookieAddr, packet, now);
      break;
    case HS_CONFIRM:
      onConfirm(t, peerKey, peerAddr, cookieAddr, packet, now);
      break;
    default:
      t.counters.bad_type++; // a RELAY envelope inside one too: relays do not chain
  }
}
