// Node's answers about this machine, for the CLI and the node.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DivsError, ExitCode } from "../common/errors.ts";
import type { InterfaceAddress } from "../common/local-addresses.ts";

/** The bundle (build/divs.mjs) finds divs-core.wasm next to itself. */
export const bundleDir = path.dirname(fileURLToPath(import.meta.url));

export async function loadCoreBytes(): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(fs.readFileSync(path.join(bundleDir, "divs-core.wasm")));
}

export function checkPrivileges(): void {
  if (!fs.existsSync("/dev/net/tun")) throw new DivsError("no /dev/net/tun: load the tun module (modprobe tun)", ExitCode.noTun);
  if (process.getuid && process.getuid() !== 0) throw new DivsError("divs up needs root (to create a TAP device)", ExitCode.notRoot);
}

export function interfaceAddresses(): InterfaceAddress[] {
  return Object.entries(os.networkInterfaces()).flatMap(([name, list]) => (list ?? []).map(({ address }) => ({ name, address })));
}
