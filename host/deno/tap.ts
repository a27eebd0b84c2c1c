// A Linux TAP device opened through libc with Deno's FFI (open /dev/net/tun + ioctl TUNSETIFF);
// address, MTU and link state are set with iproute2 (--allow-run=ip). Reads happen in the reader
// worker (tap-worker.ts) on the same fd; writes here, synchronously, straight from core memory.
// As the Node host (host/node/tap.ts): always IFF_VNET_HDR, TUNSETOFFLOAD when offload is on.
import type { Cidr } from "../common/cidr.ts";
import { DivsError, ExitCode } from "../common/errors.ts";
import { TAP_GSO_MAX_SIZE } from "../common/mtu.ts";
import type { TapDevice } from "../common/runtime.ts";
import * as c from "./libc.ts";

export class DenoTap implements TapDevice {
  private closed = false;
  private constructor(readonly fd: number, readonly name: string, readonly mtu: number) {}

  static open(name: string, mtu: number, address: Cidr | null, mac: string | null, offload: boolean): DenoTap {
    if (name.length === 0 || name.length >= c.IFNAMSIZ || !/^[A-Za-z0-9_.-]+$/.test(name)) {
      throw new DivsError(`bad TAP name "${name}": 1-15 letters, digits, '_', '-', '.'`, ExitCode.usage);
    }
    const fd = c.libc().open(c.cString("/dev/net/tun"), c.O_RDWR | c.O_NONBLOCK | c.O_CLOEXEC);
    if (fd < 0) {
      const e = c.errno();
      if (e === c.ENOENT) throw new DivsError("no /dev/net/tun: load the tun module (modprobe tun)", ExitCode.noTun);
      if (e === c.EPERM || e === c.EACCES) throw new DivsError("cannot open /dev/net/tun: run as root", ExitCode.notRoot);
      throw new DivsError(`cannot open /dev/net/tun: errno ${e}`, ExitCode.noTun);
    }
    const ifreq = new Uint8Array(40); // struct ifreq: name[16], then flags (short)
    ifreq.set(new TextEncoder().encode(name));
    new DataView(ifreq.buffer).setInt16(c.IFNAMSIZ, c.IFF_TAP | c.IFF_NO_PI | c.IFF_VNET_HDR, true);
    if (c.libc().ioctl(fd, c.TUNSETIFF, ifreq) < 0) {
      const e = c.errno();
      c.libc().close(fd);
      if (e === c.EPERM) throw new DivsError("cannot create a TAP device: run as root (CAP_NET_ADMIN)", ExitCode.notRoot);
      if (e === c.EBUSY) throw new DivsError(`TAP device ${name} is in use by another process`, ExitCode.failure);
      throw new DivsError(`TUNSETIFF ${name} failed: errno ${e}`, ExitCode.failure);
    }
    const tap = new DenoTap(fd, name, mtu);
    try {
      if (offload) {
        if (c.libc().ioctlInt(fd, c.TUNSETOFFLOAD, BigInt(c.TUN_F_CSUM | c.TUN_F_TSO4 | c.TUN_F_TSO6)) < 0) {
          throw new DivsError(`TUNSETOFFLOAD ${name} failed: errno ${c.errno()} (try --offload off)`, ExitCode.failure);
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
    if (c.libc().write(this.fd, frame as Uint8Array<ArrayBuffer>, BigInt(frame.length)) < 0) {
      throw new Error(`TAP write errno ${c.errno()}`);
    }
  }

  /** Closing the last fd removes the (non-persistent) device. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    c.libc().close(this.fd);
  }
}

function ip(...args: string[]): void {
  let out: Deno.CommandOutput;
  try {
    out = new Deno.Command("ip", { args, stdin: "null", stdout: "null", stderr: "piped" }).outputSync();
  } catch (e) {
    throw new DivsError(`ip ${args.join(" ")}: ${(e as Error).message}`, ExitCode.failure);
  }
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr).trim();
    throw new DivsError(`ip ${args.join(" ")}: ${stderr || `exit ${out.code}`}`, ExitCode.failure);
  }
}
