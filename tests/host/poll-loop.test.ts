// The node's poll loop (host/node/poll-loop.ts) on its own: timers, watched fds (eventfds made here)
// and libuv's epoll fd, which wakes it for the event loop's I/O. Needs no root.
import assert from "node:assert/strict";
import { once } from "node:events";
import { closeSync, writeSync } from "node:fs";
import net from "node:net";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import koffi from "koffi";
import * as libc from "../../host/node/libc.ts";
import { PollLoop, turnDue } from "../../host/node/poll-loop.ts";
import { boundedLoop, runToEnd } from "./harness.ts";

const EFD_NONBLOCK = 0o4000;
const ONE = new BigUint64Array([1n]);
const libcEventfd = koffi.load("libc.so.6").func("int eventfd(unsigned int initval, int flags)");

function eventfd(): number {
  const fd = libcEventfd(0, EFD_NONBLOCK);
  assert.ok(fd >= 0, `eventfd failed: errno ${libc.errno()}`);
  return fd;
}

/** Watches `fd`, counting readiness calls; each call drains the eventfd so it is not ready again. */
function watchCounting(loop: PollLoop, fd: number, onCall: () => void = () => {}): { calls: number } {
  const seen = { calls: 0 };
  const sink = new Uint8Array(8);
  const at = libc.address(sink);
  loop.watch(fd, () => {
    seen.calls++;
    libc.readAt(fd, at, sink.length);
    onCall();
  });
  return seen;
}

test("timers fire in deadline order", async () => {
  const loop = boundedLoop();
  const delays = [60, 0, 40, 80, 20]; // set out of order, 20 ms apart so each is due in its own round
  const fired: number[] = [];
  for (const delay of delays) {
    loop.set(() => {
      fired.push(delay);
      if (fired.length === delays.length) loop.stop();
    }, delay);
  }
  await runToEnd(loop);
  assert.deepEqual(fired, [0, 20, 40, 60, 80]);
});

test("timers never fire before their deadline, even when a round runs just before it", async () => {
  const loop = boundedLoop();
  // 1 ms apart: the round that fires one timer runs less than a millisecond before the next is due.
  const early: number[] = [];
  for (let delay = 10; delay <= 30; delay++) {
    const deadline = performance.now() + delay;
    loop.set(() => {
      early.push(deadline - performance.now());
      if (delay === 30) loop.stop();
    }, delay);
  }
  await runToEnd(loop);
  assert.equal(early.length, 21);
  for (const ms of early) assert.ok(ms <= 0, `a timer fired ${ms.toFixed(3)} ms before its deadline`);
});

test("timers due in the same round fire in deadline order", async () => {
  let skew = 0; // moved forward below, so all three timers fall due in the first round
  const loop = boundedLoop(() => performance.now() + skew);
  const fired: number[] = [];
  for (const delay of [30, 10, 20]) {
    loop.set(() => {
      fired.push(delay);
      if (fired.length === 3) loop.stop();
    }, delay);
  }
  skew = 100;
  await runToEnd(loop);
  assert.deepEqual(fired, [10, 20, 30]);
});

test("clear cancels a timer, also one due in the same round", async () => {
  const loop = boundedLoop();
  const fired: string[] = [];
  const cleared = loop.set(() => fired.push("cleared before the loop ran"), 10);
  loop.clear(cleared);
  loop.set(() => {
    fired.push("first");
    loop.clear(sameRound);
  }, 0);
  const sameRound = loop.set(() => fired.push("cleared by the first"), 0);
  loop.set(() => {
    fired.push("last");
    loop.stop();
  }, 30);
  await runToEnd(loop);
  assert.deepEqual(fired, ["first", "last"]);
});

test("a timer set from inside a timer callback fires after its own delay", async () => {
  const loop = boundedLoop();
  let outerAt = 0;
  let innerAt = 0;
  loop.set(() => {
    outerAt = performance.now();
    loop.set(() => {
      innerAt = performance.now();
      loop.stop();
    }, 15);
  }, 5);
  await runToEnd(loop);
  assert.ok(outerAt > 0, "outer timer never fired");
  assert.ok(innerAt - outerAt >= 15, `inner timer fired ${(innerAt - outerAt).toFixed(3)} ms after it was set`);
});

test("a readable fd calls its handler; after unwatch it does not, other fds keep theirs", async () => {
  const loop = boundedLoop();
  const [a, b, c] = [eventfd(), eventfd(), eventfd()];
  try {
    const seenB = watchCounting(loop, b);
    const seenA = watchCounting(loop, a, () => {
      loop.unwatch(a);
      // a stays readable (unread) but is no longer watched; c's handler ends the test.
      writeSync(a, ONE);
      writeSync(c, ONE);
    });
    const seenC = watchCounting(loop, c, () => loop.stop());
    writeSync(a, ONE);
    await runToEnd(loop);
    assert.deepEqual([seenA.calls, seenB.calls, seenC.calls], [1, 0, 1]);
  } finally {
    for (const fd of [a, b, c]) closeSync(fd);
  }
});

