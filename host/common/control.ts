// The local control protocol between `divs status|members|macs` and a running node:
// one JSON request line, one JSON response line, then the server closes the connection.
//   request:  {"cmd":"status"|"members"|"macs"}
//   response: {"ok":true,"result":...} | {"ok":false,"error":"one line"}
import type { Driver } from "./driver.ts";
import { hexU64, type MacEntry, type Member } from "./dumps.ts";

export const CONTROL_COMMANDS = ["status", "members", "macs"] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

export interface ControlRequest {
  cmd: ControlCommand;
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

export interface Status {
  name: string;
  id: string;
  tap: string;
  mtu: number;
  address: string | null;
  listen: string;
  advertise: string;
  version: string;
  runtime: string;
  uptimeMs: number;
  members: Record<string, number>;
  macs: number;
  counters: Record<string, number>;
}

export function defaultControlPath(tap: string): string {
  return `/run/divs/${tap}.sock`;
}

/** Answers one request line against a running driver. Never throws. */
export function answer(line: string, driver: Driver, info: NodeInfo, now: number): string {
  let response: ControlResponse;
  try {
    const request = JSON.parse(line) as ControlRequest;
    response = { ok: true, result: run(request.cmd, driver, info, now) };
  } catch (e) {
    response = { ok: false, error: (e as Error).message };
  }
  return JSON.stringify(response) + "\n";
}

function run(cmd: string, driver: Driver, info: NodeInfo, now: number): unknown {
  switch (cmd) {
    case "members":
      return driver.members();
    case "macs":
      return driver.macs();
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
    counters: { ...driver.stats(), ...driver.counters },
  };
}

export function parseResponse(line: string): unknown {
  const response = JSON.parse(line) as ControlResponse;
  if (!response.ok) throw new Error(response.error);
  return response.result;
}

export type { MacEntry, Member };
