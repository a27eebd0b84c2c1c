// The local control protocol between `divs status|members|macs|key` and a running node:
// one JSON request line, one JSON response line, then the server closes the connection.
//   request:  {"cmd":"status"|"members"|"macs"|"leases"}
//             {"cmd":"key","op":"list"|"install"|"use"|"remove","key"?:"<key text>","id"?:"<8 hex>"}
//   response: {"ok":true,"result":...} | {"ok":false,"error":"one line"}
// The socket is mode 0600 (root only), so a key may travel over it; no answer ever carries one.
import { formatHostPort, hostPortOfKey } from "./address.ts";
import type { Driver } from "./driver.ts";
import { hexU64, type MacEntry, type Member } from "./dumps.ts";
import { formatKeyId, parseKey, parseKeyId, type SecureCounters } from "./secure/index.ts";

export const CONTROL_COMMANDS = ["status", "members", "macs", "key", "leases"] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];
export const KEY_OPS = ["list", "install", "use", "remove"] as const;
export type KeyOp = (typeof KEY_OPS)[number];

export interface ControlRequest {
  cmd: ControlCommand;
  op?: KeyOp;
  key?: string;
  id?: string;
}

/** A keyring entry as shown: the key id only. */
export interface KeyInfo {
  id: string;
  primary: boolean;
}

export interface SessionRow {
  peer: string;
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
  counters: SecureCounters;
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
}

export interface DhcpStatus {
  /** The blocks this node owns, as address runs "first-last". */
  owned: string[];
  ownedAddresses: number;
  poolAddresses: number;
  /** Addresses bound to a client now, switch-wide as this node knows. */
  bound: number;
  owners: number;
}

function dhcpStatus(driver: Driver, selfId: string): DhcpStatus | null {
  const d = driver.dhcp();
  if (d.ranges.length === 0) return null;
  const owned: string[] = [];
  let ownedAddresses = 0;
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
    bound: d.leases.filter((l) => l.state === "bound" && l.expiresInS > 0).length,
    owners: new Set(d.ranges.map((r) => r.owner)).size,
  };
}

function nextIp(ip: string): string {
  const v = ip.split(".").reduce((a, p) => a * 256 + Number(p), 0) + 1;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");
}

export function defaultControlPath(tap: string): string {
  return `/run/divs/${tap}.sock`;
}

/** Answers one request line against a running driver. Never throws. */
export function answer(line: string, driver: Driver, info: NodeInfo, now: number): string {
  let response: ControlResponse;
  try {
    const request = JSON.parse(line) as ControlRequest;
    response = { ok: true, result: run(request, driver, info, now) };
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
    case "members":
      return driver.members();
    case "macs":
      return driver.macs();
    case "leases":
      return driver.dhcp().leases;
    case "status":
      return status(driver, info, now);
  }
  throw new Error(`unknown control command "${cmd}"`);
}

function status(driver: Driver, info: NodeInfo, now: number): Status {
  const members: Record<string, number> = {};
  for (const m of driver.members()) members[m.state] = (members[m.state] ?? 0) + 1;
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
  };
}

function security(driver: Driver, now: number): SecurityStatus {
  const secure = driver.secure;
  return {
    keys: secure.keyring.list(),
    sessions: secure.sessions(now).map((s) => ({
      peer: typeof s.addrKey === "number" ? formatHostPort(hostPortOfKey(s.addrKey)) : s.addrKey,
      keyId: formatKeyId(s.keyId),
      initiator: s.initiator,
      confirmed: s.confirmed,
      ageMs: Math.round(s.ageMs),
      sent: s.sent,
    })),
    pendingHandshakes: secure.pendingCount(),
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

export type { MacEntry, Member };
