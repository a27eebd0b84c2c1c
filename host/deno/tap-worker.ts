// The TAP reader thread (a Deno Worker): reads frames straight into the shared ring's slots so the
// main thread never blocks on the device (Node needs no such thread: its poll loop reads the TAP).
// Exits when the ring's stop flag is set (checked at least every POLL_MS) or when poll says the fd is gone.
import { type RingLayout, RingProducer } from "./ring.ts";
import { POLLIN } from "../linux/tap.ts";
import * as c from "./libc.ts";

const POLL_MS = 200;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const POLLNVAL = 0x20;

// deno-lint-ignore no-explicit-any
const scope = self as any;
scope.onmessage = (e: MessageEvent<{ fd: number; buffer: SharedArrayBuffer; layout: RingLayout }>) => {
  readLoop(e.data.fd, new RingProducer(e.data.buffer, e.data.layout));
  scope.postMessage("stopped");
  scope.close();
};

function readLoop(fd: number, ring: RingProducer): void {
  const pollfd = new Int32Array(2); // struct pollfd { int fd; short events; short revents; }
  const pollBytes = new Uint8Array(pollfd.buffer);
  while (!ring.stopped) {
    const slot = ring.freeSlot();
    if (slot === null) {
      ring.waitForRoom(POLL_MS);
      continue;
    }
    const n = Number(c.libc().read(fd, slot as unknown as Uint8Array<ArrayBuffer>, BigInt(slot.length)));
    if (n > 0) {
      ring.publish(n);
      continue;
    }
    // Nothing to read (EAGAIN) or interrupted: wait in poll. A closed fd or a removed device shows
    // in revents (no errno needed, which another call on this thread could have overwritten).
    pollfd[0] = fd;
    pollfd[1] = POLLIN;
    c.libc().poll(pollBytes, 1n, POLL_MS);
    if ((pollfd[1] >>> 16) & (POLLERR | POLLHUP | POLLNVAL)) break;
  }
}
