// Whether this process may create and configure a TAP: CAP_NET_ADMIN, not root as such (docs/host.md
// "Running without root"). The runtime passes /proc/self/status, its uid and whether it can open
// /dev/net/tun for reading and writing.
import { DivsError, ExitCode } from "../base/errors.ts";

/** linux/capability.h */
const CAP_NET_ADMIN = 12n;
const HOW = `docs/host.md "Running without root"`;

function capSet(procStatus: string, name: string): bigint {
  const m = new RegExp(`^${name}:\\s*([0-9a-fA-F]+)$`, "m").exec(procStatus);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

/** Throws DivsError(notRoot) when a node could not make its TAP; the no-/dev/net/tun case is the caller's. */
export function checkNetAdmin(procStatus: string, uid: number, tunOpenable: boolean): void {
  const has = (set: string) => ((capSet(procStatus, set) >> CAP_NET_ADMIN) & 1n) === 1n;
  if (!has("CapEff")) {
    throw new DivsError(`divs up needs CAP_NET_ADMIN to create a TAP device: run it as root or with that capability (${HOW})`, ExitCode.notRoot);
  }
  // ip(8) sets the TAP's address and link state; a non-root process hands capabilities to the
  // programs it runs only through its ambient set.
  if (uid !== 0 && !has("CapAmb")) {
    throw new DivsError(`divs up runs ip(8), which needs CAP_NET_ADMIN too: give it as an ambient capability (${HOW})`, ExitCode.notRoot);
  }
  if (!tunOpenable) {
    throw new DivsError(`uid ${uid} cannot open /dev/net/tun for reading and writing: make it mode 0666, the usual (${HOW})`, ExitCode.notRoot);
  }
}
