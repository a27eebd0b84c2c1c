// A unix datagram socket standing in for systemd's $NOTIFY_SOCKET (node:dgram has no AF_UNIX): bound
// through libc with koffi, read without blocking.
import koffi from "koffi";
import { rmSync } from "node:fs";

const libc = koffi.load("libc.so.6");
const socket = libc.func("int socket(int domain, int type, int protocol)");
const bind = libc.func("int bind(int fd, const void *addr, unsigned int addrlen)");
const recv = libc.func("long recv(int fd, void *buf, unsigned long len, int flags)");
const close = libc.func("int close(int fd)");
const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const MSG_DONTWAIT = 0x40;

export class NotifySocket {
  /** Every datagram received so far, oldest first. */
  messages = [];

  constructor(path) {
    this.path = path;
    rmSync(path, { force: true });
    this.fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    const address = Buffer.alloc(110);
    address.writeUInt16LE(AF_UNIX, 0);
    address.write(path, 2);
    if (this.fd < 0 || bind(this.fd, address, 2 + Buffer.byteLength(path) + 1) !== 0) throw new Error(`cannot bind ${path}`);
  }

  /** Reads what has arrived; returns all messages so far. */
  read() {
    const buf = Buffer.alloc(4096);
    for (;;) {
      const n = Number(recv(this.fd, buf, buf.length, MSG_DONTWAIT));
      if (n < 0) return this.messages;
      this.messages.push(buf.toString("utf8", 0, n));
    }
  }

  /** Messages holding the assignment `line` (like "READY=1"). */
  with(line) {
    return this.read().filter((m) => m.split("\n").includes(line));
  }

  close() {
    close(this.fd);
    rmSync(this.path, { force: true });
  }
}
