// `--address dhcp` (docs/dhcp.md "The node's own address"): the node's TAP takes an address from the
// switch's pool. The host asks its own core (IN_DHCP_SELF) for a lease for the TAP's MAC, as a client
// behind the TAP would get one, puts the address on the TAP, and asks again at T1 (half the lease).
// No answer yet (the node owns no block before its share arrives): it asks again every second; a
// lease that ran out without a renewal takes the address off the TAP.
import type { Cidr } from "../net/cidr.ts";
import { ipv4Text } from "./dhcp.ts";
import type { Clock, Logger, Randomness, Timers } from "../base/services.ts";
import type { StateStore } from "../state/state-dir.ts";

/** The TAP's MAC under `--address dhcp` without `--mac`, kept so a restarted node asks for the same lease. */
export const TAP_MAC_FILE = "tap-mac";
/** While no address can be had, ask this often. */
const RETRY_MS = 1000;

/** `--mac` when given, else the MAC kept in the state directory, made up (locally administered, unicast) on first start. */
export function selfLeaseMac(store: StateStore, given: string | null, random: Randomness): string {
  if (given !== null) return given;
  const kept = store.read(TAP_MAC_FILE);
  const text = kept === null ? "" : new TextDecoder().decode(kept).trim();
  if (/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(text)) return text;
  const b = new Uint8Array(6);
  random.fill(b);
  b[0] = (b[0] & 0xfc) | 0x02;
  const mac = [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
  store.write(TAP_MAC_FILE, new TextEncoder().encode(`${mac}\n`));
  return mac;
}

export function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(":"), (h) => parseInt(h, 16));
}

interface Lease {
  cidr: Cidr;
  leaseS: number;
  /** Clock ms. */
  expiresAt: number;
  renewAt: number;
}

export class SelfAddress {
  private lease: Lease | null = null;
  private timer: unknown = null;

  constructor(
    private readonly services: { timers: Timers; clock: Clock; log: Logger },
    private readonly ask: () => void,
    private readonly apply: (address: Cidr | null) => void,
  ) {}

  start(): void {
    this.ask();
  }

  /** OUT_DHCP_ADDRESS: `ip` 0 when no lease can be given now. */
  answer(ip: number, prefix: number, leaseS: number): void {
    const now = this.services.clock.now();
    if (ip === 0 || leaseS === 0) {
      if (this.lease !== null && now >= this.lease.expiresAt) {
        this.services.log.warn(`--address dhcp: the lease of ${this.lease.cidr.address} ran out without a renewal; asking again`);
        this.lease = null;
        this.apply(null);
      }
      this.schedule(RETRY_MS);
      return;
    }
    const cidr = { address: ipv4Text(ip), prefix };
    if (this.lease === null || this.lease.cidr.address !== cidr.address || this.lease.cidr.prefix !== prefix) {
      this.apply(cidr);
      this.services.log.info(`--address dhcp: ${cidr.address}/${prefix} for ${leaseS} s`);
    }
    const renewIn = (leaseS * 1000) / 2;
    this.lease = { cidr, leaseS, expiresAt: now + leaseS * 1000, renewAt: now + renewIn };
    this.schedule(Math.max(RETRY_MS, renewIn));
  }

  /** For `divs status`: "198.18.0.105/24 (dhcp, renews in 1800 s)" or "dhcp (asking)". */
  describe(): string {
    if (this.lease === null) return "dhcp (asking)";
    const renewS = Math.max(0, Math.round((this.lease.renewAt - this.services.clock.now()) / 1000));
    return `${this.lease.cidr.address}/${this.lease.cidr.prefix} (dhcp, renews in ${renewS} s)`;
  }

  stop(): void {
    if (this.timer !== null) this.services.timers.clear(this.timer);
    this.timer = null;
  }

  private schedule(delayMs: number): void {
    this.stop();
    this.timer = this.services.timers.set(() => {
      this.timer = null;
      this.ask();
    }, delayMs);
  }
}
