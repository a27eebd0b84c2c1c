// A Linux TAP device through Deno's FFI (--allow-ffi); opening and set-up are host/linux/tap.ts
// (`ip` needs --allow-run=ip). Reads happen in the reader worker (tap-worker.ts) on the same fd;
// writes here, synchronously, straight from core memory.
import type { Cidr } from "../net/cidr.ts";
import { DivsError, ExitCode } from "../base/errors.ts";
import { type TapSyscalls, openLinuxTap, setLinuxTapAddress } from "../linux/tap.ts";
import type { TapDevice } from "../base/services.ts";
import * as c from "./libc.ts";

export class DenoTap implements TapDevice {
  private closed = false;
  private constructor(readonly fd: number, readonly name: string, readonly mtu: number) {}

  static open(name: string, mtu: number, address: Cidr | null, mac: string | null, offload: boolean): DenoTap {
    return new DenoTap(openLinuxTap(syscalls, name, mtu, address, mac, offload), name, mtu);
  }

  setAddress(address: Cidr | null): void {
    setLinuxTapAddress(syscalls, this.name, address);
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

const syscalls: TapSyscalls = {
  open: (path, flags) => c.libc().open(c.cString(path), flags),
  ioctlPtr: (fd, request, arg) => c.libc().ioctl(fd, BigInt(request), arg as Uint8Array<ArrayBuffer>),
  ioctlInt: (fd, request, arg) => c.libc().ioctlInt(fd, BigInt(request), BigInt(arg)),
  close: (fd) => c.libc().close(fd),
  errno: c.errno,
  ip(...args) {
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
  },
};
