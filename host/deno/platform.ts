// The Platform for Deno: TAP through Deno.dlopen on libc and a reader Worker filling the shared ring,
// the underlay socket on libc (host/linux/udp.ts), Deno.listen on a unix socket,
// Deno.addSignalListener. The node itself (engine/, core/, secure/, cli/) is
// shared with the Node host.
import type { Cidr } from "../net/cidr.ts";
import type { InterfaceAddress } from "../net/local-addresses.ts";
import { checkNetAdmin } from "../linux/capabilities.ts";
import { DivsError, ExitCode } from "../base/errors.ts";
import { createLogger, DEFAULT_LOG } from "../base/log.ts";
import { nodeOutput } from "../engine/progress.ts";
import { type ServiceManager, serviceManagerFrom } from "../linux/sd-notify.ts";
import type { NodeRuntime, OpenedTap, Platform } from "../engine/platform.ts";
import { withUi } from "../ops/ui.ts";
import { runNode } from "../engine/lifecycle.ts";
import { createRingBuffer, RingConsumer, tapRingLayout } from "./ring.ts";
// node:crypto runs under Deno with the same results (tests/deno/trace.test.mjs checks the core; the
// provider is the Node host's, unchanged).
import { nodeCrypto } from "../secure/node-crypto.ts";
import { controlRequest, serveControl } from "./control.ts";
import { type ProcessStats, withMetrics } from "../ops/metrics.ts";
import process from "node:process";
import * as c from "./libc.ts";
import { dataPlaneCrypto } from "./sodium.ts";
import { openStateDir } from "../state/state-dir.ts";
import { stateFiles } from "../state/state-files.ts";
import { DenoTap } from "./tap.ts";
import { bindUdp } from "./udp.ts";
import { LatencyWake, warmOnFrames } from "../engine/latency-wake.ts";

/** The bundle (build/divs-deno.mjs) finds divs-core.wasm and divs-deno-tap-worker.mjs next to itself. */
const CORE_URL = new URL("divs-core.wasm", import.meta.url);
const WORKER_URL = new URL("divs-deno-tap-worker.mjs", import.meta.url);

/** Deno runs the node on its main thread: the platform is both the CLI's and, in `up`, the node's runtime. */
export function denoPlatform(): Platform & Omit<NodeRuntime, "latencyWakes"> {
  const platform: Platform & Omit<NodeRuntime, "latencyWakes"> = {
    runtime: `deno ${Deno.version.deno}`,
    clock: { now: () => performance.now() },
    timers: {
      set: (cb, ms) => setTimeout(cb, ms),
      clear: (h) => clearTimeout(h as number),
    },
    random: { fill: (b) => void crypto.getRandomValues(b) },
    log: createLogger(DEFAULT_LOG, (line) => console.error(line)),
    progress: null,
    serviceManager: null,
    crypto: nodeCrypto,
    env: (name) => Deno.env.get(name),
    readStdin: () => new Response(Deno.stdin.readable).text(),
    hostname: () => Deno.hostname(),
    interfaceAddresses,
    loadCoreBytes: () => Deno.readFile(CORE_URL) as Promise<Uint8Array<ArrayBuffer>>,
    readTextFile: async (file) => {
      try {
        return await Deno.readTextFile(file);
      } catch (e) {
        throw new DivsError(`cannot read ${file}: ${(e as Error).message}`, ExitCode.usage);
      }
    },
    fileMode: async (file) => (Deno.statSync(file).mode ?? 0) & 0o7777,
    checkPrivileges,
    openStateDir: (dir) => openStateDir(dir, stateFiles),
    openTap,
    bindUdp: async (listen, sink) => bindUdp(listen, sink),
    serveControl,
    controlRequest,
    onShutdownSignal(handler) {
      let fired = false;
      const once = (signal: string) => () => {
        if (fired) Deno.exit(ExitCode.failure); // a second Ctrl-C: stop waiting for the clean exit
        fired = true;
        handler(signal);
      };
      Deno.addSignalListener("SIGINT", once("SIGINT"));
      Deno.addSignalListener("SIGTERM", once("SIGTERM"));
    },
    print: (t) => console.log(t),
    printError: (t) => console.error(t),
    // libsodium is loaded only for a node (FFI is allowed for `up` alone, docs/deno.md).
    outputIsTerminal: () => Deno.stdout.isTerminal() && Deno.stderr.isTerminal() && Deno.env.get("TERM") !== "dumb",
    up: (options) => {
      const { log, progress } = nodeOutput(options, (text) => void Deno.stderr.writeSync(new TextEncoder().encode(text)));
      // The event loop's policy: it wakes every few ms while frames flow (docs/performance.md "Latency wake").
      const wake = new LatencyWake(platform.timers, platform.clock, options.latencyWakeMs);
      return runNode({
        ...platform, log, progress, serviceManager: serviceManager(), crypto: dataPlaneCrypto(nodeCrypto, log),
        latencyWakes: () => wake.wakes,
        openTap: (...args) => {
          const opened = openTap(...args);
          return { ...opened, startReader: (sink) => opened.startReader(warmOnFrames(sink, wake, platform.clock)) };
        },
        // GET /metrics and the status page, if asked for, are served next to the control socket, with the
        // same answers (docs/metrics.md, docs/ui.md).
        serveControl: withMetrics(withUi(serveControl, options.ui, log.info), options.metrics, processStats, platform.timers),
      }, options).finally(() => wake.stop());
    },
  };
  return platform;
}

