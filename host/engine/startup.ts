// What a starting node is doing, until it has joined: the TAP is up, the handshake with a seed, the
// members found. Read from the driver a few times a second during start only; tells the terminal
// progress (host/engine/progress.ts) and the service manager (READY=1 once joined, host/linux/sd-notify.ts).
import { formatHostPort, type HostPort } from "../net/address.ts";
import type { Driver } from "./driver.ts";
import type { Clock, Timers } from "../base/services.ts";

/** How often the starting node is looked at: quick enough for a person, nothing for the data plane. */
export const STARTUP_POLL_MS = 100;

export interface StartupListener {
  /** What the node is doing now (one short line). */
  step(text: string): void;
  /** It has joined (or created) the switch: `members` alive, itself included. */
  joined(members: number): void;
}

/** Calls `listener` until the node has joined; returns a stop function. A node without seeds has joined at once. */
export function watchStartup(driver: Driver, seeds: HostPort[], timers: Timers, clock: Clock, listener: StartupListener): () => void {
  if (seeds.length === 0) {
    listener.joined(1);
    return () => {};
  }
  const via = seeds.map(formatHostPort).join(", ");
  let timer: unknown = null;
  let last = "";
  const look = () => {
    timer = null;
    const alive = driver.members().filter((m) => m.state === "alive").length;
    if (alive > 1) {
      listener.joined(alive);
      return;
    }
    const handshaken = driver.secure.sessions(clock.now()).some((s) => s.confirmed);
    const text = handshaken ? `handshake with ${via} done, asking for the members` : `handshake with ${via}`;
    if (text !== last) listener.step((last = text));
    timer = timers.set(look, STARTUP_POLL_MS);
  };
  look();
  return () => {
    if (timer !== null) timers.clear(timer);
    timer = null;
  };
}
