// `divs demo`: a whole switch on one machine. N network namespaces joined by an underlay bridge that
// lives in its own namespace (198.19.0.0/24), a real `divs up` in each (overlay 198.18.0.0/24), pings
// between every pair, then the members and MAC tables. Removes everything it made (by name and pid)
// when it ends or on Ctrl-C, unless --keep; `divs demo --clean` removes a kept one.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { defineCommand } from "citty";
import type { MemberRow, Status } from "../engine/control.ts";
import type { MacEntry, Member } from "../core/records.ts";
import { DivsError, ExitCode } from "../base/errors.ts";
import { formatMacs, formatMembers } from "../cli/format.ts";
import type { Platform } from "../engine/platform.ts";
import { findDeno } from "./deno-runtime.ts";
import { formatKey, formatKeyId, generateKey, keyIdOf } from "../secure/index.ts";

const PREFIX = "divs-demo-";
const UNDERLAY_NS = `${PREFIX}ul`;
const LOG_DIR = "/tmp/divs-demo";
const PORT = 4790;
const CONVERGE_MS = 20_000;
const POLL_MS = 200;

interface DemoNode {
  name: string;
  ns: string;
  underlay: string;
  overlay: string;
  control: string;
  proc: ChildProcess | null;
}

function sh(...args: string[]): string {
  return execFileSync(args[0], args.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns true or `timeoutMs` passes; then throws naming `what`. */
async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      // not ready yet
    }
    await sleep(POLL_MS);
  }
  throw new DivsError(`demo: timed out waiting for ${what}`, ExitCode.failure);
}

/** Kills what runs in our namespaces (by pid, only namespaces with our prefix) and deletes them. */
function clean(): void {
  const pids: number[] = [];
  for (const line of sh("ip", "netns", "list").split("\n")) {
    const ns = line.split(" ")[0];
    if (ns.startsWith(PREFIX)) pids.push(...sh("ip", "netns", "pids", ns).split("\n").filter(Boolean).map(Number));
  }
  for (const pid of pids) signal(pid, "SIGTERM");
  // Nodes leave and close their TAPs on SIGTERM; give them a moment, then make sure.
  const deadline = Date.now() + 2000;
  while (pids.some((p) => signal(p, 0)) && Date.now() < deadline) execFileSync("sleep", ["0.05"]);
  for (const pid of pids) signal(pid, "SIGKILL");
  // A node still there at the deadline was killed: remove the control sockets left behind.
  for (const f of fs.existsSync("/run/divs") ? fs.readdirSync("/run/divs") : []) {
    if (f.startsWith(PREFIX) && f.endsWith(".sock")) fs.rmSync(`/run/divs/${f}`, { force: true });
  }
  for (const line of sh("ip", "netns", "list").split("\n")) {
    const ns = line.split(" ")[0];
    if (ns.startsWith(PREFIX)) sh("ip", "netns", "del", ns);
  }
}