function checkPrivileges(): void {
  // access(2) through FFI: Deno's own file API wants --allow-all for device files.
  if (c.libc().access(c.cString("/dev/net/tun"), c.F_OK) !== 0) {
    throw new DivsError("no /dev/net/tun: load the tun module (modprobe tun)", ExitCode.noTun);
  }
  const tunOpenable = c.libc().access(c.cString("/dev/net/tun"), c.R_OK | c.W_OK) === 0;
  checkNetAdmin(readProcFile("/proc/self/status"), Deno.uid() ?? 0, tunOpenable);
}

/** A small /proc file through libc: Deno's file API wants --allow-all for /proc. */
function readProcFile(path: string): string {
  const fd = c.libc().open(c.cString(path), c.O_RDONLY);
  if (fd < 0) return "";
  const buffer = new Uint8Array(16384);
  const n = Number(c.libc().read(fd, buffer, BigInt(buffer.length)));
  c.libc().close(fd);
  return new TextDecoder().decode(buffer.subarray(0, Math.max(0, n)));
}

function openTap(name: string, mtu: number, address: Cidr | null, mac: string | null, offload: boolean): OpenedTap {
  const device = DenoTap.open(name, mtu, address, mac, offload);
  const layout = tapRingLayout(mtu, offload);
  const buffer = createRingBuffer(layout);
  const worker = new Worker(WORKER_URL, { type: "module" });
  const stopped = new Promise<void>((resolve) => {
    worker.onmessage = () => resolve();
    worker.onerror = (e) => {
      e.preventDefault();
      console.error(`[divs] TAP reader failed: ${e.message}`);
      resolve();
    };
  });
  worker.postMessage({ fd: device.fd, buffer, layout });
  const ring = new RingConsumer(buffer, layout);
  let pump: Promise<void> = Promise.resolve();
  return {
    device,
    vnetHeader: true,
    startReader: (sink) => void (pump = ring.pump(sink, (cb) => void setImmediate(cb))),
    setAddress: (a) => device.setAddress(a),
    stopReader: async () => {
      ring.stop();
      await pump;
      await stopped;
      worker.terminate();
    },
  };
}

function interfaceAddresses(): InterfaceAddress[] {
  return Deno.networkInterfaces();
}

/** The process's CPU time and memory, for --metrics (node:process's cpuUsage: Deno has none of its own). */
function processStats(): ProcessStats {
  const cpu = process.cpuUsage();
  return {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    residentBytes: Deno.memoryUsage().rss,
    startTimeSeconds: Math.round(Date.now() / 1000 - performance.now() / 1000),
  };
}

function serviceManager(): ServiceManager | null {
  const l = c.libc();
  return serviceManagerFrom((name) => Deno.env.get(name), Deno.pid, {
    socket: l.socket,
    sendto: (fd, buf, len, flags, addr, addrlen) => Number(l.sendto(fd, buf as Uint8Array<ArrayBuffer>, BigInt(len), flags, addr as Uint8Array<ArrayBuffer>, addrlen)),
    close: l.close,
  });
}
