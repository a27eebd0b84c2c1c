// The underlay socket: Deno.listenDatagram (needs --unstable-net). A receive loop hands each datagram
// to the driver with its source as an 18-byte address from a cache keyed by the numeric (ipv4, port),
// like host/node/udp.ts.
import { AddressCache } from "../common/address-cache.ts";
import type { HostPort } from "../common/address.ts";
import { DivsError, ExitCode } from "../common/errors.ts";
import type { DatagramSink } from "../common/platform.ts";
import type { DatagramTransport } from "../common/runtime.ts";

export class DenoUdpTransport implements DatagramTransport {
  private readonly addresses = new AddressCache<Deno.NetAddr>(
    (hp) => ({ transport: "udp", hostname: hp.host, port: hp.port }),
  );
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
      sink(this.addresses.source(from.hostname, from.port), 0, received[0]);
    }
  }

  send(address: Uint8Array, offset: number, datagram: Uint8Array): void {
    const dest = this.addresses.dest(address, offset);
    if (dest === null) {
      this.sendErrors++; // IPv6 underlay is not supported by this socket
      return;
    }
    // The transport layer never reuses a datagram it handed over: no copy.
    this.conn.send(datagram as Uint8Array<ArrayBuffer>, dest).catch(() => this.sendErrors++);
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
