// The CLI's commands (citty), runtime-agnostic: each runtime's entry point passes its Platform.
import { type ArgsDef, defineCommand, type CommandDef } from "citty";
import { parseHostPort } from "../net/address.ts";
import { type Cidr, parseCidr } from "../net/cidr.ts";
import { CONFIG_KEYS, type CoreConfig, parseConfig } from "../core/config.ts";
import {
  type ControlCommand, defaultControlPath, KEY_OPS, type KeyInfo, type KeyOp, type MemberRow, type PingReply, type RemoveReply, type Status,
} from "../engine/control.ts";
import type { MacEntry, Member } from "../core/records.ts";
import { DEFAULT_DHCP_LEASE_S, DEFAULT_DHCP_PREFIX, type DhcpLease, dhcpConfig } from "../engine/dhcp.ts";
import { ExitCode, usageError } from "../base/errors.ts";
import { formatKeys, formatLeases, formatMacs, formatMembers, formatPairPaths, formatPing, formatRemove, formatStatus } from "./format.ts";
import type { PairPaths } from "../engine/pair-paths.ts";
import { DEFAULT_LATENCY_WAKE_MS } from "../engine/latency-wake.ts";
import { DEFAULT_LOG, LOG_LEVELS, parseLogFormat, parseLogLevel } from "../base/log.ts";
import { isLoopback } from "../ops/http-get.ts";
import { DEFAULT_METRICS_PORT } from "../ops/metrics.ts";
import { DEFAULT_TAP_MTU } from "../core/mtu.ts";
import type { Platform } from "../engine/platform.ts";
import { defaultStateDir } from "../state/state-dir.ts";
import { DEFAULT_RELAY_CAP_BYTES_PER_SECOND, formatKey, generateKey } from "../secure/index.ts";
import { REMOVAL_STEP_MS } from "../secure/removal.ts";
import { explicitKey, FROM_STDIN, joinText, KEY_ENV, keyFrom, TOKEN_ENV } from "./secrets.ts";
import { parseJoin } from "../secure/token.ts";
import { uiOptions } from "../ops/ui.ts";
import type { MetricsOptions } from "../engine/node-options.ts";
import { DEFAULT_INVITE_LIFETIME_S, type InviteReply, parseLifetime } from "../engine/invitations.ts";
import { CONFIG_FILE_FLAG, configFilePath, envNameOf, parseConfigFile, resolveOptions } from "./up-config.ts";

export const DEFAULT_PORT = 4790;
export const DEFAULT_TAP = "divs0";
const DEFAULT_RELAY_CAP_MBIT = (DEFAULT_RELAY_CAP_BYTES_PER_SECOND * 8) / 1_000_000;
/** `divs ping --count` at most. */
const MAX_PING_COUNT = 1000;
/** `divs remove` waits for both steps of the removal (REMOVAL_STEP_MS each) and some slack. */
const REMOVE_TIMEOUT_MS = 2 * REMOVAL_STEP_MS + 5000;
const keyFileArg = {
  type: "string", description: `file holding the network key (\`divs keygen\`); or set ${KEY_ENV}`, valueHint: "PATH",
} as const;

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

function onOff(text: string, flag: string): boolean {
  if (text === "on" || text === "off") return text === "on";
  throw usageError(`bad ${flag} "${text}": expected on or off`);
}

/** `--arp-proxy on|off`, when given, is the core key arp_proxy (over a config file's). */
function withArpProxy(config: CoreConfig, flag: string | undefined): CoreConfig {
  if (flag !== undefined) config.set(CONFIG_KEYS.arp_proxy, onOff(flag, "--arp-proxy") ? 1 : 0);
  return config;
}

/** The exit code a command resolved with; the entry point exits with it. */
export const exitState = { code: 0 };

