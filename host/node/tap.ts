// A Linux TAP device opened through libc (open /dev/net/tun + ioctl TUNSETIFF); address, MTU and link
// state are set with iproute2. Reads happen in the reader worker (tap-worker.ts) on the same fd.
// Always IFF_VNET_HDR: every frame read or written starts with a 10-byte virtio-net header, so a GSO
// segment from a peer can be written whole. With offload on, TUNSETOFFLOAD lets the kernel hand us
// TCP segments of up to TAP_GSO_MAX_SIZE with their checksums left to finish (docs/host.md "Offloads").
import { execFileSync } from "node:child_process";
import type { Cidr } from "../common/cidr.ts";
import { DivsError, ExitCode } from "../common/errors.ts";
import { TAP_GSO_MAX_SIZE } from "../common/mtu.ts";
import type { TapDevice } from "../common/runtime.ts";
import * as libc from "./libc.ts";

export class LinuxTap implements TapDevice {
  private closed = false;
  private constructor(readonly fd: number, readonly name: string, readonly mtu: number) {}

  static open(name: string, mtu: number, address: Cidr | null, mac: string | null, offload: boolean): LinuxTap {
    if (name.length === 0 || name.length >= libc.IFNAMSIZ || !/^[A-Za-z0-9_.-]+$/.test(name)) {
      throw new DivsError(`bad TAP name "${name}": 1-15 letters, digits, '_', '-', '.'`, ExitCode.usage);
    }
    const fd = libc.open("/dev/net/tun", libc.O_RDWR | libc.O_NONBLOCK | libc.O_CLOEXEC);
    if (fd < 0) {
      const e = libc.errno();
      if (e === libc.ENOENT) throw new DivsError("no /dev/net/tun: load the tun module (modprobe tun)", ExitCode.noTun);
      if (e === libc.EPERM || e === libc.EACCES) throw new DivsError("cannot open /dev/net/tun: run as root", ExitCode.notRoot);
      throw new DivsError(`cannot open /dev/net/tun: errno ${e}`, ExitCode.noTun);
    }
    const ifreq = Buffer.alloc(40);
    ifreq.write(name, 0, "ascii");
    ifreq.writeInt16LE(libc.IFF_TAP | libc.IFF_NO_PI | libc.IFF_VNET_HDR, libc.IFNAMSIZ);
    if (libc.ioctl(fd, libc.TUNSETIFF, ifreq) < 0) {
      const e = libc.errno();
      libc.close(fd);
      if (e === libc.EPERM) throw new DivsError("cannot create a TAP device: run as root (CAP_NET_ADMIN)", ExitCode.notRoot);
      if (e === libc.EBUSY) throw new DivsError(`TAP device ${name} is in use by another process`, ExitCode.failure);
      throw new DivsError(`TUNSETIFF ${name} failed: errno ${e}`, ExitCode.failure);
    }
    const tap = new LinuxTap(fd, name, mtu);
    try {
      if (offload) {
        if (libc.ioctlInt(fd, libc.TUNSETOFFLOAD, libc.TUN_F_CSUM | libc.TUN_F_TSO4 | libc.TUN_F_TSO6) < 0) {
          throw new DivsError(`TUNSETOFFLOAD ${name} failed: errno ${libc.errno()} (try --offload off)`, ExitCode.failure);
        }
        ip("link", "set", "dev", name, "gso_max_size", String(TAP_GSO_MAX_SIZE));
      }
      if (mac) ip("link", "set", "dev", name, "address", mac);
      ip("link", "set", "dev", name, "mtu", String(mtu));
      if (address) ip("addr", "add", `${address.address}/${address.prefix}`, "dev", name);
      ip("link", "set", "dev", name, "up");
    } catch (e) {
      tap.close();
      throw e;
    }
    return tap;
  }

  write(frame: Uint8Array): void {
    if (libc.write(this.fd, frame, frame.length) < 0) throw new Error(`TAP write errno ${libc.errno()}`);
  }

  /** Closing the last fd removes the (non-persistent) device. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    libc.close(this.fd);
  }
}

function ip(...args: string[]): void {
  try {
    execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    const stderr = String((e as { stderr?: Buffer }).stderr ?? "").trim();
    throw new DivsError(`ip ${args.join(" ")}: ${stderr || (e as Error).message}`, ExitCode.failure);
  }
}
