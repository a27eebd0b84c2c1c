// DHCP clients for the end-to-end tests (docs/dhcp.md): busybox udhcpc once (-q) or as a daemon that
// configures its address and renews on SIGUSR1, in client namespaces behind a bridge on a node's TAP.
import { execFile, spawn } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { sh } from "./harness.mjs";

/** udhcpc once on `dev` in `ns` (-q: quit with the lease; -s /bin/true: configure nothing); returns {ip, ms, out}. */
export async function udhcpcOnce(ns, dev, requested = null) {
  const args = ["netns", "exec", ns, "udhcpc", "-i", dev, "-f", "-q", "-n", "-t", "3", "-T", "1", "-s", "/bin/true"];
  if (requested) args.push("-r", requested);
  const t0 = performance.now();
  // udhcpc reports on stderr, and exits 1 without a lease (-n): keep both streams either way.
  const out = await new Promise((resolve) => {
    execFile("ip", args, { timeout: 10_000 }, (_e, stdout, stderr) => resolve(`${stdout}${stderr}`));
  });
  const ms = performance.now() - t0;
  const m = /lease of (\d+\.\d+\.\d+\.\d+) obtained/.exec(out);
  return { ip: m ? m[1] : null, ms, out };
}

/** A bridge `brc` in the node's namespace with the node's TAP on it (again after a restart made a new TAP). */
export async function bridgeTap(bed, name) {
  const ns = bed.node(name).ns;
  await sh("ip", "-n", ns, "link", "add", "brc", "type", "bridge").catch(() => {}); // there already
  await sh("ip", "-n", ns, "link", "set", "brc", "up");
  await sh("ip", "-n", ns, "link", "set", "divs0", "master", "brc");
}

/** A client namespace `ns` with `eth0` (MAC `mac`) on the bridge of node `name`; its veth end there is `port`. */
export async function addClient(bed, name, ns, port, mac) {
  await sh("ip", "netns", "add", ns);
  await sh("ip", "-n", bed.node(name).ns, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns);
  await sh("ip", "-n", bed.node(name).ns, "link", "set", port, "master", "brc", "up");
  await sh("ip", "-n", ns, "link", "set", "eth0", "address", mac);
  await sh("ip", "-n", ns, "link", "set", "eth0", "up");
}

/** The udhcpc script: the address goes on the interface, so renewals go unicast from it (RFC 2131 4.4.5). */
export function writeUdhcpcScript(path) {
  writeFileSync(path, `#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface" ;;
  bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface" ;;
esac
`);
  chmodSync(path, 0o755);
}

/** udhcpc as a daemon on eth0 in `ns`: `leases` lists every "lease of IP obtained" in order; renew() sends SIGUSR1. */
export class UdhcpcDaemon {
  out = "";
  constructor(ns, script) {
    this.ns = ns;
    this.proc = spawn("ip", ["netns", "exec", ns, "udhcpc", "-i", "eth0", "-f", "-t", "20", "-T", "1", "-A", "1", "-s", script],
      { stdio: ["ignore", "pipe", "pipe"] });
    this.proc.stdout.on("data", (d) => (this.out += d));
    this.proc.stderr.on("data", (d) => (this.out += d));
  }

  get leases() {
    return [...this.out.matchAll(/lease of (\d+\.\d+\.\d+\.\d+) obtained/g)].map((m) => m[1]);
  }

  /** udhcpc itself: `ip netns exec` execs it, so the child's pid is udhcpc's. */
  renew() {
    this.proc.kill("SIGUSR1");
  }

  stop() {
    this.proc.kill("SIGKILL");
  }
}
