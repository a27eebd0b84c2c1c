// A Linux TAP device through koffi's libc bindings; opening and set-up are host/linux/tap.ts.
// The node's poll loop (poll-loop.ts) reads it (each read(2) is one frame) into one reused buffer and
// writes frames straight from core memory.
import { execFileSync } from "node:child_process";
import type { Cidr } from "../net/cidr.ts";
import { DivsError, ExitCode } from "../base/errors.ts";
import { type TapSyscalls, openLinuxTap, setLinuxTapAddress } from "../linux/tap.ts";
import type { FrameSink } from "../engine/platform.ts";
import type { TapDevice } from "../base/services.ts";
import * as libc from "./libc.ts";
import type { PollLoop } from "./poll-loop.ts";

/** Frames read per readiness before the loop looks at the socket and timers again (one process() call). */
const READ_BATCH = 128;

export class LinuxTap implements TapDevice {
  private closed = false;
  private reading: PollLoop | null = null;
  private constructor(readonly fd: number, readonly name: string, readonly mtu: number) {}

  static open(name: string, mtu: number, address: Cidr | null, mac: string | null, offload: boolean): LinuxTap {
    return new LinuxTap(openLinuxTap(syscalls, name, mtu, address, mac, offload), name, mtu);
  }

  setAddress(address: Cidr | null): void {
    setLinuxTapAddress(syscalls, this.name, address);
  }

  /** Reads frames of up to `maxRecord` bytes into `sink` whenever the device has some. */
  startReading(loop: PollLoop, maxRecord: number, sink: FrameSink): void {
    const buffer = new Uint8Array(maxRecord);
    const at = libc.address(buffer);
    this.reading = loop;
    loop.watch(this.fd, () => {
      let n = 0;
      for (; n < READ_BATCH && !this.closed; n++) {
        const len = libc.readAt(this.fd, at, maxRecord);
        if (len <= 0) break; // EAGAIN: drained
        sink.frame(buffer.subarray(0, len));
      }
      if (n > 0) sink.batchEnd();
    });
  }

  stopReading(): void {
    this.reading?.unwatch(this.fd);
    this.reading = null;
  }

  /** Frames come from core memory: one buffer, so its address is looked up once. */
  private readonly frames = new libc.Pointers();

  write(frame: Uint8Array): void {
    if (libc.writeAt(this.fd, this.frames.of(frame), frame.length) < 0) throw new Error(`TAP write errno ${libc.errno()}`);
  }

  /** Closing the last fd removes the (non-persistent) device. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopReading();
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
