// The local control protocol between `divs status|members|macs|leases|key|ping` and a running node:
// one JSON request line, one JSON response line, then the server closes the connection. Both hosts
// serve it with answer() on the thread that runs the node.
//   request:  {"cmd":"status"|"members"|"macs"|"leases"}
//             {"cmd":"key","op":"list"|"install"|"use"|"remove","key"?:"<key text>","id"?:"<8 hex>"}
//             {"cmd":"ping","id":"<16 hex node id>"}: one ping, answered when its pong came or timed out
//             {"cmd":"paths"}: every member's path to each other member, as each reports it (pair-paths.ts)
//             {"cmd":"token"}: {"token": a reusable join token, which carries the primary network key}
//             {"cmd":"invite","expiresS":N}: {"invitation": single-use token, "expires": ISO time} (no key in it)
//             {"cmd":"remove","name":"<member name or 16 hex id>"}: answered once the removal is done (RemoveReply)
//   response: {"ok":true,"result":...} | {"ok":false,"error":"one line"}
// The socket is mode 0600 (root only), so a key may travel over it; only `token` answers with one.
import { hexU64, u64OfHex } from "../base/node-id.ts";
import { addressBytes, formatHostPort, hostPortOfKey, parseHostPort } from "../net/address.ts";
import type { Driver } from "./driver.ts";
import { ipv4Text } from "./dhcp.ts";
import { type MacEntry, type Member } from "../core/records.ts";
import { type NatGuess, PATH_KIND_DIRECT, PATH_KIND_RELAY, type PathRecord } from "../core/path-records.ts";
import { type AddrKey, formatKeyId, nodeIdOf, parseKey, parseKeyId, ROUTE_RELAY, type SecureCounters } from "../secure/index.ts";
import { pairPaths } from "./pair-paths.ts";
import { encodeToken } from "../secure/token.ts";
import type { InviteReply } from "./invitations.ts";

export const CONTROL_COMMANDS = ["status", "members", "macs", "key", "ping", "paths", "leases", "token", "invite", "remove"] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];
export const KEY_OPS = ["list", "install", "use", "remove"] as const;
export type KeyOp = (typeof KEY_OPS)[number];

export interface ControlRequest {
  cmd: ControlCommand;
  op?: KeyOp;
  key?: string;
  id?: string;
  expiresS?: number;
  name?: string;
}

/** `divs remove`'s answer: who was removed, the new key's id, which members moved to it and which did not answer. */
export interface RemoveReply {
  id: string;
  name: string;
  keyId: string;
  moved: string[];
  missed: string[];
}

/** Issues an invitation living this many seconds (host/engine/invitations.ts). */
export type IssueInvite = (lifetimeS: number) => InviteReply;

/** A keyring entry as shown: the key id only. */
export interface KeyInfo {
  id: string;
  primary: boolean;
}

export interface SessionRow {
  peer: string;
  /** The node id of the identity the peer proved in the handshake (docs/security.md "Identity"). */
  peerId: string | null;
  keyId: string;
  initiator: boolean;
  confirmed: boolean;
  ageMs: number;
  sent: number;
}

/** The transport layer's state: keyring ids, sessions, every counter (docs/security.md). */
export interface SecurityStatus {
  keys: KeyInfo[];
  sessions: SessionRow[];
  pendingHandshakes: number;
  /** Node ids removed from the switch (`divs remove`): their handshakes are refused. */
  bans: string[];
  counters: SecureCounters;
}

/** How a member's datagrams go: `path` is null for this node and members without one. */
export interface MemberPath {
  /** "unknown" when the core does not report paths. */
  path: "direct" | "relay" | "unknown" | null;
  /** The relay's name (or address when no member has it), for a relayed path. */
  via: string | null;
  /** The endpoint in use: the member's address or port as seen through its NAT, or the relay's. */
  endpoint: string | null;
  rtt_ms: number | null;
}

export type MemberRow = Member & MemberPath;

/** One `divs ping`'s answer. */
export interface PingReply {
  id: string;
  name: string;
  pong: boolean;
  path: "direct" | "relay" | null;
  via: string | null;
  endpoint: string | null;
  rtt_ms: number | null;
}

/** A ping waits this long for its pong. */
export const PING_TIMEOUT_MS = 1000;

export interface RelayStatus {
  /** Where this node sends each routed peer's packets (OUT_ROUTE). */
  routes: { peer: string; sendTo: string; kind: "direct" | "relay" }[];
  /** Member pairs this node relays between (OUT_RELAY_ALLOW), rate in bytes/s. */
  pairs: { a: string; b: string; rate: number; bytes: number }[];
}

export type ControlResponse = { ok: true; result: unknown } | { ok: false; error: string };

export interface NodeInfo {
  tap: string;
  mtu: number;
  address: string | null;
  listen: string;
  advertise: string;
  version: string;
  runtime: string;
}

export interface Status extends NodeInfo {
  name: string;
  id: string;
  uptimeMs: number;
  members: Record<string, number>;
  macs: number;
  /** The DHCP pool (docs/dhcp.md): null when this node does not serve one. */
  dhcp: DhcpStatus | null;
  counters: Record<string, number>;
  security: SecurityStatus;
  /** NAT traversal: what members see of this node ("unknown" on a core without it), and relaying. */
  nat: NatGuess;
  observed: string[];
  relay: RelayStatus;
}

