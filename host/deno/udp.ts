// The underlay socket under Deno: host/linux/udp.ts on FFI libc calls (Deno.listenDatagram
// cannot set DF nor batch). The main thread awaits readability in a poll(2) that runs on Deno's
// thread pool, then drains the socket with recvmmsg(2) itself.
import type { HostPort } from "../net/address.ts";
import { POLLIN } from "../linux/tap.ts";
import { LinuxUdpSocket, type UdpSyscalls } from "../linux/udp.ts";
import type { DatagramSink } from "../base/services.ts";
import * as c from "./libc.ts";

/** How long one poll waits before it looks at `closed` again (closing does not wake a poll). */
const POLL_MS = 200;

type Buf = Uint8Array<ArrayBuffer>;

const syscalls: UdpSyscalls = {
  socket: (domain, type, protocol) => c.libc().socket(domain, type, protocol),
  setsockopt: (fd, level, name, value, length) => c.libc().setsockopt(fd, level, name, value as Buf, length),
  getsockopt: (fd, level, name, value, length) => c.libc().getsockopt(fd, level, name, value as Buf, length as Buf),
  bind: (fd, address, length) => c.libc().bind(fd, address as Buf, length),
  sendmmsg: (fd, messages, count, flags) => c.libc().sendmmsg(fd, messages as Buf, count, flags),
  recvmmsg: (fd, messages, count, flags) => c.libc().recvmmsg(fd, messages as Buf, count, flags, null),
  close: (fd) => c.libc().close(fd),
  errno: c.errno,
  address: (buffer) => Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer as Buf))),
};

/** Binds the socket and drains it into `sink` whenever it is readable, until close(). */
export function bindUdp(listen: HostPort, sink: DatagramSink): LinuxUdpSocket {
  const socket = LinuxUdpSocket.bind(syscalls, listen, sink);
  let closed = false;
  socket.onClose = () => void (closed = true);
  void (async () => {
    const pollfd = new Int32Array([socket.fd, POLLIN]); // struct pollfd { int fd; short events; short revents; }
    const pollBytes = new Uint8Array(pollfd.buffer);
    while (!closed) {
      pollfd[1] = POLLIN;
      // One recvmmsg batch per wake, as the Node poll loop does: timers and the TAP ring get their turn.
      if ((await c.libc().pollAsync(pollBytes, 1n, POLL_MS)) > 0 && !closed) socket.receive();
    }
  })();
  return socket;
}