test("unwatch of one fd leaves the handlers of the others on their own fds", async () => {
  const loop = boundedLoop();
  const fds = [eventfd(), eventfd(), eventfd(), eventfd()];
  try {
    const seen = fds.map((fd) => watchCounting(loop, fd, () => loop.stop()));
    loop.unwatch(fds[0]); // the last watched fd moves into its slot
    loop.unwatch(fds[2]);
    for (const fd of fds) writeSync(fd, ONE);
    await runToEnd(loop);
    assert.deepEqual(seen.map((s) => s.calls), [0, 1, 0, 1]);
  } finally {
    for (const fd of fds) closeSync(fd);
  }
});

test("watch refuses more fds than the loop holds, and unwatch frees a slot", () => {
  const loop = new PollLoop(() => performance.now());
  const fds: number[] = [];
  try {
    assert.throws(() => {
      for (;;) {
        fds.push(eventfd());
        loop.watch(fds[fds.length - 1], () => {});
      }
    }, /too many fds/);
    assert.equal(fds.length, 8, "libuv's fd and 7 more fit in 8 slots: the 8th eventfd is refused");
    loop.unwatch(fds[0]);
    loop.watch(fds[fds.length - 1], () => {});
  } finally {
    for (const fd of fds) closeSync(fd);
  }
});

test("I/O for the event loop (a connection) wakes a loop blocked with no timer due, and is served", async () => {
  const loop = boundedLoop();
  let servedAt = 0;
  const server = net.createServer((conn) => {
    servedAt = performance.now();
    conn.end();
    loop.stop();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const started = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { workerData } = require("node:worker_threads");
     const started = new Int32Array(workerData.started);
     Atomics.wait(started, 0, 0);
     require("node:net").connect(workerData.port, "127.0.0.1").on("close", () => process.exit(0)).on("error", () => process.exit(1));`,
    { eval: true, workerData: { port, started: started.buffer } },
  );
  const exited = once(worker, "exit");
  let releasedAt = 0;
  // Let the worker connect only once the loop runs; the next round blocks in poll(2) (only the bound's
  // timer is armed, seconds away; poll sleeps at most 500 ms for libuv's timers) until libuv's fd is ready.
  loop.set(() => {
    releasedAt = performance.now();
    Atomics.store(started, 0, 1);
    Atomics.notify(started, 0);
  }, 0);
  try {
    await runToEnd(loop);
  } finally {
    server.close();
  }
  assert.deepEqual(await exited, [0]);
  assert.ok(releasedAt > 0 && servedAt > releasedAt, "the connection was not served after the worker was released");
  assert.ok(servedAt - releasedAt < 400, `served ${(servedAt - releasedAt).toFixed(1)} ms after the worker was released`);
});

test("run() resolves after stop(), with no further round", async () => {
  const loop = boundedLoop();
  let afterStop = false;
  loop.set(() => {
    loop.stop();
    loop.set(() => (afterStop = true), 0);
  }, 5);
  await runToEnd(loop);
  assert.equal(afterStop, false, "a timer due after stop() fired");
});

test("rounds that only handle fds skip the event-loop turn, but yield one at least every 200 ms", async () => {
  // A bound far enough away that no timer runs during the test: only fd rounds happen.
  const loop = boundedLoop();
  const fd = eventfd();
  try {
    let rounds = 0;
    let immediateAfter = -1;
    let firedAt = 0;
    const start = performance.now();
    loop.watch(fd, () => {
      rounds++;
      if (immediateAfter >= 0) loop.stop();
      // Stays readable: every round finds it ready and only runs this handler.
    });
    writeSync(fd, ONE);
    const runs = runToEnd(loop);
    // Queued after run() started: it can only run in a turn the loop gives the event loop.
    setImmediate(() => {
      immediateAfter = rounds;
      firedAt = performance.now() - start;
    });
    await runs;
    assert.ok(immediateAfter > 1, `the event loop got a turn after ${immediateAfter} fd-only rounds`);
    assert.ok(firedAt < 1000, `the first turn came after ${firedAt.toFixed(0)} ms`);
  } finally {
    closeSync(fd);
  }
});

test("a turn waits for a quiet round, unless the loop has been busy for 200 ms", () => {
  assert.equal(turnDue(true, 0, false), true, "a turn asked for (timers, libuv's fd) comes after a quiet round");
  // The reply to a packet just handled is read before the turn: it may already wait in the kernel.
  assert.equal(turnDue(true, 0, true), false, "after a busy round the loop polls again first");
  assert.equal(turnDue(false, 10, false), false, "no periodic turn within 50 ms of the last");
  assert.equal(turnDue(false, 60, false), true, "after a quiet round, a turn every 50 ms");
  assert.equal(turnDue(false, 60, true), false, "nor a periodic one after a busy round");
  assert.equal(turnDue(false, 200, true), true, "a loop that is never quiet still turns every 200 ms");
});
