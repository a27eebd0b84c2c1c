// The underlay UDP socket on Linux, for both runtimes (each passes its libc calls, like tap.ts):
// - dual-stack: listening on an IPv6 address ("::" by default) makes an AF_INET6 socket with
//   IPV6_V6ONLY off, so IPv4 peers come and go as ::ffff:a.b.c.d (the core's 18-byte form as is);
//   listening on an IPv4 address ("0.0.0.0") makes an AF_INET socket that sends to IPv4 only;
// - DF for both families: IP_MTU_DISCOVER = IP_PMTUDISC_DO (and IPV6_MTU_DISCOVER = IPV6_PMTUDISC_DO
//   on an AF_INET6 socket), so the kernel never fragments a DiVS datagram; a datagram above the path
//   MTU it knows fails with EMSGSIZE and is reported to the sink (the core's IN_SEND_TOO_BIG);
// - batched sends: the driver queues a process() drain's datagrams (sealed straight into this socket's
//   arena through reserve()) and flush() hands them over in sendmmsg(2) calls; runs of datagrams to one
//   address with one size go as one message with UDP_SEGMENT (GSO: the kernel cuts it), as
//   wireguard-go does; on EIO GSO is turned off for good;
// - batched receives: recvmmsg(2) into preallocated buffers, with UDP_GRO (a run of segments from one
//   sender arrives as one buffer and a cmsg with the segment size), then the sink's batchEnd.
// docs/host.md "The underlay socket". Structures are the x86_64/aarch64 LP64 layouts.
import { type HostPort, formatHostPort, isIpv6Host, isMappedIpv4, parseIp, ADDR_LEN } from "../net/address.ts";
import { DivsError, ExitCode } from "../base/errors.ts";
import type { DatagramSink, DatagramTransport } from "../base/services.ts";

export interface UdpSyscalls {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array, length: number): number;
  /** `length` is a 4-byte socklen_t, in and out. */
  getsockopt(fd: number, level: number, name: number, value: Uint8Array, length: Uint8Array): number;
  bind(fd: number, address: Uint8Array, length: number): number;
  sendmmsg(fd: number, messages: Uint8Array, count: number, flags: number): number;
  recvmmsg(fd: number, messages: Uint8Array, count: number, flags: number): number;
  close(fd: number): number;
  errno(): number;
  /** The native address of `buffer[0]`; its ArrayBuffer must never move (a large one does not). */
  address(buffer: Uint8Array): number;
}

/** What the socket did, for `divs status` and docs/performance.md's syscalls per datagram. */
export interface UdpCounters {
  send_calls: number;
  datagrams_sent: number;
  /** Messages that carried several datagrams with UDP_SEGMENT. */
  gso_messages: number;
  recv_calls: number;
  datagrams_received: number;
  /** Buffers that carried several datagrams (UDP_GRO). */
  gro_buffers: number;
  /** Sends refused with EMSGSIZE (DF and a smaller path MTU). */
  send_too_big: number;
  /** Datagrams not sent: an IPv6 address on an IPv4 socket, a full socket buffer, another error. */
  send_errors: number;
}

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
export const IPPROTO_IP = 0;
export const IP_MTU_DISCOVER = 10;
export const IP_PMTUDISC_DO = 2;
export const IPPROTO_IPV6 = 41;
export const IPV6_MTU_DISCOVER = 23;
export const IPV6_PMTUDISC_DO = 2;
const IPV6_V6ONLY = 26;
const SOL_UDP = 17;
const UDP_SEGMENT = 103;
const UDP_GRO = 104;
const EIO = 5;
const EAGAIN = 11;
const EINVAL = 22;
const EMSGSIZE = 90;
const EADDRINUSE = 98;
const EADDRNOTAVAIL = 99;
const EAFNOSUPPORT = 97;
const MSG_TRUNC = 0x20;

const SOCKADDR_IN = 16;
/** struct sockaddr_in6: family 0, port 2, flowinfo 4, address 8, scope id 24. */
const SOCKADDR_IN6 = 28;
/** Room for either in the message headers' name slots, rounded up to 8 so what follows stays aligned. */
const NAME = 32;
/** struct mmsghdr: msghdr (name 0, namelen 8, iov 16, iovlen 24, control 32, controllen 40, flags 48), len 56. */
const MMSGHDR = 64;
const H_NAME = 0;
const H_NAMELEN = 8;
const H_IOV = 16;
const H_IOVLEN = 24;
const H_CONTROL = 32;
const H_CONTROLLEN = 40;
const H_FLAGS = 48;
const H_LEN = 56;
const IOVEC = 16; // base 0, len 8
/** struct cmsghdr: len (8), level (4), type (4), then the data, 8-aligned. */
const CMSG_HEADER = 16;
const CMSG_SPACE_INT = 24;

