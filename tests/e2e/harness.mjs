// A throw-away switch in network namespaces for end-to-end tests: an underlay bridge in its own
// namespace (198.19.0.0/24), one namespace per node with a veth onto it, the real built CLI in each,
// overlay 198.18.0.0/24 on the TAPs. Everything is named with the testbed's prefix (default PREFIX)
// and removed by name or pid. Nodes get the testbed's network key through DIVS_KEY.
import { execFile, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
export const CLI = join(root, "build/divs.cjs");
export const PREFIX = "divs-t-";
export const PORT = 4790;

/** Membership timings every e2e node runs with (written as its --config file, docs/config.md). */
export const MEMBERSHIP = { probe_interval_ms: 500, probe_timeout_ms: 250, suspicion_mult: 4, suspicion_max_timeout_mult: 6, gossip_interval_ms: 200 };

/**
 * How long the others may take to declare a killed node dead in a switch of `nodes` running membership
 * timings `m` (MEMBERSHIP unless given; docs/config.md names): a full probe round
 * (every member is probed once per `nodes` intervals) and its timeout, the longest suspicion timeout
 * (Lifeguard starts at suspicionMaxTimeoutMult * suspicionMult * max(1, log10 n) * probe interval),
 * then a second of gossip.
 */
export function deadBoundMs(nodes, m = MEMBERSHIP) {
  return nodes * m.probe_interval_ms + m.probe_timeout_ms +
    m.suspicion_max_timeout_mult * m.suspicion_mult * Math.max(1, Math.log10(nodes)) * m.probe_interval_ms + 1000;
}

/** Why these tests cannot run here, or null. Callers skip loudly with it. */
export function skipReason() {
  if (process.getuid?.() !== 0) return "SKIPPED: end-to-end tests need root (network namespaces, TAP)";
  if (!existsSync("/dev/net/tun")) return "SKIPPED: no /dev/net/tun";
  if (!existsSync(CLI)) return `SKIPPED: ${CLI} is missing: run npm run build first`;
  return null;
}

export async function sh(cmd, ...args) {
  const { stdout } = await run(cmd, args, { maxBuffer: 16 << 20 });
  return stdout;
}

/** Polls `check` (returning a truthy value when done) until `timeoutMs`; throws with `what` and the last value. */
export async function waitFor(what, timeoutMs, check, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export class Testbed {
  nodes = new Map(); // name -> { ns, underlay, overlay, proc, log (stdout and stderr), stderr, control, stateDir }
  /** The switch's network key (`divs keygen`), handed to nodes in DIVS_KEY. */
  key = null;

  constructor({ prefix = PREFIX } = {}) {
    this.prefix = prefix;
    this.underlayNs = `${prefix}ul`;
  }

  async setup(names) {
    await this.teardown(); // leftovers of a killed run, by name
    this.key = (await sh(process.execPath, CLI, "keygen")).trim();
    const UNDERLAY_NS = this.underlayNs;
    await sh("ip", "netns", "add", UNDERLAY_NS);
    await sh("ip", "-n", UNDERLAY_NS, "link", "add", "br0", "type", "bridge");
    await sh("ip", "-n", UNDERLAY_NS, "link", "set", "br0", "up");
    let i = 0;
    for (const name of names) {
      i++;
      const ns = `${this.prefix}${name}`;
      await sh("ip", "netns", "add", ns);
      await sh("ip", "-n", ns, "link", "set", "lo", "up");
      await sh("ip", "-n", UNDERLAY_NS, "link", "add", `v${i}`, "type", "veth", "peer", "name", "ul0", "netns", ns);
      await sh("ip", "-n", UNDERLAY_NS, "link", "set", `v${i}`, "master", "br0", "up");
      await sh("ip", "-n", ns, "addr", "add", `198.19.0.${i}/24`, "dev", "ul0");
      await sh("ip", "-n", ns, "link", "set", "ul0", "up");
      this.nodes.set(name, {
        ns, underlay: `198.19.0.${i}`, overlay: `198.18.0.${i}`, proc: null, log: "", control: `/run/divs/${ns}.sock`, stateDir: `/run/divs/${ns}.state`,
      });
    }
  }

  /**
   * Two nodes on two underlay subnets with a router between them, instead of setup()'s bridge: the router
   * namespace `${prefix}r` (`this.routerNs`) forwards between its veth `u1` (198.19.1.254/24, toward
   * `left` at 198.19.1.1) and `u2` (198.19.2.254/24, toward `right` at 198.19.2.1); each node routes the
   * other subnet through it. Overlay addresses as in setup(). Lower `u2`'s MTU to narrow the path.
   */
  async setupRouted(left, right) {
    await this.teardown();
    this.key = (await sh(process.execPath, CLI, "keygen")).trim();
    this.routerNs = `${this.prefix}r`;
    await sh("ip", "netns", "add", this.routerNs);
    await sh("ip", "-n", this.routerNs, "link", "set", "lo", "up");
    await sh("ip", "netns", "exec", this.routerNs, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
    for (const [k, name] of [left, right].entries()) {
      const i = k + 1;
      const ns = `${this.prefix}${name}`;
      await sh("ip", "netns", "add", ns);
      await sh("ip", "-n", ns, "link", "set", "lo", "up");
      await sh("ip", "-n", this.routerNs, "link", "add", `u${i}`, "type", "veth", "peer", "name", "ul0", "netns", ns);
      await sh("ip", "-n", this.routerNs, "addr", "add", `198.19.${i}.254/24`, "dev", `u${i}`);
      await sh("ip", "-n", this.routerNs, "link", "set", `u${i}`, "up");
      await sh("ip", "-n", ns, "addr", "add", `198.19.${i}.1/24`, "dev", "ul0");
      await sh("ip", "-n", ns, "link", "set", "ul0", "up");
      await sh("ip", "-n", ns, "route", "add", "198.19.0.0/16", "via", `198.19.${i}.254`);
      this.nodes.set(name, {
        ns, underlay: `198.19.${i}.1`, overlay: `198.18.0.${i}`, proc: null, log: "", control: `/run/divs/${ns}.sock`,
        stateDir: `/run/divs/${ns}.state`,
      });
    }
  }

  node(name) {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /**
   * Starts `divs up` in the node's namespace; `join` names the node to join through; `key` overrides the
   * testbed's; `runtime: "deno"` runs it under Deno (`divs up --runtime deno`: the CLI becomes deno, same pid);
   * `offload: "off"` turns the TAP's TCP segmentation offload off (docs/host.md "Offloads"); `listen`
   * and `advertise` ("host:port", "[v6]:port") replace the node's underlay address:PORT; `extra`: more
   * `divs up` arguments; `env`: more environment variables.
   */
  start(name, {
    join = null, mac = null, config = null, address = null, key = this.key, runtime = null, offload = null, listen = null, advertise = null,
    extra = [], env = {},
  } = {}) {
    const n = this.node(name);
    const args = [
      "netns", "exec", n.ns, process.execPath, CLI, "up", "--name", name, "--listen", listen ?? `${n.underlay}:${PORT}`,
      "--address", address ?? `${n.overlay}/24`, "--control", n.control, "--state-dir", n.stateDir,
    ];
    if (advertise) args.push("--advertise", advertise);
    // `join`: a node of this bed by name, or a literal "host:port".
    if (join) args.push("--join", join.includes(":") ? join : `${this.node(join).underlay}:${PORT}`);
    if (mac) args.push("--mac", mac);
    if (config) args.push("--config", config);
    if (runtime) args.push("--runtime", runtime);
    if (offload) args.push("--offload", offload);
    args.push(...extra);
    n.log = "";
    n.stderr = "";
    n.proc = spawn("ip", args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env, DIVS_KEY: key } });
    n.proc.stdout.on("data", (d) => (n.log += d));
    n.proc.stderr.on("data", (d) => {
      n.log += d;
      n.stderr += d;
    });
    n.exited = new Promise((resolve) => n.proc.once("exit", (code, signal) => resolve({ code, signal })));
    return n;
  }

  async stop(name, signal = "SIGTERM") {
    const n = this.node(name);
    if (!n.proc) return null;
    n.proc.kill(signal);
    const result = await n.exited;
    n.proc = null;
    return result;
  }

  async ctl(name, cmd, ...args) {
    return JSON.parse(await sh(process.execPath, CLI, cmd, ...args, "--json", "--control", this.node(name).control));
  }

  /** Alive members (names) `name` sees, itself included. */
  async aliveNames(name) {
    return (await this.ctl(name, "members")).filter((m) => m.state === "alive").map((m) => m.name).sort();
  }

  async ping(from, to, count = 1) {
    await sh("ip", "netns", "exec", this.node(from).ns, "ping", "-c", String(count), "-W", "1", "-i", "0.2", this.node(to).overlay);
    return true;
  }

  /** In the node's namespace. */
  exec(name, cmd, ...args) {
    return sh("ip", "netns", "exec", this.node(name).ns, cmd, ...args);
  }

  async teardown() {
    for (const [name, node] of this.nodes) {
      await this.stop(name, "SIGKILL").catch(() => {});
      rmSync(node.control, { force: true }); // a killed node leaves its socket file
      rmSync(node.stateDir, { recursive: true, force: true });
    }
    const list = await sh("ip", "netns", "list");
    for (const line of list.split("\n")) {
      const ns = line.split(" ")[0];
      if (!ns.startsWith(this.prefix)) continue;
      const pids = (await sh("ip", "netns", "pids", ns)).split("\n").filter(Boolean);
      for (const pid of pids) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {}
      }
      await sh("ip", "netns", "del", ns).catch(() => {});
    }
  }
}
