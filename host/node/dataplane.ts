// The data-plane thread: runs one node (host/common/up.ts runNode) on a poll loop over the TAP, the
// UDP socket and an eventfd (host/node/poll-loop.ts). A frame or datagram is read, processed, sealed
// and sent in one synchronous pass on this thread, as tinc does in C; the main thread only serves the
// control socket and relays signals (docs/host.md "Threads and batching").
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import { DivsError, ExitCode } from "../common/errors.ts";
import { nodeOutput } from "../common/progress.ts";
import { serviceManagerFrom } from "../common/sd-notify.ts";
import * as libc from "./libc.ts";
import { tapMaxRecord } from "../common/mtu.ts";
import type { NodeRuntime } from "../common/platform.ts";
import { runNode } from "../common/up.ts";
import { checkPrivileges, interfaceAddresses, loadCoreBytes } from "./system.ts";
import { dataPlaneCrypto } from "./sodium.ts";
import { openStateDir } from "./state.ts";
import { LinuxTap } from "./tap.ts";
import type { DataplaneData, FromDataplane, ToDataplane } from "./thread-messages.ts";
import { bindUdp } from "./udp.ts";
import { PollLoop } from "./poll-loop.ts";

const { options, port } = workerData as DataplaneData;
const post = (m: FromDataplane) => parentPort!.postMessage(m);

let onSignal: ((name: string) => void) | null = null;
let answer: ((line: string) => Promise<string>) | null = null;
let served: ((error: string | null) => void) | null = null;
let running: Promise<void> = Promise.resolve();

/** Handles what the main thread posted; runs when it wrote to the eventfd. */
function drainMessages(): void {
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    const msg = m.message as ToDataplane;
    if (msg.kind === "signal") onSignal?.(msg.name);
    else if (msg.kind === "control") {
      const id = msg.id;
      void answer!(msg.line).then((text) => post({ kind: "reply", id, text }));
    }
    else served?.(msg.error);
  }
}

const loop = new PollLoop(() => performance.now(), drainMessages);
post({ kind: "wakeFd", fd: loop.wakeupFd });

const { log, progress } = nodeOutput(options, (text) => process.stderr.write(text));
const runtime: NodeRuntime = {
  runtime: `node ${process.version}`,
  clock: { now: () => performance.now() },
  timers: loop,
  random: { fill: (b) => void crypto.getRandomValues(b) },
  log,
  progress,
  serviceManager: serviceManagerFrom((name) => process.env[name], process.pid, libc),
  crypto: dataPlaneCrypto(log),
  interfaceAddresses,
  loadCoreBytes,
  checkPrivileges,
  openStateDir,
  openTap(name, mtu, address, mac, offload) {
    const device = LinuxTap.open(name, mtu, address, mac, offload);
    return {
      device,
      vnetHeader: true,
      startReader: (sink) => device.startReading(loop, tapMaxRecord(mtu, offload), sink),
      stopReader: async () => device.stopReading(),
    };
  },
  async bindUdp(listen, sink) {
    const socket = bindUdp(listen, loop, sink);
    // From here on everything runNode waits for comes through the loop (datagrams, frames, timers,
    // messages), so the loop may block in poll(2); before, the wasm compile needed the thread's own
    // event loop.
    drainMessages(); // anything posted before the main thread knew the eventfd
    running = loop.run();
    return socket;
  },
  async serveControl(path, answerLine) {
    answer = answerLine;
    const error = await new Promise<string | null>((resolve) => {
      served = resolve;
      post({ kind: "serve", path });
    });
    if (error !== null) throw new DivsError(error, ExitCode.failure);
    return { close: async () => post({ kind: "closeControl" }) };
  },
  onShutdownSignal(handler) {
    onSignal = handler;
  },
  print: (t) => console.log(t),
};

const result: FromDataplane = await runNode(runtime, options).then(
  (code) => ({ kind: "done", code }),
  (e) => e instanceof DivsError
    ? { kind: "failed", message: e.message, exitCode: e.exitCode }
    : { kind: "failed", message: (e as Error)?.stack ?? String(e), exitCode: null },
);
loop.stop();
await running;
port.close();
post(result);