function signal(pid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

function createNetwork(count: number): DemoNode[] {
  sh("ip", "netns", "add", UNDERLAY_NS);
  sh("ip", "-n", UNDERLAY_NS, "link", "add", "br0", "type", "bridge");
  sh("ip", "-n", UNDERLAY_NS, "link", "set", "br0", "up");
  const nodes: DemoNode[] = [];
  for (let i = 1; i <= count; i++) {
    const ns = `${PREFIX}${i}`;
    sh("ip", "netns", "add", ns);
    sh("ip", "-n", ns, "link", "set", "lo", "up");
    sh("ip", "-n", UNDERLAY_NS, "link", "add", `v${i}`, "type", "veth", "peer", "name", "ul0", "netns", ns);
    sh("ip", "-n", UNDERLAY_NS, "link", "set", `v${i}`, "master", "br0", "up");
    sh("ip", "-n", ns, "addr", "add", `198.19.0.${i}/24`, "dev", "ul0");
    sh("ip", "-n", ns, "link", "set", "ul0", "up");
    nodes.push({
      name: `node${i}`, ns, underlay: `198.19.0.${i}`, overlay: `198.18.0.${i}`,
      control: `/run/divs/${ns}.sock`, proc: null,
    });
  }
  return nodes;
}

/** `key` reaches the nodes through DIVS_KEY, never their command line. */
function startNode(node: DemoNode, seed: DemoNode | null, detached: boolean, key: string, runtime: string): void {
  const args = [
    "netns", "exec", node.ns, process.execPath, process.argv[1], "up", "--name", node.name,
    "--listen", `${node.underlay}:${PORT}`, "--address", `${node.overlay}/24`, "--control", node.control,
    "--runtime", runtime,
  ];
  if (seed) args.push("--join", `${seed.underlay}:${PORT}`);
  const log = fs.openSync(`${LOG_DIR}/${node.name}.log`, "w");
  node.proc = spawn("ip", args, { stdio: ["ignore", log, log], detached, env: { ...process.env, DIVS_KEY: key } });
  fs.closeSync(log);
  if (detached) node.proc.unref();
}

export function demoCommand(platform: Platform) {
  return defineCommand({
    meta: { name: "demo", description: "Run a switch of N nodes in network namespaces on this machine (root)." },
    args: {
      nodes: { type: "string", description: "how many nodes (2-20)", default: "3" },
      keep: { type: "boolean", description: "leave the switch running (remove it later with --clean)", default: false },
      clean: { type: "boolean", description: "remove a switch left by --keep", default: false },
      runtime: { type: "string", description: "node, deno, or mixed (odd nodes on Node, even ones on Deno)", default: "node" },
    },
    async run({ args }) {
      platform.checkPrivileges();
      if (args.clean) {
        clean();
        platform.print("removed the demo namespaces");
        return;
      }
      const count = Number(args.nodes);
      if (!Number.isInteger(count) || count < 2 || count > 20) {
        throw new DivsError(`bad --nodes "${args.nodes}": expected 2..20`, ExitCode.usage);
      }
      if (!["node", "deno", "mixed"].includes(args.runtime)) {
        throw new DivsError(`bad --runtime "${args.runtime}": expected node, deno or mixed`, ExitCode.usage);
      }
      if (args.runtime !== "node" && findDeno() === null) {
        throw new DivsError("--runtime deno|mixed: no deno binary (npm install deno, put deno on PATH, or set DIVS_DENO)", ExitCode.failure);
      }
      clean(); // leftovers of a killed demo
      fs.mkdirSync(LOG_DIR, { recursive: true });
      let finished = false;
      const onSignal = () => {
        if (finished) return;
        finished = true;
        platform.printError("interrupted: removing the demo");
        clean();
        process.exit(130);
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      try {
        await runDemo(platform, count, args.keep, args.runtime);
      } finally {
        finished = true;
        if (!args.keep) clean();
      }
    },
  });
}

/** The runtime of node i (1-based) for `--runtime`. */
function runtimeOf(runtime: string, i: number): string {
  return runtime === "mixed" ? (i % 2 === 0 ? "deno" : "node") : runtime;
}

async function runDemo(platform: Platform, count: number, keep: boolean, runtime: string): Promise<void> {
  const step = (m: string) => platform.print(`==> ${m}`);
  step(`creating ${count} namespaces (${PREFIX}1..${count}) on an underlay bridge in ${UNDERLAY_NS}`);
  const nodes = createNetwork(count);
  const key = generateKey(platform.crypto);
  step(`network key id ${formatKeyId(keyIdOf(platform.crypto, key))}, given to every node in DIVS_KEY`);
  step(`starting ${nodes[0].name} (creates the switch), then the others (join via ${nodes[0].underlay}:${PORT})`);
  step(`runtimes: ${nodes.map((n, i) => `${n.name} ${runtimeOf(runtime, i + 1)}`).join(", ")}`);
  startNode(nodes[0], null, keep, formatKey(key), runtimeOf(runtime, 1));
  await waitFor(`${nodes[0].name} to start`, CONVERGE_MS, async () => !!(await platform.controlRequest(nodes[0].control, "status")));
  nodes.slice(1).forEach((n, i) => startNode(n, nodes[0], keep, formatKey(key), runtimeOf(runtime, i + 2)));

  const started = Date.now();
  for (const n of nodes) {
    await waitFor(`${n.name} to see all ${count} members alive`, CONVERGE_MS, async () => {
      const members = (await platform.controlRequest(n.control, "members")) as Member[];
      return members.filter((m) => m.state === "alive").length === count;
    });
  }
  step(`every node sees ${count} alive members (${Date.now() - started} ms)`);

  for (const a of nodes) {
    for (const b of nodes) {
      if (a === b) continue;
      await waitFor(`ping ${a.name} -> ${b.name}`, CONVERGE_MS, () => {
        const out = sh("ip", "netns", "exec", a.ns, "ping", "-c", "1", "-W", "1", b.overlay);
        const rtt = /time=([\d.]+) ms/.exec(out)?.[1];
        platform.print(`    ping ${a.name} (${a.overlay}) -> ${b.name} (${b.overlay}): ${rtt} ms`);
        return true;
      });
    }
  }

  const first = nodes[0];
  const members = (await platform.controlRequest(first.control, "members")) as MemberRow[];
  const names = new Map(members.map((m) => [m.id, m.name]));
  step(`members, as ${first.name} sees them`);
  platform.print(formatMembers(members));
  for (const n of nodes) {
    step(`MAC table of ${n.name}`);
    platform.print(formatMacs((await platform.controlRequest(n.control, "macs")) as MacEntry[], names));
  }
  const status = (await platform.controlRequest(first.control, "status")) as Status;
  step(`${first.name}: ${status.counters.frames_unicast ?? 0} frames unicast, ${status.counters.frames_flooded ?? 0} flooded`);

  if (keep) {
    platform.print(
      [
        "",
        "The switch keeps running. Try:",
        `  ip netns exec ${nodes[0].ns} ping ${nodes[1].overlay}`,
        `  ${process.argv[1]} members --control ${nodes[0].control}`,
        `  ${process.argv[1]} macs --control ${nodes[1].control}`,
        `Logs: ${LOG_DIR}/. Remove it all with: ${process.argv[1]} demo --clean`,
      ].join("\n"),
    );
  } else {
    step("done: removing the namespaces");
  }
}
