// Caches between a runtime's (host string, port) and the core's 18-byte addresses, keyed by the
// numeric (ipv4, port), so the per-datagram path builds no new strings or buffers. Bounded: a full
// cache is cleared rather than grown (a churn of sources costs rebuilds, never memory).
import { ADDR_LEN } from "./abi.ts";
import { type HostPort, addressKey, encodeAddress, hostPortOfKey, keyOfAddress, parseIpv4 } from "./address.ts";

const CACHE_LIMIT = 4096;

export class AddressCache<Dest> {
  private readonly hostIps = new Map<string, number>();
  private readonly sources = new Map<number, Uint8Array>();
  private readonly dests = new Map<number, Dest>();

  /** `toDest` turns a host and port into the runtime's send destination. */
  constructor(private readonly toDest: (hp: HostPort) => Dest) {}

  /** The 18-byte address of a datagram's source (shared: the driver copies what it keeps). */
  source(host: string, port: number): Uint8Array {
    let ip = this.hostIps.get(host);
    if (ip === undefined) {
      if (this.hostIps.size >= CACHE_LIMIT) this.hostIps.clear();
      ip = parseIpv4(host);
      this.hostIps.set(host, ip);
    }
    const key = addressKey(ip, port);
    let bytes = this.sources.get(key);
    if (bytes === undefined) {
      if (this.sources.size >= CACHE_LIMIT) this.sources.clear();
      bytes = new Uint8Array(ADDR_LEN);
      encodeAddress(ip, port, bytes);
      this.sources.set(key, bytes);
    }
    return bytes;
  }

  /** The destination for the 18-byte address at `offset`, or null for an IPv6 address (not supported). */
  dest(address: Uint8Array, offset: number): Dest | null {
    const key = keyOfAddress(address, offset);
    if (key < 0) return null;
    let dest = this.dests.get(key);
    if (dest === undefined) {
      if (this.dests.size >= CACHE_LIMIT) this.dests.clear();
      dest = this.toDest(hostPortOfKey(key));
      this.dests.set(key, dest);
    }
    return dest;
  }
}
