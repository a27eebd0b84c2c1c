// The TAP reader thread: reads frames straight into the shared ring's slots so the main thread
// never blocks on the device. Exits when the ring's stop flag is set (checked at least every POLL_MS).
import { workerData } from "node:worker_threads";
import { type RingLayout, RingProducer } from "../common/ring.ts";
import { EAGAIN, EINTR, POLLIN } from "../common/linux-tap.ts";
import * as libc from "./libc.ts";

const POLL_MS = 200;

const { fd, buffer, layout } = workerData as { fd: number; buffer: SharedArrayBuffer; layout: RingLayout };
const ring = new RingProducer(buffer, layout);
const pollfd = new Int32Array(2); // struct pollfd { int fd; short events; short revents; }

while (!ring.stopped) {
  const slot = ring.freeSlot();
  if (slot === null) {
    ring.waitForRoom(POLL_MS);
    continue;
  }
  const n = Number(libc.read(fd, slot, slot.length));
  if (n > 0) {
    ring.publish(n);
    continue;
  }
  const e = libc.errno();
  if (n < 0 && e !== EAGAIN && e !== EINTR) break; // fd closed or device gone
  pollfd[0] = fd;
  pollfd[1] = POLLIN;
  libc.poll(pollfd, 1, POLL_MS);
}