export interface DhcpStatus {
  /** The blocks this node owns, as address runs "first-last". */
  owned: string[];
  ownedAddresses: number;
  poolAddresses: number;
  /** Addresses bound to a client now, switch-wide as this node knows. */
  bound: number;
  /** Of those, in this node's blocks: its share's use is boundOwned of ownedAddresses. */
  boundOwned: number;
  owners: number;
}

function dhcpStatus(driver: Driver, selfId: string): DhcpStatus | null {
  const d = driver.dhcp();
  if (d.ranges.length === 0) return null;
  const owned: string[] = [];
  let ownedAddresses = 0;
  const mine = d.ranges.filter((r) => r.owner === selfId).map((r) => [ipValue(r.first), ipValue(r.last)]);
  const bound = d.leases.filter((l) => l.state === "bound" && l.expiresInS > 0);
  for (const r of d.ranges) {
    if (r.owner !== selfId) continue;
    ownedAddresses += r.size;
    const last = owned.length - 1;
    const prev = last >= 0 ? owned[last].split("-") : null;
    if (prev && nextIp(prev[1]) === r.first) owned[last] = `${prev[0]}-${r.last}`;
    else owned.push(`${r.first}-${r.last}`);
  }
  return {
    owned, ownedAddresses,
    poolAddresses: d.ranges.reduce((n, r) => n + r.size, 0),
    bound: bound.length,
    boundOwned: bound.filter((l) => mine.some(([first, last]) => ipValue(l.ip) >= first && ipValue(l.ip) <= last)).length,
    owners: new Set(d.ranges.map((r) => r.owner)).size,
  };
}

function ipValue(ip: string): number {
  return ip.split(".").reduce((a, p) => a * 256 + Number(p), 0);
}

function nextIp(ip: string): string {
  return ipv4Text(ipValue(ip) + 1);
}

export function defaultControlPath(tap: string): string {
  return `/run/divs/${tap}.sock`;
}

/** Answers one request line against a running driver. Never rejects. */
export async function answer(line: string, driver: Driver, info: NodeInfo, now: number, invite: IssueInvite): Promise<string> {
  let response: ControlResponse;
  try {
    const request = JSON.parse(line) as ControlRequest;
    response = { ok: true, result: request.cmd === "invite" ? invite(Number(request.expiresS)) : await run(request, driver, info, now) };
  } catch (e) {
    response = { ok: false, error: (e as Error).message };
  }
  return JSON.stringify(response) + "\n";
}

function run(request: ControlRequest, driver: Driver, info: NodeInfo, now: number): unknown {
  const cmd = request.cmd;
  switch (cmd) {
    case "key":
      return key(request, driver);
    case "ping":
      return ping(request, driver);
    case "members":
      return members(driver);
    case "paths":
      return pairPaths(driver, members(driver));
    case "macs":
      return driver.macs();
    case "leases":
      return driver.dhcp().leases;
    case "status":
      return status(driver, info, now);
    case "token":
      return { token: encodeToken([parseHostPort(info.advertise)], driver.secure.keyring.primary.key) };
    case "remove":
      return remove(String(request.name ?? ""), driver);
  }
  throw new Error(`unknown control command "${cmd}"`);
}

/** The member list with each member's path (paths_dump). */
function members(driver: Driver): MemberRow[] {
  const list = driver.members();
  const paths = driver.paths();
  const byId = new Map<string, PathRecord>();
  for (const p of paths ?? []) byId.set(p.id, p);
  return list.map((m) => {
    if (m.self) return { ...m, path: null, via: null, endpoint: null, rtt_ms: null };
    if (paths === null) return { ...m, path: "unknown", via: null, endpoint: null, rtt_ms: null };
    const p = byId.get(m.id);
    if (p === undefined || (p.kind !== PATH_KIND_DIRECT && p.kind !== PATH_KIND_RELAY)) {
      return { ...m, path: null, via: null, endpoint: null, rtt_ms: null };
    }
    const relayed = p.kind === PATH_KIND_RELAY;
    return {
      ...m,
      path: relayed ? "relay" : "direct",
      via: relayed && p.relay !== null ? nameAt(p.relay, list, paths) : null,
      endpoint: relayed ? p.relay : p.endpoint,
      rtt_ms: p.rttMs,
    };
  });
}

/** The name of the member at `address` (its own address, or the endpoint we reach it at), else the address. */
function nameAt(address: string, list: Member[], paths: PathRecord[]): string {
  const byAddress = list.find((m) => m.address === address);
  if (byAddress !== undefined) return byAddress.name;
  const path = paths.find((p) => p.endpoint === address);
  return list.find((m) => m.id === path?.id)?.name ?? address;
}

