// The underlay socket (node:dgram). Received datagrams go to the driver with their source as an
// 18-byte address taken from a cache keyed by the numeric (ipv4, port), so the hot path builds no
// strings beyond the one Node already hands us.
import dgram from "node:dgram";
import { AddressCache } from "../common/address-cache.ts";
import type { HostPort } from "../common/address.ts";
import { DivsError, ExitCode } from "../common/errors.ts";
import type { DatagramTransport } from "../common/runtime.ts";

const SOCKET_BUFFER = 4 * 1024 * 1024;

export type DatagramSink = (address: Uint8Array, offset: number, datagram: Uint8Array) => void;

export class UdpTransport implements DatagramTransport {
  private readonly addresses = new AddressCache<HostPort>((hp) => hp);
  sendErrors = 0;

  private constructor(private readonly socket: dgram.Socket) {}

  static async bind(listen: HostPort, sink: DatagramSink): Promise<UdpTransport> {
    const socket = dgram.createSocket({ type: "udp4", recvBufferSize: SOCKET_BUFFER, sendBufferSize: SOCKET_BUFFER });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", (e: NodeJS.ErrnoException) => {
        if (e.code === "EADDRINUSE") reject(new DivsError(`UDP ${listen.host}:${listen.port} is already in use`, ExitCode.portInUse));
        else if (e.code === "EADDRNOTAVAIL") reject(new DivsError(`cannot listen on ${listen.host}: no such local address`, ExitCode.usage));
        else reject(new DivsError(`cannot listen on ${listen.host}:${listen.port}: ${e.message}`, ExitCode.failure));
      });
      socket.bind(listen.port, listen.host, () => resolve());
    });
    const transport = new UdpTransport(socket);
    socket.on("message", (msg, rinfo) => sink(transport.addresses.source(rinfo.address, rinfo.port), 0, msg));
    socket.on("error", () => transport.sendErrors++);
    return transport;
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(address: Uint8Array, offset: number, datagram: Uint8Array): void {
    const dest = this.addresses.dest(address, offset);
    if (dest === null) {
      this.sendErrors++; // IPv6 underlay is not supported by this socket
      return;
    }
    // The transport layer never reuses a datagram it handed over: no copy. No callback (no closure and
    // no completion call per datagram): a failed send comes as an 'error' event, counted in bind().
    this.socket.send(datagram, dest.port, dest.host);
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}
