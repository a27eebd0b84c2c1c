// Node's answers about this machine, for the CLI and the node.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { checkNetAdmin } from "../linux/capabilities.ts";
import { DivsError, ExitCode } from "../base/errors.ts";
import type { InterfaceAddress } from "../net/local-addresses.ts";
import type { ProcessStats } from "../ops/metrics.ts";

/** The bundle (build/divs.cjs) finds divs-core.wasm next to itself. */
export const bundleDir = path.dirname(fileURLToPath(import.meta.url));

export async function loadCoreBytes(): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(fs.readFileSync(path.join(bundleDir, "divs-core.wasm")));
}

export function checkPrivileges(): void {
  if (!fs.existsSync("/dev/net/tun")) throw new DivsError("no /dev/net/tun: load the tun module (modprobe tun)", ExitCode.noTun);
  let tunOpenable = true;
  try {
    fs.accessSync("/dev/net/tun", fs.constants.R_OK | fs.constants.W_OK);
  } catch {
    tunOpenable = false;
  }
  checkNetAdmin(fs.readFileSync("/proc/self/status", "utf8"), process.getuid?.() ?? 0, tunOpenable);
}

export function interfaceAddresses(): InterfaceAddress[] {
  return Object.entries(os.networkInterfaces()).flatMap(([name, list]) => (list ?? []).map(({ address }) => ({ name, address })));
}

/** The whole process's (every thread's) CPU time and memory, for --metrics. */
export function processStats(): ProcessStats {
  const cpu = process.cpuUsage();
  return {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    residentBytes: process.memoryUsage.rss(),
    startTimeSeconds: Math.round(Date.now() / 1000 - process.uptime()),
  };
}