const SOCKET_BUFFER = 4 * 1024 * 1024;
/** Messages per sendmmsg call (and queued before a flush is forced). */
const SEND_MESSAGES = 128;
/** Bytes of sealed datagrams one batch holds before a flush is forced. */
const SEND_ARENA = 2 * 1024 * 1024;
/** The kernel's UDP_MAX_SEGMENTS, and the most a UDP payload can be over IPv4 (65535 - 20 - 8). */
const GSO_MAX_SEGMENTS = 64;
const GSO_MAX_BYTES = 65507;
/**
 * Messages per recvmmsg call; each buffer takes a whole GRO run (up to 64 KB), so this sets the ring's
 * size: 8 hold ~350 full-size datagrams, 512 KB, more than the core's input region takes per process()
 * call (256 KB). 64 (4 MB) filled up to 3 MB of RSS under TCP, 16 1 MB, for no gain (docs/performance.md
 * "Memory").
 */
const RECV_MESSAGES = 8;
const RECV_BUFFER = 65536;

const RECV_BASE = 0;
const RECV_HEADERS = RECV_BASE;
const RECV_IOVECS = RECV_HEADERS + RECV_MESSAGES * MMSGHDR;
const RECV_NAMES = RECV_IOVECS + RECV_MESSAGES * IOVEC;
const RECV_CONTROLS = RECV_NAMES + RECV_MESSAGES * NAME;
const RECV_BUFFERS = RECV_CONTROLS + RECV_MESSAGES * CMSG_SPACE_INT;
/** One more header than messages: the last is where a GSO message is resent one datagram at a time. */
const SEND_HEADERS = RECV_BUFFERS + RECV_MESSAGES * RECV_BUFFER;
const SEND_IOVECS = SEND_HEADERS + (SEND_MESSAGES + 1) * MMSGHDR;
const SEND_NAMES = SEND_IOVECS + (SEND_MESSAGES + 1) * IOVEC;
const SEND_CONTROLS = SEND_NAMES + (SEND_MESSAGES + 1) * NAME;
const SEND_ARENA_AT = SEND_CONTROLS + (SEND_MESSAGES + 1) * CMSG_SPACE_INT;
const MEMORY = SEND_ARENA_AT + SEND_ARENA;
const SINGLE = SEND_MESSAGES;

export class LinuxUdpSocket implements DatagramTransport {
  readonly counters: UdpCounters = {
    send_calls: 0, datagrams_sent: 0, gso_messages: 0, recv_calls: 0, datagrams_received: 0, gro_buffers: 0,
    send_too_big: 0, send_errors: 0,
  };
  /** UDP_SEGMENT in use: the kernel has it and never answered EIO. */
  gso: boolean;
  private readonly bytes = new Uint8Array(MEMORY);
  private readonly view = new DataView(this.bytes.buffer);
  private readonly base: number;
  // The queued messages: destination (18-byte form), arena offset, bytes, segment size, datagrams.
  private readonly msgAddress = new Uint8Array(SEND_MESSAGES * ADDR_LEN);
  private readonly msgAt = new Int32Array(SEND_MESSAGES);
  private readonly msgBytes = new Int32Array(SEND_MESSAGES);
  private readonly msgSegment = new Int32Array(SEND_MESSAGES);
  private readonly msgCount = new Int32Array(SEND_MESSAGES);
  private messages = 0;
  /** Next free arena byte, and how many reserve()d buffers were not yet send()-ed. */
  private arenaUsed = 0;
  private outstanding = 0;
  private readonly source = new Uint8Array(ADDR_LEN);
  /** The last refusal reported in this flush: a run resent one by one is refused once per datagram. */
  private readonly reported = new Uint8Array(ADDR_LEN);
  private reportedLength = -1;
  private closed = false;
  /** Runs before the fd is closed (the poll loop stops watching it). */
  onClose: (() => void) | null = null;

