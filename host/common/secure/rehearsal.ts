// A dry run of the transport layer's data path for the latency wake (host/common/latency-wake.ts):
// two in-memory transports under a throwaway key pass one ping-sized datagram per wake (seal, session
// lookup, replay window, open), so that code is in cache when the next real packet comes. They share
// nothing with the node's transport (no session, counter or peer) and nothing reaches a socket.
// Measured with timestamps in the node (docs/performance.md "Latency wake"): with the AEAD alone
// rehearsed, the open of a ping after a 20 ms gap went 18 -> 6 us and the seal 8 -> 3 us.
import { type AddressKey, addressBytes, keyOfAddress } from "../address.ts";
import type { Clock } from "../runtime.ts";
import type { SecureConfig } from "./config.ts";
import { Keyring } from "./keyring.ts";
import type { CryptoProvider } from "./provider.ts";
import { SecureTransport } from "./transport.ts";

/** A ping's plaintext (frame and FRAME header): the path (small AEAD) real pings take. */
const REHEARSAL_PLAINTEXT = 112;
/** A handshake is three messages, then the queued datagram: flights never go deeper. */
const MAX_FLIGHTS = 8;
/**
 * One handshake, in the constructor, and never another: a handshake is X25519 and Ed25519 in
 * tweetnacl (~5-20 ms here), which must not land between two packets. So the sessions never expire
 * or rekey and the cookie secret never rotates; the key is a throwaway, so nothing is at stake.
 */
const ONE_HANDSHAKE: Partial<SecureConfig> = { rekeyAfterMs: Infinity, expireAfterMs: Infinity, cookiePeriodMs: Infinity };

interface Side {
  transport: SecureTransport;
  addr: Uint8Array;
  key: AddressKey;
}

interface Flight {
  from: Side;
  to: Side;
  data: Uint8Array;
}

export class TransportRehearsal {
  private readonly a: Side;
  private readonly b: Side;
  private readonly plaintext = new Uint8Array(REHEARSAL_PLAINTEXT);

  constructor(crypto: CryptoProvider, private readonly clock: Clock) {
    const raw = new Uint8Array(32);
    crypto.randomFill(raw); // never used for traffic; random so it is no one's key
    const now = clock.now();
    // Addresses no peer can have (0.0.0.0/8): they only name the two sides to each other.
    const side = (host: string): Side => {
      const addr = addressBytes({ host, port: 1 });
      return { transport: new SecureTransport(crypto, new Keyring(crypto, raw), now, ONE_HANDSHAKE), addr, key: keyOfAddress(addr) };
    };
    this.a = side("0.0.0.1");
    this.b = side("0.0.0.2");
    if (!this.run()) throw new Error("transport rehearsal: the in-memory handshake failed");
  }

  /** One datagram from one side to the other (the first run also carries the handshake); true when delivered. */
  run(): boolean {
    const now = this.clock.now();
    const flights: Flight[] = [];
    take(flights, this.a, this.b, this.a.transport.outgoing(this.b.key, this.b.addr, this.plaintext, now));
    let delivered = false;
    for (let depth = 0; flights.length > 0 && depth < MAX_FLIGHTS; depth++) {
      for (const f of flights.splice(0)) {
        const r = f.to.transport.incoming(f.from.key, f.from.addr, f.data, now);
        if (r.deliver !== null) delivered = true;
        take(flights, f.to, f.from, r.transmits);
      }
    }
    return delivered;
  }

  /** Sessions the two sides hold: one each, for as long as the node runs. */
  sessionCount(): number {
    return this.a.transport.sessionCount() + this.b.transport.sessionCount();
  }
}

/** The transport reuses its result arrays: keep the datagrams before the next call. */
function take(flights: Flight[], from: Side, to: Side, transmits: { data: Uint8Array }[]): void {
  for (const t of transmits) flights.push({ from, to, data: t.data });
}
