// Test harness: transports on simulated addresses, and a network that carries their transmits.
import { encodeAddress, addressKey } from "../../host/net/address.ts";
import { Identity } from "../../host/secure/identity.ts";
import { Keyring } from "../../host/secure/keyring.ts";
import type { SecureConfig } from "../../host/secure/config.ts";
import { type AddrKey, SecureTransport } from "../../host/secure/transport.ts";
import type { CryptoProvider } from "../../host/secure/provider.ts";
import { withSodiumAead } from "../../host/secure/sodium-aead.ts";
import { nodeCrypto } from "../../host/secure/node-crypto.ts";
import { loadSodium } from "../../host/node/sodium.ts";

export const crypto = nodeCrypto;

const sodiumCalls = loadSodium();
if (typeof sodiumCalls === "string") throw new Error(`the secure tests need libsodium (Debian libsodium23): ${sodiumCalls}`);
/** The libsodium provider the data plane uses when libsodium23 is installed. */
export const sodiumCrypto = withSodiumAead(nodeCrypto, sodiumCalls);

/** Nodes alternate between the two providers, so every pair seals with one and opens with the other. */
const PROVIDERS: CryptoProvider[] = [nodeCrypto, sodiumCrypto];
let created = 0;

export function newKey(): Uint8Array {
  const k = new Uint8Array(32);
  crypto.randomFill(k);
  return k;
}

/** A datagram a node's transport handed its sink, copied (the sink's views last only for the call). */
export interface Transmit {
  addrKey: AddrKey;
  addr: Uint8Array;
  data: Uint8Array;
}

export class Node {
  readonly key: number;
  readonly addr = new Uint8Array(18);
  readonly t: SecureTransport;
  readonly delivered: Uint8Array[] = [];
  private readonly outbox: Transmit[] = [];
  /** CONTROL messages opened here, with the identity key of the session they came on and their source. */
  onControl: (from: Uint8Array, source: Uint8Array, message: Uint8Array) => void = () => {};

  constructor(
    readonly name: string, ip: number, port: number, networkKey: Uint8Array, now: number, config: Partial<SecureConfig> = {},
    readonly identity: Identity = Identity.generate(nodeCrypto),
  ) {
    this.key = addressKey(ip, port);
    encodeAddress(ip, port, this.addr);
    const provider = PROVIDERS[created++ % PROVIDERS.length];
    this.t = new SecureTransport(provider, new Keyring(provider, networkKey), identity, now, config);
    this.t.transmitTo((addrKey, addr, data) => this.outbox.push({ addrKey, addr: Uint8Array.from(addr), data: Uint8Array.from(data) }));
  }

  /** What the transport sent since the last call: the datagrams the call passed in (`_call`) made. */
  sent(_call?: unknown): Transmit[] {
    return this.outbox.splice(0);
  }
}

/** 198.19.0.x, the underlay test range. */
export function ip(last: number): number {
  return ((198 << 24) | (19 << 16) | last) >>> 0;
}

interface Flight {
  from: Node;
  to: Node;
  data: Uint8Array;
}

/** Carries transmits between nodes in FIFO order; `capture` lets a test inspect or hold packets. */
export class Net {
  readonly nodes = new Map<number | string, Node>();
  readonly inflight: Flight[] = [];
  now = 0;

  add(...nodes: Node[]): void {
    for (const n of nodes) this.nodes.set(n.key, n);
  }

  post(from: Node, transmits: readonly Transmit[]): Flight[] {
    const posted: Flight[] = [];
    for (const tx of transmits) {
      const to = this.nodes.get(tx.addrKey);
      if (!to) throw new Error(`no node at ${tx.addrKey}`);
      const f = { from, to, data: Uint8Array.from(tx.data) };
      this.inflight.push(f);
      posted.push(f);
    }
    return posted;
  }

  send(from: Node, to: Node, plaintext: Uint8Array): void {
    this.post(from, from.sent(from.t.outgoing(to.key, to.addr, plaintext, this.now)));
  }

  /** Delivers one packet to its node as if from `from`; records deliveries and posts replies. */
  deliver(f: Flight): Uint8Array | null {
    const r = f.to.t.incoming(f.from.key, f.from.addr, f.data, this.now);
    const got = r.deliver;
    if (got) f.to.delivered.push(got);
    const control = r.control !== null ? { from: r.controlFrom!, source: Uint8Array.from(r.source), message: r.control } : null;
    this.post(f.to, f.to.sent());
    if (control !== null) f.to.onControl(control.from, control.source, control.message);
    return got;
  }

  /** Delivers everything in flight (and their replies) in order; `drop` filters packets out. */
  pump(drop: (f: Flight) => boolean = () => false, limit = 10_000): void {
    for (let i = 0; this.inflight.length > 0; i++) {
      if (i > limit) throw new Error("network did not settle");
      const f = this.inflight.shift()!;
      if (!drop(f)) this.deliver(f);
    }
  }

  tick(): void {
    for (const n of this.nodes.values()) this.post(n, n.sent(n.t.handleTimeout(this.now)));
  }

  /** Takes all packets in flight without delivering them. */
  take(): Flight[] {
    return this.inflight.splice(0);
  }
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function text(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

export function pair(config: Partial<SecureConfig> = {}): { net: Net; a: Node; b: Node; key: Uint8Array } {
  const key = newKey();
  const net = new Net();
  const a = new Node("a", ip(1), 4789, key, 0, config);
  const b = new Node("b", ip(2), 4789, key, 0, config);
  net.add(a, b);
  return { net, a, b, key };
}

/** Brings a pair up: A sends one datagram, the handshake runs, B gets it. */
export function established(config: Partial<SecureConfig> = {}) {
  const p = pair(config);
  p.net.send(p.a, p.b, bytes("hello"));
  p.net.pump();
  if (p.b.delivered.length !== 1) throw new Error("pair did not come up");
  return p;
}
