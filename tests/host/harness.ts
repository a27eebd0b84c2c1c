// Shared by the host tests: a poll loop on the real clock that cannot block the test process for ever.
import { PollLoop } from "../../host/node/poll-loop.ts";

const BOUND_MS = 5000;

/**
 * A loop whose run() rejects if it is still going after 5 s: a lost wake-up or a broken stop() would
 * otherwise leave this thread blocked in poll(2), where node:test's own timeout cannot reach it.
 */
export function boundedLoop(now = () => performance.now()): PollLoop {
  const loop = new PollLoop(now);
  loop.set(() => {
    throw new Error(`poll loop still running after ${BOUND_MS} ms`);
  }, BOUND_MS);
  return loop;
}

/** Runs the loop until stop(). */
export async function runToEnd(loop: PollLoop): Promise<void> {
  await loop.run();
}
