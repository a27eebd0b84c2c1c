// The Platform for Node: TAP through koffi and a reader worker, node:dgram, unix control sockets.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { HostPort } from "../common/address.ts";
import type { Cidr } from "../common/cidr.ts";
import { DivsError, ExitCode } from "../common/errors.ts";
import { tapRingLayout } from "../common/mtu.ts";
import type { DatagramSink, OpenedTap, Platform } from "../common/platform.ts";
import { createRingBuffer, RingConsumer } from "../common/ring.ts";
import { serveControl, controlRequest } from "./control.ts";
import { nodeCrypto } from "./crypto.ts";
import { LinuxTap } from "./tap.ts";
import { UdpTransport } from "./udp.ts";


/** The bundle (build/divs.mjs) finds divs-core.wasm and tap-worker.mjs next to itself. */
const here = path.dirname(fileURLToPath(import.meta.url));

export function nodePlatform(): Platform {
  return {
    runtime: `node ${process.version}`,
    clock: { now: () => performance.now() },
    timers: {
      set: (cb, ms) => setTimeout(cb, ms),
      clear: (h) => clearTimeout(h as NodeJS.Timeout),
      defer: (cb) => setImmediate(cb),
    },
    random: { fill: (b) => void crypto.getRandomValues(b) },
    log: {
      info: (m) => console.error(`[divs] ${m}`),
      warn: (m) => console.error(`[divs] warning: ${m}`),
    },
    crypto: nodeCrypto,
    env: (name) => process.env[name],
    readStdin: async () => {
      try {
        return fs.readFileSync(0, "utf8");
      } catch (e) {
        throw new DivsError(`cannot read standard input: ${(e as Error).message}`, ExitCode.usage);
      }
    },
    hostname: () => os.hostname(),
    guessAdvertiseAddress,
    loadCoreBytes: async () => new Uint8Array(fs.readFileSync(path.join(here, "divs-core.wasm"))),
    readTextFile: async (file) => {
      try {
        return fs.readFileSync(file, "utf8");
      } catch (e) {
        throw new DivsError(`cannot read ${file}: ${(e as Error).message}`, ExitCode.usage);
      }
    },
    checkPrivileges,
    openTap,
    bindUdp: (listen: HostPort, sink: DatagramSink) => UdpTransport.bind(listen, sink),
    serveControl,
    controlRequest,
    onShutdownSignal(handler) {
      let fired = false;
      const once = (signal: string) => {
        if (fired) process.exit(ExitCode.failure); // a second Ctrl-C: stop waiting for the clean exit
        fired = true;
        handler(signal);
      };
      process.on("SIGINT", once);
      process.on("SIGTERM", once);
    },
    print: (t) => console.log(t),
    printError: (t) => console.error(t),
  };
}

function checkPrivileges(): void {
  if (!fs.existsSync("/dev/net/tun")) throw new DivsError("no /dev/net/tun: load the tun module (modprobe tun)", ExitCode.noTun);
  if (process.getuid && process.getuid() !== 0) throw new DivsError("divs up needs root (to create a TAP device)", ExitCode.notRoot);
}

function openTap(name: string, mtu: number, address: Cidr | null, mac: string | null, offload: boolean): OpenedTap {
  const device = LinuxTap.open(name, mtu, address, mac, offload);
  const layout = tapRingLayout(mtu, offload);
  const buffer = createRingBuffer(layout);
  const worker = new Worker(path.join(here, "tap-worker.mjs"), { workerData: { fd: device.fd, buffer, layout } });
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  const ring = new RingConsumer(buffer, layout);
  return {
    device,
    ring,
    vnetHeader: true,
    stopReader: async () => {
      ring.stop();
      await exited;
    },
  };
}

function guessAdvertiseAddress(): string | null {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return null;
}
