// Opening a Linux TAP device, the same on every runtime: open /dev/net/tun, ioctl TUNSETIFF with
// IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (every frame read or written starts with a 10-byte virtio-net
// header, so the core's coalesced TCP segments can be written as one GSO frame), TUNSETOFFLOAD when offload is on, then
// MAC, MTU, address and link state with iproute2. The runtime supplies only the libc calls and `ip`.
import type { Cidr } from "../net/cidr.ts";
import { DivsError, ExitCode } from "../base/errors.ts";
import { TAP_GSO_MAX_SIZE } from "../core/mtu.ts";

export const IFNAMSIZ = 16;
export const O_RDWR = 2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const EINTR = 4;
export const EAGAIN = 11;
export const EBUSY = 16;
export const EPERM = 1;
export const EACCES = 13;
export const ENOENT = 2;
export const POLLIN = 1;
export const TUNSETIFF = 0x400454ca;
export const TUNSETOFFLOAD = 0x400454d0;
export const IFF_TAP = 0x0002;
export const IFF_NO_PI = 0x1000;
export const IFF_VNET_HDR = 0x4000;
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;

/** The libc calls and the `ip` runner a runtime provides. */
export interface TapSyscalls {
  open(path: string, flags: number): number;
  /** ioctl with a pointer argument (struct ifreq). */
  ioctlPtr(fd: number, request: number, arg: Uint8Array): number;
  /** ioctl with an integer argument (TUNSETOFFLOAD). */
  ioctlInt(fd: number, request: number, arg: number): number;
  close(fd: number): number;
  errno(): number;
  /** Runs `ip ARGS...`, throwing a DivsError with its stderr on failure. */
  ip(...args: string[]): void;
}

/** Replaces the TAP's IPv4 addresses with `address` (none when null): `--address dhcp` (host/engine/self-address.ts). */
export function setLinuxTapAddress(sys: Pick<TapSyscalls, "ip">, name: string, address: Cidr | null): void {
  sys.ip("-4", "addr", "flush", "dev", name);
  if (address) sys.ip("addr", "add", `${address.address}/${address.prefix}`, "dev", name);
}

/** Creates and configures the TAP; returns its fd (non-blocking). Closing the fd removes the device. */
export function openLinuxTap(
  sys: TapSyscalls, name: string, mtu: number, address: Cidr | null, mac: string | null, offload: boolean,
): number {
  if (name.length === 0 || name.length >= IFNAMSIZ || !/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new DivsError(`bad TAP name "${name}": 1-15 letters, digits, '_', '-', '.'`, ExitCode.usage);
  }
  const fd = sys.open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const e = sys.errno();
    if (e === ENOENT) throw new DivsError("no /dev/net/tun: load the tun module (modprobe tun)", ExitCode.noTun);
    if (e === EPERM || e === EACCES) throw new DivsError("cannot open /dev/net/tun: run as root", ExitCode.notRoot);
    throw new DivsError(`cannot open /dev/net/tun: errno ${e}`, ExitCode.noTun);
  }
  try {
    const ifreq = new Uint8Array(40); // struct ifreq: name[16], then flags (short)
    ifreq.set(new TextEncoder().encode(name));
    new DataView(ifreq.buffer).setInt16(IFNAMSIZ, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, true);
    if (sys.ioctlPtr(fd, TUNSETIFF, ifreq) < 0) {
      const e = sys.errno();
      if (e === EPERM) throw new DivsError("cannot create a TAP device: run as root (CAP_NET_ADMIN)", ExitCode.notRoot);
      if (e === EBUSY) throw new DivsError(`TAP device ${name} is in use by another process`, ExitCode.failure);
      throw new DivsError(`TUNSETIFF ${name} failed: errno ${e}`, ExitCode.failure);
    }
    if (offload) {
      if (sys.ioctlInt(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) {
        throw new DivsError(`TUNSETOFFLOAD ${name} failed: errno ${sys.errno()} (try --offload off)`, ExitCode.failure);
      }
      sys.ip("link", "set", "dev", name, "gso_max_size", String(TAP_GSO_MAX_SIZE));
    }
    if (mac) sys.ip("link", "set", "dev", name, "address", mac);
    sys.ip("link", "set", "dev", name, "mtu", String(mtu));
    if (address) sys.ip("addr", "add", `${address.address}/${address.prefix}`, "dev", name);
    sys.ip("link", "set", "dev", name, "up");
  } catch (e) {
    sys.close(fd);
    throw e;
  }
  return fd;
}