  /**
   * `ipv6`: an AF_INET6 socket (sockaddr_in6 names; IPv4 peers as ::ffff:a.b.c.d); else AF_INET, which
   * can send to IPv4-mapped addresses only.
   */
  private constructor(private readonly sys: UdpSyscalls, readonly fd: number, private readonly sink: DatagramSink, gso: boolean, readonly ipv6: boolean) {
    this.gso = gso;
    this.base = sys.address(this.bytes);
    for (let i = 0; i < RECV_MESSAGES; i++) {
      this.header(RECV_HEADERS + i * MMSGHDR, RECV_NAMES + i * NAME, RECV_IOVECS + i * IOVEC);
      this.setPointer(RECV_IOVECS + i * IOVEC, this.base + RECV_BUFFERS + i * RECV_BUFFER);
      this.view.setUint32(RECV_IOVECS + i * IOVEC + 8, RECV_BUFFER, true);
      this.setPointer(RECV_HEADERS + i * MMSGHDR + H_CONTROL, this.base + RECV_CONTROLS + i * CMSG_SPACE_INT);
    }
    for (let i = 0; i <= SEND_MESSAGES; i++) {
      const h = SEND_HEADERS + i * MMSGHDR;
      this.header(h, SEND_NAMES + i * NAME, SEND_IOVECS + i * IOVEC);
      this.view.setUint32(h + H_NAMELEN, ipv6 ? SOCKADDR_IN6 : SOCKADDR_IN, true);
      this.view.setUint16(SEND_NAMES + i * NAME, ipv6 ? AF_INET6 : AF_INET, true);
      const c = SEND_CONTROLS + i * CMSG_SPACE_INT;
      this.setPointer(h + H_CONTROL, this.base + c);
      this.view.setUint32(c, CMSG_HEADER + 2, true); // cmsg_len for a u16 gso_size
      this.view.setInt32(c + 8, SOL_UDP, true);
      this.view.setInt32(c + 12, UDP_SEGMENT, true);
    }
  }

