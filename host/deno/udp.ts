// The underlay socket: Deno.listenDatagram (needs --unstable-net). A receive loop hands each datagram
// to the driver with its source as an 18-byte address from a cache keyed by the numeric (ipv4, port),
// like host/node/udp.ts.
import { ADDR_LEN } from "../common/abi.ts";
import { type HostPort, addressKey, encodeAddress, hostPortOfKey, keyOfAddress, parseIpv4 } from "../common/address.ts";
import { DivsError, ExitCode } from "../common/errors.ts";
import type { DatagramSink } from "../common/platform.ts";
import type { DatagramTransport } from "../common/runtime.ts";

const CACHE_LIMIT = 4096;

export class DenoUdpTransport implements DatagramTransport {
  private readonly hostIps = new Map<string, number>();
  private readonly sourceCache = new Map<number, Uint8Array>();
  private readonly destCache = new Map<number, Deno.NetAddr>();
  private closed = false;
  sendErrors = 0;

  private constructor(private readonly conn: Deno.DatagramConn) {}

  static bind(listen: HostPort, sink: DatagramSink): Promise<DenoUdpTransport> {
    if (typeof Deno.listenDatagram !== "function") {
      throw new DivsError("Deno.listenDatagram is missing: run deno with --unstable-net", ExitCode.usage);
    }
    let conn: Deno.DatagramConn;
    try {
      conn = Deno.listenDatagram({ transport: "udp", hostname: listen.host, port: listen.port });
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) throw new DivsError(`UDP ${listen.host}:${listen.port} is already in use`, ExitCode.portInUse);
      if (e instanceof Deno.errors.AddrNotAvailable) throw new DivsError(`cannot listen on ${listen.host}: no such local address`, ExitCode.usage);
      throw new DivsError(`cannot listen on ${listen.host}:${listen.port}: ${(e as Error).message}`, ExitCode.failure);
    }
    const transport = new DenoUdpTransport(conn);
    transport.receiveLoop(sink);
    return Promise.resolve(transport);
  }

  private async receiveLoop(sink: DatagramSink): Promise<void> {
    while (!this.closed) {
      let received: [Uint8Array, Deno.Addr];
      try {
        received = await this.conn.receive();
      } catch {
        if (this.closed) return;
        continue; // e.g. an ICMP error surfaced on the socket
      }
      const from = received[1] as Deno.NetAddr;
      sink(this.sourceAddress(from.hostname, from.port), 0, received[0]);
    }
  }

  private sourceAddress(host: string, port: number): Uint8Array {
    let ip = this.hostIps.get(host);
    if (ip === undefined) {
      if (this.hostIps.size >= CACHE_LIMIT) this.hostIps.clear();
      ip = parseIpv4(host);
      this.hostIps.set(host, ip);
    }
    const key = addressKey(ip, port);
    let bytes = this.sourceCache.get(key);
    if (bytes === undefined) {
      if (this.sourceCache.size >= CACHE_LIMIT) this.sourceCache.clear();
      bytes = new Uint8Array(ADDR_LEN);
      encodeAddress(ip, port, bytes);
      this.sourceCache.set(key, bytes);
    }
    return bytes;
  }

  send(address: Uint8Array, offset: number, datagram: Uint8Array): void {
    const key = keyOfAddress(address, offset);
    if (key < 0) {
      this.sendErrors++; // IPv6 underlay is not supported by this socket
      return;
    }
    let dest = this.destCache.get(key);
    if (dest === undefined) {
      if (this.destCache.size >= CACHE_LIMIT) this.destCache.clear();
      const hp = hostPortOfKey(key);
      dest = { transport: "udp", hostname: hp.host, port: hp.port };
      this.destCache.set(key, dest);
    }
    // The datagram is a view into core memory; the send completes later, so copy it.
    this.conn.send(datagram.slice(), dest).catch(() => this.sendErrors++);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}
