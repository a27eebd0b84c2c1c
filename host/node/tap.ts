// A Linux TAP device through koffi's libc bindings; opening and set-up are host/common/linux-tap.ts.
// Reads happen in the reader worker (tap-worker.ts) on the same fd; writes here, from core memory.
import { execFileSync } from "node:child_process";
import type { Cidr } from "../common/cidr.ts";
import { DivsError, ExitCode } from "../common/errors.ts";
import { type TapSyscalls, openLinuxTap } from "../common/linux-tap.ts";
import type { TapDevice } from "../common/runtime.ts";
import * as libc from "./libc.ts";

export class LinuxTap implements TapDevice {
  private closed = false;
  private constructor(readonly fd: number, readonly name: string, readonly mtu: number) {}

  static open(name: string, mtu: number, address: Cidr | null, mac: string | null, offload: boolean): LinuxTap {
    return new LinuxTap(openLinuxTap(syscalls, name, mtu, address, mac, offload), name, mtu);
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

const syscalls: TapSyscalls = {
  open: (path, flags) => libc.open(path, flags),
  ioctlPtr: (fd, request, arg) => libc.ioctl(fd, request, arg),
  ioctlInt: (fd, request, arg) => libc.ioctlInt(fd, request, arg),
  close: (fd) => libc.close(fd),
  errno: libc.errno,
  ip(...args) {
    try {
      execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
    } catch (e) {
      const stderr = String((e as { stderr?: Buffer }).stderr ?? "").trim();
      throw new DivsError(`ip ${args.join(" ")}: ${stderr || (e as Error).message}`, ExitCode.failure);
    }
  },
};
