// The CLI's commands (citty), runtime-agnostic: each runtime's entry point passes its Platform.
import { defineCommand, type CommandDef } from "citty";
import { parseHostPort } from "./address.ts";
import { parseCidr } from "./cidr.ts";
import { parseConfig } from "./config.ts";
import { defaultControlPath, type Status } from "./control.ts";
import type { MacEntry, Member } from "./dumps.ts";
import { usageError } from "./errors.ts";
import { formatMacs, formatMembers, formatStatus } from "./format.ts";
import { DEFAULT_TAP_MTU } from "./mtu.ts";
import type { Platform } from "./platform.ts";
import { parseJoin } from "./token.ts";
import { runNode } from "./up.ts";

export const DEFAULT_PORT = 4790;
export const DEFAULT_TAP = "divs0";

const controlArgs = {
  tap: { type: "string", description: "TAP name of the node to ask", default: DEFAULT_TAP },
  control: { type: "string", description: "control socket path (default /run/divs/<tap>.sock)" },
  json: { type: "boolean", description: "print JSON instead of a table", default: false },
} as const;

function controlPath(args: { tap: string; control?: string }): string {
  return args.control ?? defaultControlPath(args.tap);
}

function int(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw usageError(`bad ${flag} "${text}": expected ${min}..${max}`);
  return n;
}

/** The exit code a command resolved with; the entry point exits with it. */
export const exitState = { code: 0 };

export function commands(platform: Platform, version: string): Record<string, CommandDef<any>> {
  const up = defineCommand({
    meta: { name: "up", description: `Start a node: create a switch (prints a join token) or join one.` },
    args: {
      join: { type: "string", description: "join token, or host:port of any member" },
      listen: { type: "string", description: "UDP host:port for the underlay", default: `0.0.0.0:${DEFAULT_PORT}` },
      advertise: { type: "string", description: "host:port other nodes reach this one at (default: the listen address, or a guess when 0.0.0.0)" },
      tap: { type: "string", description: "TAP device name", default: DEFAULT_TAP },
      address: { type: "string", description: "IPv4 CIDR for the TAP, like 198.18.0.1/24" },
      mac: { type: "string", description: "MAC address for the TAP (default: kernel-chosen)" },
      mtu: { type: "string", description: "TAP MTU (the default fits a 1500-byte underlay, docs/host.md)", default: String(DEFAULT_TAP_MTU) },
      config: { type: "string", description: "JSON file of core config keys (docs/config.md)" },
      name: { type: "string", description: "node name (default: host name)" },
      control: { type: "string", description: "control socket path (default /run/divs/<tap>.sock)" },
    },
    async run({ args }) {
      const listen = parseListen(args.listen);
      exitState.code = await runNode(platform, {
        listen,
        advertise: args.advertise ? parseListen(args.advertise) : null,
        join: args.join ? parseJoin(args.join, DEFAULT_PORT) : null,
        tap: args.tap,
        address: args.address ? parseCidr(args.address) : null,
        mac: args.mac ? parseMac(args.mac) : null,
        mtu: int(args.mtu, "--mtu", 576, 65000),
        config: args.config ? parseConfig(await platform.readTextFile(args.config), args.config) : new Map(),
        name: args.name ?? platform.hostname(),
        control: controlPath(args),
        version,
      });
    },
  });

  const status = defineCommand({
    meta: { name: "status", description: "Show a running node's identity, members and counters." },
    args: controlArgs,
    async run({ args }) {
      const s = (await platform.controlRequest(controlPath(args), "status")) as Status;
      platform.print(args.json ? JSON.stringify(s, null, 2) : formatStatus(s));
    },
  });

  const members = defineCommand({
    meta: { name: "members", description: "List the members a running node knows." },
    args: controlArgs,
    async run({ args }) {
      const list = (await platform.controlRequest(controlPath(args), "members")) as Member[];
      platform.print(args.json ? JSON.stringify(list, null, 2) : formatMembers(list));
    },
  });

  const macs = defineCommand({
    meta: { name: "macs", description: "Show a running node's MAC table (owner names from its member list)." },
    args: controlArgs,
    async run({ args }) {
      const path = controlPath(args);
      const list = (await platform.controlRequest(path, "macs")) as MacEntry[];
      if (args.json) {
        platform.print(JSON.stringify(list, null, 2));
        return;
      }
      const names = new Map<string, string>();
      for (const m of (await platform.controlRequest(path, "members")) as Member[]) names.set(m.id, m.name);
      platform.print(formatMacs(list, names));
    },
  });

  const versionCmd = defineCommand({
    meta: { name: "version", description: "Print the version." },
    run() {
      platform.print(`divs ${version} (${platform.runtime})`);
    },
  });

  return { up, status, members, macs, version: versionCmd };
}

function parseListen(text: string) {
  try {
    return parseHostPort(text, DEFAULT_PORT);
  } catch (e) {
    throw usageError((e as Error).message);
  }
}

function parseMac(text: string): string {
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(text)) throw usageError(`bad MAC "${text}": expected 02:00:00:00:00:01`);
  if (parseInt(text.slice(0, 2), 16) & 1) throw usageError(`bad MAC "${text}": a multicast MAC cannot be a station`);
  return text.toLowerCase();
}

/** citty accepts any flag; a mistyped one must not start a node with defaults. Returns the bad flag or null. */
export function unknownFlag(command: CommandDef<any> | undefined, rawArgs: string[]): string | null {
  const defs = (command?.args ?? {}) as Record<string, { type?: string }>;
  for (const arg of rawArgs.slice(1)) {
    if (!arg.startsWith("-")) continue;
    const name = arg.replace(/^--?(no-)?/, "").split("=")[0];
    if (!(name in defs)) return arg;
  }
  return null;
}