export function commands(platform: Platform, version: string): Record<string, CommandDef<any>> {
  const up = defineCommand({
    meta: { name: "up", description: `Start a node: create a switch or join one (divs invite on a member prints an invitation).` },
    args: {
      join: {
        type: "string",
        description: `an invitation (divs invite), host:port ([v6]:port) of any member, or ${FROM_STDIN}: a token from standard input; or set ${TOKEN_ENV}`,
      },
      "join-file": { type: "string", description: "file holding a join token or invitation (divs token, divs invite)", valueHint: "PATH" },
      listen: { type: "string", description: "UDP host:port for the underlay: [::] takes IPv4 and IPv6, 0.0.0.0 IPv4 only", default: `[::]:${DEFAULT_PORT}` },
      advertise: { type: "string", description: "host:port other nodes reach this one at (default: the listen address, or a guess when [::] or 0.0.0.0)" },
      tap: { type: "string", description: "TAP device name", default: DEFAULT_TAP },
      address: { type: "string", description: "IPv4 CIDR for the TAP, like 198.18.0.1/24, or dhcp: a lease from the switch's pool (needs --dhcp; docs/dhcp.md)" },
      mac: { type: "string", description: "MAC address for the TAP (default: kernel-chosen)" },
      mtu: { type: "string", description: "TAP MTU (the default fits a 1500-byte underlay, docs/host.md)", default: String(DEFAULT_TAP_MTU) },
      offload: { type: "string", description: "on or off: TCP segmentation offload on the TAP: 64 KB segments, cut to the path MTU by the switch (docs/host.md)", default: "on" },
      "latency-wake": {
        type: "string",
        description: "ms: while frames flow, wake at least this often, so a packet after a pause is not slowed by a sleeping CPU (0: off, docs/performance.md)",
        default: String(DEFAULT_LATENCY_WAKE_MS),
      },
      "relay-cap": {
        type: "string",
        description: "Mbit/s: the most this node relays for one pair of members that cannot reach each other directly (0: never relay)",
        default: String(DEFAULT_RELAY_CAP_MBIT),
      },
      "arp-proxy": { type: "string", description: "on or off: answer ARP and Neighbor Solicitations for addresses bound behind other nodes (default on; off still learns them, docs/arp.md)" },
      dhcp: { type: "string", description: "serve DHCP to clients behind the TAP from this pool, START-END (the same on every node; docs/dhcp.md)", valueHint: "START-END" },
      "dhcp-lease": { type: "string", description: "DHCP lease time, s", default: String(DEFAULT_DHCP_LEASE_S) },
      "dhcp-router": { type: "string", description: "router option (3) given to DHCP clients", valueHint: "IP" },
      "dhcp-dns": { type: "string", description: "DNS servers option (6) given to DHCP clients", valueHint: "IP[,IP]" },
      "dhcp-prefix": { type: "string", description: "prefix length of the subnet mask given to DHCP clients", default: String(DEFAULT_DHCP_PREFIX) },
      config: { type: "string", description: "JSON file of core config keys (docs/config.md)" },
      name: { type: "string", description: "node name (default: host name)" },
      control: { type: "string", description: "control socket path (default /run/divs/<tap>.sock)" },
      "state-dir": { type: "string", description: "directory for what outlives a restart (default /var/lib/divs/<tap>, docs/state.md)", valueHint: "DIR" },
      "key-file": keyFileArg,
      ui: { type: "string", description: "serve the live status page on HOST:PORT (PORT alone: 127.0.0.1); off loopback it needs a token (docs/ui.md)", valueHint: "HOST:PORT" },
      "ui-token-file": { type: "string", description: "file holding the status page's token (default off loopback: a new one, printed)", valueHint: "PATH" },
      metrics: { type: "string", description: `serve Prometheus metrics on GET /metrics at this address, like 127.0.0.1:${DEFAULT_METRICS_PORT}; off loopback it needs --metrics-token-file (docs/metrics.md)`, valueHint: "HOST:PORT" },
      "metrics-token-file": { type: "string", description: "file holding the token a scraper must send (Authorization: Bearer)", valueHint: "PATH" },
      "log-format": { type: "string", description: "text, or json: one object a line with time, level, message and fields (docs/host.md \"Logs\")", default: DEFAULT_LOG.format },
      "log-level": { type: "string", description: `the least important lines logged: ${LOG_LEVELS.join(", ")}`, default: DEFAULT_LOG.level },
      runtime: {
        type: "string",
        description: "node or deno: run this node under Deno (deno run with the permissions docs/deno.md lists)",
        default: platform.runtime.split(" ")[0],
      },
      [CONFIG_FILE_FLAG]: {
        type: "string",
        description: `JSON file of divs up options by flag name, core keys under "core"; flags, then ${envNameOf("FLAG")} variables, win over it (docs/config.md)`,
        valueHint: "PATH",
      },
    },
    async run({ args: flags, rawArgs, cmd }) {
      const defs = cmd.args as ArgsDef;
      const file = configFilePath(flags, rawArgs, platform.env);
      const fileOptions = file === undefined ? null : parseConfigFile(await platform.readTextFile(file), file, defs);
      const args = resolveOptions(defs, flags, rawArgs, platform.env, fileOptions);
      // The Node entry point hands `--runtime deno` to Deno before this runs (host/node/deno-runtime.ts).
      if (args.runtime !== platform.runtime.split(" ")[0]) throw usageError(`--runtime ${args.runtime}: this is the ${platform.runtime} CLI`);
      const listen = parseListen(args.listen);
      const joinWith = await joinText(platform, args.join, args["join-file"]);
      const join = joinWith !== null ? parseJoin(joinWith, DEFAULT_PORT) : null;
      const given = await explicitKey(platform, args["key-file"]);
      let key: Uint8Array | null;
      if (join === null) {
        key = given ?? generateKey(platform.crypto); // a new switch, a new key
      } else if (join.invitation !== null) {
        if (given !== null) throw usageError(`an invitation brings the network key: drop --key-file/${KEY_ENV}`);
        key = null;
      } else if (join.key !== null) {
        if (given !== null && !sameBytes(given, join.key)) {
          throw usageError(`the key from --key-file/${KEY_ENV} is not the join token's key: give one of them`);
        }
        key = join.key;
      } else if (given !== null) {
        key = given;
      } else {
        throw usageError(`joining by host:port needs the network key: --key-file PATH or ${KEY_ENV} (or join with a token: divs token or divs invite on a member)`);
      }
      exitState.code = await platform.up({
        listen,
        advertise: args.advertise ? parseListen(args.advertise) : null,
        join: join?.seeds ?? [],
        key,
        invitation: join?.invitation ?? null,
        tap: args.tap,
        address: tapAddress(args.address, args.dhcp),
        mac: args.mac ? parseMac(args.mac) : null,
        mtu: int(args.mtu, "--mtu", 576, 65000),
        offload: onOff(args.offload, "--offload"),
        latencyWakeMs: int(args["latency-wake"], "--latency-wake", 0, 1000),
        relayCapMbit: int(args["relay-cap"], "--relay-cap", 0, 100_000),
        config: withArpProxy(new Map([
          ...(fileOptions?.core ?? new Map()),
          ...(args.config ? parseConfig(await platform.readTextFile(args.config), args.config) : new Map()),
          ...(args.dhcp ? dhcpConfig({
            pool: args.dhcp, leaseS: int(args["dhcp-lease"], "--dhcp-lease", 10, 30 * 86400), router: args["dhcp-router"],
            dns: args["dhcp-dns"], prefixLen: int(args["dhcp-prefix"], "--dhcp-prefix", 1, 30),
            tapMtu: int(args.mtu, "--mtu", 576, 65000), seed: join === null,
          }) : new Map()),
        ]), args["arp-proxy"]),
        name: args.name ?? platform.hostname(),
        control: controlPath(args),
        stateDir: args["state-dir"] ?? defaultStateDir(args.tap),
        metrics: await metricsOptions(platform, args.metrics, args["metrics-token-file"]),
        log: { format: parseLogFormat(args["log-format"]), level: parseLogLevel(args["log-level"]) },
        progress: args["log-format"] === "text" && platform.outputIsTerminal(),
        version,
        ui: await uiOptions(platform, args.ui, args["ui-token-file"]),
      });
    },
  });

  /** A command that asks the node one control request and prints the answer: `--json` as it is, else as `format` makes it. */
  const showCommand = <T>(name: ControlCommand, description: string, format: (answer: T) => string) => defineCommand({
    meta: { name, description },
    args: controlArgs,
    async run({ args }) {
      const answer = (await platform.controlRequest(controlPath(args), name)) as T;
      platform.print(args.json ? JSON.stringify(answer, null, 2) : format(answer));
    },
  });
  const status = showCommand<Status>("status", "Show a running node's identity, members and counters.", formatStatus);
  const members = showCommand<MemberRow[]>("members", "List the members a running node knows.", formatMembers);
  const paths = showCommand<PairPaths>(
    "paths", "Show the path between every pair of members (direct, or relayed by whom), as each member reports it.", formatPairPaths,
  );

  const ping = defineCommand({
    meta: {
      name: "ping",
      description: "Ping a member over the path its frames take (direct or through a relay); exit 0 when a pong came, 1 when none did.",
    },
    args: {
      name: { type: "positional", description: "member name (or node id)", required: true },
      count: { type: "string", description: "pings to send, one after the other's answer (each waits 1 s at most)", default: "1" },
      ...controlArgs,
    },
    async run({ args }) {
      const count = int(args.count, "--count", 1, MAX_PING_COUNT);
      const path = controlPath(args);
      const list = (await platform.controlRequest(path, "members")) as Member[];
      const member = list.find((m) => !m.self && (m.name === args.name || m.id === args.name));
      if (member === undefined) {
        const self = list.some((m) => m.self && (m.name === args.name || m.id === args.name));
        throw usageError(self ? `"${args.name}" is this node` : `no member named "${args.name}" (see divs members)`);
      }
      const replies: PingReply[] = [];
      for (let i = 0; i < count; i++) {
        const reply = (await platform.controlRequest(path, "ping", { id: member.id })) as PingReply;
        replies.push(reply);
        if (!args.json) platform.print(formatPing(reply));
      }
      if (args.json) platform.print(JSON.stringify(replies, null, 2));
      exitState.code = replies.some((r) => r.pong) ? ExitCode.ok : ExitCode.failure;
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

  const leases = defineCommand({
    meta: { name: "leases", description: "Show the DHCP leases a running node knows (docs/dhcp.md)." },
    args: controlArgs,
    async run({ args }) {
      const path = controlPath(args);
      const list = (await platform.controlRequest(path, "leases")) as DhcpLease[];
      if (args.json) {
        platform.print(JSON.stringify(list, null, 2));
        return;
      }
      const names = new Map<string, string>();
      for (const m of (await platform.controlRequest(path, "members")) as Member[]) names.set(m.id, m.name);
      platform.print(formatLeases(list, names));
    },
  });

  const keygen = defineCommand({
    meta: { name: "keygen", description: "Print a new random network key (for --key-file or DIVS_KEY)." },
    run() {
      platform.print(formatKey(generateKey(platform.crypto)));
    },
  });

  const key = defineCommand({
    meta: {
      name: "key",
      description: "A running node's keyring: list; install (key from --key-file, DIVS_KEY or stdin); use ID (make primary); remove ID.",
    },
    args: {
      action: { type: "positional", description: KEY_OPS.join(" | "), required: true },
      id: { type: "positional", description: "key id (8 hex digits) for use and remove", required: false },
      ...controlArgs,
      "key-file": keyFileArg,
    },
    async run({ args }) {
      const op = args.action as KeyOp;
      if (!KEY_OPS.includes(op)) throw usageError(`bad key action "${args.action}": expected ${KEY_OPS.join(", ")}`);
      const request: Record<string, unknown> = { op };
      if (op === "install") {
        const given = await explicitKey(platform, args["key-file"]);
        request.key = formatKey(given ?? keyFrom("standard input", await platform.readStdin()));
      } else if (op === "use" || op === "remove") {
        if (!args.id) throw usageError(`divs key ${op} needs a key id (see divs key list)`);
        request.id = args.id;
      }
      const list = (await platform.controlRequest(controlPath(args), "key", request)) as KeyInfo[];
      platform.print(args.json ? JSON.stringify(list, null, 2) : formatKeys(list));
    },
  });

  const invite = defineCommand({
    meta: {
      name: "invite",
      description: "Print a single-use invitation to join through a running node: its address, a one-time secret, an expiry; no key (divs up --join INVITATION).",
    },
    args: {
      expires: { type: "string", description: "how long it stays valid: 90s, 15m, 1h, 2d (at most 30d)", default: `${DEFAULT_INVITE_LIFETIME_S / 3600}h` },
      ...controlArgs,
    },
    async run({ args }) {
      const reply = (await platform.controlRequest(controlPath(args), "invite", { expiresS: parseLifetime(args.expires) })) as InviteReply;
      platform.print(args.json ? JSON.stringify(reply) : reply.invitation);
    },
  });

  const token = defineCommand({
    meta: {
      name: "token",
      description: `Print a reusable join token of a running node: it carries the network key (give it by --join-file or ${TOKEN_ENV}; divs invite makes a single-use one).`,
    },
    args: { ...controlArgs },
    async run({ args }) {
      const reply = (await platform.controlRequest(controlPath(args), "token")) as { token: string };
      platform.print(args.json ? JSON.stringify(reply) : reply.token);
    },
  });

  const remove = defineCommand({
    meta: {
      name: "remove",
      description: "Remove a member for good: ban its identity switch-wide and move every other member to a new network key it never sees (docs/security.md). Exit 1 when a member did not answer.",
    },
    args: {
      name: { type: "positional", description: "member name (or node id) to remove", required: true },
      ...controlArgs,
    },
    async run({ args }) {
      const reply = (await platform.controlRequest(controlPath(args), "remove", { name: args.name }, REMOVE_TIMEOUT_MS)) as RemoveReply;
      platform.print(args.json ? JSON.stringify(reply, null, 2) : formatRemove(reply));
      exitState.code = reply.missed.length === 0 ? ExitCode.ok : ExitCode.failure;
    },
  });

  const versionCmd = defineCommand({
    meta: { name: "version", description: "Print the version." },
    run() {
      platform.print(`divs ${version} (${platform.runtime})`);
    },
  });

  return { up, status, members, paths, macs, ping, leases, keygen, key, token, invite, remove, version: versionCmd };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** `--metrics HOST:PORT` (port default 9464) and `--metrics-token-file PATH`; null without --metrics. */
async function metricsOptions(platform: Platform, listen: string | undefined, tokenFile: string | undefined): Promise<MetricsOptions | null> {
  if (listen === undefined) {
    if (tokenFile !== undefined) throw usageError("--metrics-token-file needs --metrics HOST:PORT");
    return null;
  }
  const token = tokenFile === undefined ? null : (await platform.readTextFile(tokenFile)).trim();
  if (token === "") throw usageError(`${tokenFile}: empty token`);
  const address = parseAddress(listen, DEFAULT_METRICS_PORT);
  // Checked before anything is created (the server checks again when it listens).
  if (token === null && !isLoopback(address.host)) throw usageError(`--metrics ${listen} is not a loopback address: it needs --metrics-token-file`);
  return { listen: address, token };
}

function parseListen(text: string) {
  return parseAddress(text, DEFAULT_PORT);
}

function parseAddress(text: string, defaultPort: number) {
  try {
    return parseHostPort(text, defaultPort);
  } catch (e) {
    throw usageError((e as Error).message);
  }
}

/** `--address`: a CIDR, or "dhcp" on a node that serves the pool (it asks its own server). */
function tapAddress(text: string | undefined, pool: string | undefined): Cidr | "dhcp" | null {
  if (text !== "dhcp") return text ? parseCidr(text) : null;
  if (!pool) throw usageError("--address dhcp takes the address from the switch's pool: give --dhcp START-END too");
  return "dhcp";
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
    if (!arg.startsWith("-") || arg === FROM_STDIN) continue;
    const name = arg.replace(/^--?(no-)?/, "").split("=")[0];
    if (!(name in defs)) return arg;
  }
  return null;
}