/** One ping of the member with `id` over its path: resolves with the pong or after PING_TIMEOUT_MS. */
async function ping(request: ControlRequest, driver: Driver): Promise<PingReply> {
  const id = String(request.id ?? "");
  const member = driver.members().find((m) => m.id === id && !m.self);
  const nodeId = u64OfHex(id);
  if (member === undefined || nodeId === null) throw new Error(`no member with id "${id}"`);
  const pong = await driver.ping(nodeId, PING_TIMEOUT_MS);
  if (pong === null) return { id, name: member.name, pong: false, path: null, via: null, endpoint: null, rtt_ms: null };
  const relayed = pong.kind === PATH_KIND_RELAY;
  const paths = driver.paths() ?? [];
  // The host names datagrams from a peer's routed endpoint by the peer's address: show the endpoint.
  const routed = pong.address === member.address ? paths.find((p) => p.id === id)?.endpoint : null;
  return {
    id,
    name: member.name,
    pong: true,
    path: relayed ? "relay" : "direct",
    via: relayed ? nameAt(pong.address, driver.members(), paths) : null,
    endpoint: relayed ? pong.address : routed ?? pong.address,
    rtt_ms: pong.rttMs,
  };
}

/**
 * Bans the member named `name` (or with that id) switch-wide and moves every other live member to a new
 * network key (docs/security.md "Removing a node").
 */
async function remove(name: string, driver: Driver): Promise<RemoveReply> {
  const list = driver.members();
  const matches = list.filter((m) => m.id === name || m.name === name);
  if (matches.length === 0) throw new Error(`no member named "${name}" (divs members lists them)`);
  if (matches.length > 1) throw new Error(`${matches.length} members are named "${name}": give the id (divs members)`);
  const member = matches[0];
  if (member.self) throw new Error("a node cannot remove itself: run divs remove on another member");
  const targets = list
    .filter((m) => !m.self && m.id !== member.id && (m.state === "alive" || m.state === "suspect"))
    .map((m) => ({ id: u64OfHex(m.id)!, name: m.name, addr: addressBytes(parseHostPort(m.address)) }));
  const report = await driver.remove(u64OfHex(member.id)!, targets);
  return { id: member.id, name: member.name, ...report };
}

function formatKeyOf(key: AddrKey): string {
  return typeof key === "number" ? formatHostPort(hostPortOfKey(key)) : key;
}

function relay(driver: Driver): RelayStatus {
  return {
    routes: driver.secure.routeList().map((r) => ({
      peer: formatKeyOf(r.peerKey), sendTo: formatKeyOf(r.sendKey), kind: r.kind === ROUTE_RELAY ? "relay" : "direct",
    })),
    pairs: driver.secure.relayPairs().map((p) => ({ a: formatKeyOf(p.a), b: formatKeyOf(p.b), rate: p.rate, bytes: p.bytes })),
  };
}

function status(driver: Driver, info: NodeInfo, now: number): Status {
  const members: Record<string, number> = {};
  for (const m of driver.members()) members[m.state] = (members[m.state] ?? 0) + 1;
  const self = driver.self();
  return {
    name: driver.identity.name,
    id: hexU64(driver.identity.nodeId, 0),
    ...info,
    uptimeMs: Math.round(now - driver.startedAt),
    members,
    macs: driver.macs().length,
    dhcp: dhcpStatus(driver, hexU64(driver.identity.nodeId, 0)),
    counters: { ...driver.stats(), ...driver.hostCounters() },
    security: security(driver, now),
    nat: self?.nat ?? "unknown",
    observed: self?.observed ?? [],
    relay: relay(driver),
  };
}

function security(driver: Driver, now: number): SecurityStatus {
  const secure = driver.secure;
  return {
    keys: secure.keyring.list(),
    sessions: secure.sessions(now).map((s) => ({
      peer: formatKeyOf(s.addrKey),
      peerId: s.identity === null ? null : hexU64(nodeIdOf(secure.crypto, s.identity), 0),
      keyId: formatKeyId(s.keyId),
      initiator: s.initiator,
      confirmed: s.confirmed,
      ageMs: Math.round(s.ageMs),
      sent: s.sent,
    })),
    pendingHandshakes: secure.pendingCount(),
    bans: secure.bans.list().map((id) => hexU64(id, 0)),
    counters: { ...secure.counters },
  };
}

/** `divs key list|install|use|remove`; every answer is the keyring's ids afterwards. */
function key(request: ControlRequest, driver: Driver): KeyInfo[] {
  const keyring = driver.secure.keyring;
  switch (request.op) {
    case "list":
      break;
    case "install":
      keyring.install(parseKey(String(request.key ?? "")));
      break;
    case "use":
      keyring.use(parseKeyId(String(request.id ?? ""))); // new handshakes; sessions rekey in their time
      break;
    case "remove":
      keyring.remove(parseKeyId(String(request.id ?? "")));
      driver.keyringChanged(); // sessions made with it rekey on their next send
      break;
    default:
      throw new Error(`unknown key operation "${request.op}" (list, install, use, remove)`);
  }
  return keyring.list();
}

export function parseResponse(line: string): unknown {
  const response = JSON.parse(line) as ControlResponse;
  if (!response.ok) throw new Error(response.error);
  return response.result;
}

export type { MacEntry, Member, NatGuess };
