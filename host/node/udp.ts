// The underlay UDP socket on the node's thread: host/linux/udp.ts on koffi's libc, read by the
// poll loop (poll-loop.ts) whenever it is readable.
import type { HostPort } from "../net/address.ts";
import { LinuxUdpSocket, type UdpSyscalls } from "../linux/udp.ts";
import type { DatagramSink } from "../base/services.ts";
import * as libc from "./libc.ts";
import type { PollLoop } from "./poll-loop.ts";

// Each call gets the socket's one message vector (and its change only on a new socket): by address.
const sendVectors = new libc.Pointers();
const receiveVectors = new libc.Pointers();

export const syscalls: UdpSyscalls = {
  socket: (domain, type, protocol) => libc.socket(domain, type, protocol),
  setsockopt: (fd, level, name, value, length) => libc.setsockopt(fd, level, name, value, length),
  getsockopt: (fd, level, name, value, length) => libc.getsockopt(fd, level, name, value, length),
  bind: (fd, address, length) => libc.bind(fd, address, length),
  sendmmsg: (fd, messages, count, flags) => libc.sendmmsgAt(fd, sendVectors.of(messages), count, flags),
  recvmmsg: (fd, messages, count, flags) => libc.recvmmsgAt(fd, receiveVectors.of(messages), count, flags, null),
  close: (fd) => libc.close(fd),
  errno: libc.errno,
  address: libc.address,
};

/** Binds the socket and has `loop` drain it into `sink` (one recvmmsg batch per readiness). */
export function bindUdp(listen: HostPort, loop: PollLoop, sink: DatagramSink): LinuxUdpSocket {
  const socket = LinuxUdpSocket.bind(syscalls, listen, sink);
  loop.watch(socket.fd, () => socket.receive());
  socket.onClose = () => loop.unwatch(socket.fd);
  return socket;
}
