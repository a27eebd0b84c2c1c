// The underlay UDP socket, driven by the data-plane thread's poll loop: recvfrom(2) and sendto(2)
// through koffi into reused buffers, so a datagram costs two system calls and no allocation. The
// core's 18-byte address (IPv4-mapped, port big-endian) and struct sockaddr_in share their bytes.
import type { HostPort } from "../common/address.ts";
import { keyOfAddress, parseIpv4 } from "../common/address.ts";
import { ADDR_LEN } from "../common/abi.ts";
import { DivsError, ExitCode } from "../common/errors.ts";
import type { DatagramSink } from "../common/platform.ts";
import type { DatagramTransport } from "../common/runtime.ts";
import * as libc from "./libc.ts";
import type { PollLoop } from "./poll-loop.ts";

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const EADDRINUSE = 98;
const EADDRNOTAVAIL = 99;
const SOCKADDR_IN = 16;
const SOCKET_BUFFER = 4 * 1024 * 1024;
const MAX_DATAGRAM = 65536;
/** Datagrams read per readiness before the loop looks at the TAP and timers again. */
const RECV_BATCH = 64;

export class UdpSocket implements DatagramTransport {
  sendErrors = 0;
  private readonly buffer = new Uint8Array(MAX_DATAGRAM);
  private readonly from = new Uint8Array(SOCKADDR_IN);
  private readonly fromLen = new Uint32Array(1);
  private readonly to = new Uint8Array(SOCKADDR_IN);
  private readonly source = new Uint8Array(ADDR_LEN);
  private closed = false;

  private constructor(private readonly fd: number, private readonly loop: PollLoop, private readonly sink: DatagramSink) {
    this.to[0] = AF_INET;
    this.source[10] = 0xff;
    this.source[11] = 0xff;
  }

  static bind(listen: HostPort, loop: PollLoop, sink: DatagramSink): UdpSocket {
    const fd = libc.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new DivsError(`cannot create a UDP socket: errno ${libc.errno()}`, ExitCode.failure);
    // Bursts a busy moment of this thread must absorb; the FORCE options (root, CAP_NET_ADMIN) pass
    // net.core.rmem_max/wmem_max, which is 208 KB on a stock kernel; without them, best effort.
    const size = new Int32Array([SOCKET_BUFFER]);
    if (libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, size, 4) < 0) libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, size, 4);
    if (libc.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, size, 4) < 0) libc.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, size, 4);
    const addr = new Uint8Array(SOCKADDR_IN);
    sockaddrIn(parseIpv4(listen.host), listen.port, addr);
    if (libc.bind(fd, addr, SOCKADDR_IN) < 0) {
      const e = libc.errno();
      libc.close(fd);
      const where = `${listen.host}:${listen.port}`;
      if (e === EADDRINUSE) throw new DivsError(`UDP ${where} is already in use`, ExitCode.portInUse);
      if (e === EADDRNOTAVAIL) throw new DivsError(`cannot listen on ${listen.host}: no such local address`, ExitCode.usage);
      throw new DivsError(`cannot listen on ${where}: errno ${e}`, ExitCode.failure);
    }
    const socket = new UdpSocket(fd, loop, sink);
    loop.watch(fd, () => socket.receive());
    return socket;
  }

  send(address: Uint8Array, offset: number, datagram: Uint8Array): void {
    if (keyOfAddress(address, offset) < 0) {
      this.sendErrors++; // IPv6 underlay is not supported by this socket
      return;
    }
    this.to.set(address.subarray(offset + 16, offset + 18), 2); // port, big-endian in both
    this.to.set(address.subarray(offset + 12, offset + 16), 4); // IPv4
    if (Number(libc.sendto(this.fd, datagram, datagram.length, 0, this.to, SOCKADDR_IN)) < 0) this.sendErrors++;
  }

  private receive(): void {
    for (let i = 0; i < RECV_BATCH && !this.closed; i++) {
      this.fromLen[0] = SOCKADDR_IN;
      const n = Number(libc.recvfrom(this.fd, this.buffer, MAX_DATAGRAM, 0, this.from, this.fromLen));
      if (n < 0) return; // EAGAIN: drained
      this.source.set(this.from.subarray(4, 8), 12);
      this.source.set(this.from.subarray(2, 4), 16);
      this.sink(this.source, 0, this.buffer.subarray(0, n));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.loop.unwatch(this.fd);
    libc.close(this.fd);
  }
}

function sockaddrIn(ipv4: number, port: number, out: Uint8Array): void {
  const v = new DataView(out.buffer, out.byteOffset, SOCKADDR_IN);
  v.setUint16(0, AF_INET, true);
  v.setUint16(2, port, false);
  v.setUint32(4, ipv4, false);
}
