// Messages between the Node main thread (CLI, signals, control socket) and the data-plane thread
// that runs the node (host/node/dataplane.ts). The main thread wakes the data-plane thread's poll by
// writing to its eventfd after each message it posts.
import type { MessagePort } from "node:worker_threads";
import type { UpOptions } from "../common/up-options.ts";

export interface DataplaneData {
  options: UpOptions;
  /** Messages from the main thread, read synchronously when the eventfd fires. */
  port: MessagePort;
}

/** Main thread -> data-plane thread. */
export type ToDataplane =
  | { kind: "signal"; name: string }
  | { kind: "control"; id: number; line: string }
  | { kind: "served"; error: string | null };

/** Data-plane thread -> main thread. */
export type FromDataplane =
  | { kind: "wakeFd"; fd: number }
  | { kind: "serve"; path: string }
  | { kind: "reply"; id: number; text: string }
  | { kind: "closeControl" }
  | { kind: "done"; code: number }
  | { kind: "failed"; message: string; exitCode: number | null };