  /**
   * A non-blocking socket bound to `listen` (an IPv6 host: dual-stack AF_INET6; an IPv4 host: AF_INET),
   * with DF, big buffers, GRO and GSO where the kernel has them.
   */
  static bind(sys: UdpSyscalls, listen: HostPort, sink: DatagramSink): LinuxUdpSocket {
    const ipv6 = isIpv6Host(listen.host);
    const ip = parseIp(listen.host);
    if (ip === null) throw new DivsError(`cannot listen on ${listen.host}: not an IP address`, ExitCode.usage);
    const fd = sys.socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 && listen.host === "::" && sys.errno() === EAFNOSUPPORT) {
      // A kernel without IPv6 (ipv6.disable=1): the default [::] means "every family there is".
      return LinuxUdpSocket.bind(sys, { host: "0.0.0.0", port: listen.port }, sink);
    }
    if (fd < 0) throw new DivsError(`cannot create a UDP socket: errno ${sys.errno()}`, ExitCode.failure);
    const int = (value: number) => new Uint8Array(new Int32Array([value]).buffer);
    // Bursts a busy moment of the node must absorb; the FORCE options (root, CAP_NET_ADMIN) pass
    // net.core.rmem_max/wmem_max, which is 208 KB on a stock kernel; without them, best effort.
    const size = int(SOCKET_BUFFER);
    if (sys.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, size, 4) < 0) sys.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, size, 4);
    if (sys.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, size, 4) < 0) sys.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, size, 4);
    const fail = (what: string) => {
      const e = sys.errno();
      sys.close(fd);
      return new DivsError(`cannot ${what} on the UDP socket: errno ${e}`, ExitCode.failure);
    };
    // IPv4 DF applies to the IPv4 datagrams of a dual-stack socket too (to ::ffff: peers).
    if (sys.setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, int(IP_PMTUDISC_DO), 4) < 0) throw fail("set DF (IPv4)");
    if (ipv6) {
      if (sys.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, int(0), 4) < 0) throw fail("turn IPV6_V6ONLY off");
      // IPv6 routers never fragment; DO also keeps this host from fragmenting and reports EMSGSIZE.
      if (sys.setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, int(IPV6_PMTUDISC_DO), 4) < 0) throw fail("set DF (IPv6)");
    }
    sys.setsockopt(fd, SOL_UDP, UDP_GRO, int(1), 4); // without it (kernels before 5.0) one datagram per buffer
    const gso = sys.getsockopt(fd, SOL_UDP, UDP_SEGMENT, new Uint8Array(4), int(4)) === 0; // kernels since 4.18
    const addr = new Uint8Array(ipv6 ? SOCKADDR_IN6 : SOCKADDR_IN);
    const v = new DataView(addr.buffer);
    v.setUint16(0, ipv6 ? AF_INET6 : AF_INET, true);
    v.setUint16(2, listen.port, false);
    addr.set(ipv6 ? ip : ip.subarray(12, 16), ipv6 ? 8 : 4);
    if (sys.bind(fd, addr, addr.length) < 0) {
      const e = sys.errno();
      sys.close(fd);
      const where = formatHostPort(listen);
      if (e === EADDRINUSE) throw new DivsError(`UDP ${where} is already in use`, ExitCode.portInUse);
      if (e === EADDRNOTAVAIL) throw new DivsError(`cannot listen on ${listen.host}: no such local address`, ExitCode.usage);
      throw new DivsError(`cannot listen on ${where}: errno ${e}`, ExitCode.failure);
    }
    return new LinuxUdpSocket(sys, fd, sink, gso, ipv6);
  }

  get sendErrors(): number {
    return this.counters.send_errors;
  }

  /**
   * Room for a datagram of `length` bytes in the batch being built: seal into it, then send() it
   * (no copy). Falls back to a fresh buffer when the arena is full.
   */
  reserve(length: number): Uint8Array {
    if (this.arenaUsed + length > SEND_ARENA && this.outstanding === 0) this.flush();
    if (this.arenaUsed + length > SEND_ARENA) return new Uint8Array(length);
    const at = SEND_ARENA_AT + this.arenaUsed;
    this.arenaUsed += length;
    this.outstanding++;
    return this.bytes.subarray(at, at + length);
  }

  /** Queues `datagram` for the 18-byte address at `address[offset..]`; flush() sends the batch. */
  send(address: Uint8Array, offset: number, datagram: Uint8Array): void {
    if (!this.ipv6 && !isMappedIpv4(address, offset)) {
      this.counters.send_errors++; // an IPv4 socket (--listen 0.0.0.0) cannot reach an IPv6 peer
      return;
    }
    const length = datagram.length;
    let at: number;
    if (datagram.buffer === this.bytes.buffer && datagram.byteOffset >= SEND_ARENA_AT) {
      at = datagram.byteOffset - SEND_ARENA_AT; // reserved: sealed in place
      this.outstanding--;
    } else {
      if (length > GSO_MAX_BYTES) {
        this.counters.send_errors++; // above any UDP payload: cannot happen with the core's sizes
        return;
      }
      if (this.arenaUsed + length > SEND_ARENA && this.outstanding === 0) this.flush();
      if (this.arenaUsed + length > SEND_ARENA) {
        this.sendDirect(address, offset, datagram); // the arena is held by reserved buffers
        return;
      }
      at = this.arenaUsed;
      this.bytes.set(datagram, SEND_ARENA_AT + at);
      this.arenaUsed += length;
    }
    const m = this.messages - 1;
    if (
      this.gso && m >= 0 && this.sameDestination(m, address, offset) && this.msgAt[m] + this.msgBytes[m] === at &&
      length <= this.msgSegment[m] && this.msgBytes[m] === this.msgCount[m] * this.msgSegment[m] &&
      this.msgCount[m] < GSO_MAX_SEGMENTS && this.msgBytes[m] + length <= GSO_MAX_BYTES
    ) {
      // Contiguous, same destination, not longer than the run's segments, the run so far all full-size.
      this.msgBytes[m] += length;
      this.msgCount[m]++;
      return;
    }
    if (this.messages === SEND_MESSAGES) this.sendQueued();
    const i = this.messages++;
    this.msgAddress.set(address.subarray(offset, offset + ADDR_LEN), i * ADDR_LEN);
    this.msgAt[i] = at;
    this.msgBytes[i] = length;
    this.msgSegment[i] = length;
    this.msgCount[i] = 1;
    this.setName(i, address, offset);
  }

  /** Header `slot` goes to the 18-byte address at `address[offset..]`. */
  private setName(slot: number, address: Uint8Array, offset: number): void {
    const name = SEND_NAMES + slot * NAME;
    this.bytes.set(address.subarray(offset + 16, offset + 18), name + 2); // port, big-endian in both
    if (this.ipv6) this.bytes.set(address.subarray(offset, offset + 16), name + 8);
    else this.bytes.set(address.subarray(offset + 12, offset + 16), name + 4);
  }

  /** Queued message m goes to the 18-byte address at `address[offset..]`. */
  private sameDestination(m: number, address: Uint8Array, offset: number): boolean {
    return sameBytes(this.msgAddress.subarray(m * ADDR_LEN), address, offset);
  }

  /** Sends `datagram` at once from its own memory, after what is queued (order kept). */
  private sendDirect(address: Uint8Array, offset: number, datagram: Uint8Array): void {
    this.sendQueued();
    const h = SEND_HEADERS + SINGLE * MMSGHDR;
    const iov = SEND_IOVECS + SINGLE * IOVEC;
    this.setName(SINGLE, address, offset);
    this.setPointer(iov, this.sys.address(datagram));
    this.view.setUint32(iov + 8, datagram.length, true);
    this.view.setUint32(h + H_CONTROLLEN, 0, true);
    this.counters.send_calls++;
    if (this.sys.sendmmsg(this.fd, this.bytes.subarray(h), 1, 0) === 1) this.counters.datagrams_sent++;
    else this.refused(address, offset, datagram.length, this.sys.errno(), 1);
  }

  /** Sends everything queued; after it every reserve()d buffer is free again. */
  flush(): void {
    this.sendQueued();
    this.arenaUsed = 0;
    this.outstanding = 0;
  }

  private sendQueued(): void {
    const n = this.messages;
    this.messages = 0;
    if (n === 0) return;
    this.reportedLength = -1;
    for (let i = 0; i < n; i++) this.fillMessage(i, i);
    let i = 0;
    while (i < n) {
      this.counters.send_calls++;
      const sent = this.sys.sendmmsg(this.fd, this.bytes.subarray(SEND_HEADERS + i * MMSGHDR), n - i, 0);
      if (sent > 0) {
        for (let j = i; j < i + sent; j++) this.counters.datagrams_sent += this.msgCount[j];
        i += sent;
        continue;
      }
      // Message i failed (sendmmsg reports an error only for the first message it tried).
      const e = this.sys.errno();
      if (e === EAGAIN) {
        for (let j = i; j < n; j++) this.counters.send_errors += this.msgCount[j]; // socket buffer full: drop
        return;
      }
      if (this.msgCount[i] > 1 && (e === EIO || e === EINVAL || e === EMSGSIZE)) {
        // The kernel refused the GSO message (EIO: no segmentation here; EINVAL/EMSGSIZE: a segment
        // above the path MTU): one datagram at a time tells which, as wireguard-go falls back.
        if (e === EIO) this.gso = false;
        this.sendSingles(i);
      } else {
        this.refused(this.msgAddress, i * ADDR_LEN, this.msgSegment[i], e, this.msgCount[i]);
      }
      i++;
    }
  }

  /** Points header `slot` at message `i`'s bytes, with a UDP_SEGMENT cmsg when it holds a run. */
  private fillMessage(i: number, slot: number): void {
    const h = SEND_HEADERS + slot * MMSGHDR;
    const iov = SEND_IOVECS + slot * IOVEC;
    this.setPointer(iov, this.base + SEND_ARENA_AT + this.msgAt[i]);
    this.view.setUint32(iov + 8, this.msgBytes[i], true);
    const gso = this.msgCount[i] > 1;
    this.view.setUint32(h + H_CONTROLLEN, gso ? CMSG_SPACE_INT : 0, true);
    if (gso) {
      this.view.setUint16(SEND_CONTROLS + slot * CMSG_SPACE_INT + CMSG_HEADER, this.msgSegment[i], true);
      this.counters.gso_messages++;
    }
  }

  /** Sends message i's datagrams one per call, through the spare header. */
  private sendSingles(i: number): void {
    const h = SEND_HEADERS + SINGLE * MMSGHDR;
    const iov = SEND_IOVECS + SINGLE * IOVEC;
    this.bytes.copyWithin(SEND_NAMES + SINGLE * NAME, SEND_NAMES + i * NAME, SEND_NAMES + (i + 1) * NAME);
    this.view.setUint32(h + H_CONTROLLEN, 0, true);
    const segment = this.msgSegment[i];
    for (let at = this.msgAt[i], end = at + this.msgBytes[i]; at < end; at += segment) {
      const length = Math.min(segment, end - at);
      this.setPointer(iov, this.base + SEND_ARENA_AT + at);
      this.view.setUint32(iov + 8, length, true);
      this.counters.send_calls++;
      if (this.sys.sendmmsg(this.fd, this.bytes.subarray(h), 1, 0) === 1) this.counters.datagrams_sent++;
      else this.refused(this.msgAddress, i * ADDR_LEN, length, this.sys.errno(), 1);
    }
  }

  /** `datagrams` of `length` bytes each, to the address at `address[offset..]`, the kernel would not send. */
  private refused(address: Uint8Array, offset: number, length: number, errno: number, datagrams: number): void {
    if (errno !== EMSGSIZE) {
      this.counters.send_errors += datagrams;
      return;
    }
    this.counters.send_too_big += datagrams;
    if (length === this.reportedLength && sameBytes(this.reported, address, offset)) return; // told already
    this.reported.set(address.subarray(offset, offset + ADDR_LEN));
    this.reportedLength = length;
    this.sink.sendTooBig(this.reported, 0, length);
  }

  /** One recvmmsg(2) into the sink, then batchEnd; the count of datagrams (0: nothing was waiting). */
  receive(): number {
    if (this.closed) return 0;
    for (let i = 0; i < RECV_MESSAGES; i++) {
      const h = RECV_HEADERS + i * MMSGHDR;
      this.view.setUint32(h + H_NAMELEN, NAME, true);
      this.view.setUint32(h + H_CONTROLLEN, CMSG_SPACE_INT, true);
    }
    this.counters.recv_calls++;
    const n = this.sys.recvmmsg(this.fd, this.bytes.subarray(RECV_HEADERS), RECV_MESSAGES, 0);
    if (n <= 0) return 0; // EAGAIN: drained
    let datagrams = 0;
    for (let i = 0; i < n && !this.closed; i++) { // the sink may close the socket
      const h = RECV_HEADERS + i * MMSGHDR;
      const length = this.view.getUint32(h + H_LEN, true);
      if (this.view.getInt32(h + H_FLAGS, true) & MSG_TRUNC) continue; // larger than any DiVS datagram
      this.sourceOf(RECV_NAMES + i * NAME);
      const segment = this.groSegment(i) || length;
      if (segment < length) this.counters.gro_buffers++;
      const start = RECV_BUFFERS + i * RECV_BUFFER;
      let at = 0;
      do { // at least once: an empty datagram is one too (the transport layer counts it)
        const end = Math.min(at + segment, length);
        this.sink.datagram(this.source, 0, this.bytes.subarray(start + at, start + end));
        datagrams++;
        at = end;
      } while (at < length);
    }
    this.counters.datagrams_received += datagrams;
    if (datagrams > 0) this.sink.batchEnd();
    return datagrams;
  }

  /** The sender's sockaddr at `name` into `source`, in the core's 18-byte form. */
  private sourceOf(name: number): void {
    if (this.view.getUint16(name, true) === AF_INET6) {
      this.source.set(this.bytes.subarray(name + 8, name + 24), 0);
    } else {
      this.source.fill(0, 0, 10);
      this.source[10] = 0xff;
      this.source[11] = 0xff;
      this.source.set(this.bytes.subarray(name + 4, name + 8), 12);
    }
    this.source.set(this.bytes.subarray(name + 2, name + 4), 16);
  }

  /** The UDP_GRO segment size the kernel attached to received message i, or 0. */
  private groSegment(i: number): number {
    const c = RECV_CONTROLS + i * CMSG_SPACE_INT;
    const length = this.view.getUint32(RECV_HEADERS + i * MMSGHDR + H_CONTROLLEN, true);
    if (length < CMSG_HEADER + 4) return 0;
    if (this.view.getInt32(c + 8, true) !== SOL_UDP || this.view.getInt32(c + 12, true) !== UDP_GRO) return 0;
    return this.view.getInt32(c + CMSG_HEADER, true);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose?.();
    this.sys.close(this.fd);
  }

  private header(h: number, name: number, iov: number): void {
    this.setPointer(h + H_NAME, this.base + name);
    this.setPointer(h + H_IOV, this.base + iov);
    this.view.setUint32(h + H_IOVLEN, 1, true);
  }

  /** A 64-bit pointer, little-endian (addresses stay below 2^53). */
  private setPointer(at: number, address: number): void {
    this.view.setUint32(at, address >>> 0, true);
    this.view.setUint32(at + 4, Math.floor(address / 4294967296), true);
  }
}

/** The first ADDR_LEN bytes of `a` equal those of `b` from `offset`. */
function sameBytes(a: Uint8Array, b: Uint8Array, offset: number): boolean {
  for (let i = ADDR_LEN - 1; i >= 0; i--) if (a[i] !== b[offset + i]) return false;
  return true;
}
