// `divs up` on Node: one node (host/engine/lifecycle.ts runNode) on the main thread's poll loop over the TAP,
// the UDP socket and libuv's own epoll fd (host/node/poll-loop.ts). A frame or datagram is read,
// processed, sealed and sent in one synchronous pass, as tinc does in C; the control socket and
// signals are libuv's, served when its fd is ready (docs/host.md "Threads and batching").
import { randomFillSync } from "node:crypto";
import v8 from "node:v8";
import { ExitCode } from "../base/errors.ts";
import { nodeOutput } from "../engine/progress.ts";
import { serviceManagerFrom } from "../linux/sd-notify.ts";
import * as libc from "./libc.ts";
import { tapMaxRecord } from "../core/mtu.ts";
import type { NodeRuntime } from "../engine/platform.ts";
import type { UpOptions } from "../engine/node-options.ts";
import { withUi } from "../ops/ui.ts";
import { runNode } from "../engine/lifecycle.ts";
import { serveControl } from "./control.ts";
import { checkPrivileges, interfaceAddresses, loadCoreBytes, processStats } from "./system.ts";
import { withMetrics } from "../ops/metrics.ts";
import { dataPlaneCrypto } from "./sodium.ts";
import { openStateDir } from "../state/state-dir.ts";
import { stateFiles } from "../state/state-files.ts";
import { LinuxTap } from "./tap.ts";
import { bindUdp } from "./udp.ts";
import { PollLoop } from "./poll-loop.ts";
import { LatencyWake, warmOnFrames } from "../engine/latency-wake.ts";

/** Runs the node until it stops; resolves with its exit code. */
export async function up(options: UpOptions): Promise<number> {
  // V8 grows the young generation up to 2 x 16 MB under a high allocation rate (a packet flood); the
  // node's young objects are per-packet garbage, so 2 x 1 MB scavenges as well and keeps RSS down
  // (docs/performance.md "Memory"). Settable at run time, unlike the semi-space maximum.
  v8.setFlagsFromString("--semi-space-growth-factor=1");
  // process.hrtime, not performance.now(): the global `performance` loads perf_hooks and its timing
  // modules, ~0.3 MiB of RSS (docs/performance.md "Memory").
  const start = process.hrtime();
  const clock = {
    now: () => {
      const [s, ns] = process.hrtime(start);
      return s * 1e3 + ns / 1e6;
    },
  };
  const loop = new PollLoop(clock.now);
  // The loop's policy: it wakes every few ms while frames flow (docs/performance.md "Latency wake").
  const wake = new LatencyWake(loop.syncTimers, clock, options.latencyWakeMs);
  let running: Promise<void> = Promise.resolve();
  const { log, progress } = nodeOutput(options, (text) => process.stderr.write(text));
  const runtime: NodeRuntime = {
    runtime: `node ${process.version}`,
    clock,
    timers: loop,
    latencyWakes: () => wake.wakes,
    random: { fill: (b) => void randomFillSync(b) }, // not the global `crypto`: that loads WebCrypto
    log,
    progress,
    serviceManager: serviceManagerFrom((name) => process.env[name], process.pid, libc),
    crypto: dataPlaneCrypto(log),
    interfaceAddresses,
    loadCoreBytes,
    checkPrivileges,
    openStateDir: (dir) => openStateDir(dir, stateFiles),
    openTap(name, mtu, address, mac, offload) {
      const device = LinuxTap.open(name, mtu, address, mac, offload);
      return {
        device,
        vnetHeader: true,
        startReader: (sink) => device.startReading(loop, tapMaxRecord(mtu, offload), warmOnFrames(sink, wake, clock)),
        setAddress: (a) => device.setAddress(a),
        stopReader: async () => device.stopReading(),
      };
    },
    async bindUdp(listen, sink) {
      const socket = bindUdp(listen, loop, sink);
      // From here on the loop blocks in poll(2), libuv's fd among the watched ones; before, the
      // wasm compile needed the ordinary event loop.
      running = loop.run();
      return socket;
    },
    // GET /metrics and the status page, if asked for, are served next to the control socket, from the same answers.
    serveControl: withMetrics(withUi(serveControl, options.ui, log.info), options.metrics, processStats, loop),
    onShutdownSignal(handler) {
      let signalled = false;
      const onSignal = (name: string) => {
        if (signalled) process.exit(ExitCode.failure); // a second Ctrl-C: stop waiting for the clean exit
        signalled = true;
        handler(name);
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
    },
    print: (t) => console.log(t),
  };
  try {
    return await runNode(runtime, options);
  } finally {
    wake.stop();
    loop.stop();
    await running;
  }
}
