// Decoders for the core's path records (NAT traversal, docs/abi.md): OUT_ROUTE and OUT_RELAY_ALLOW
// (carried out by the transport), OUT_PONG (`divs ping`), OUT_PATH (paths_dump) and OUT_SELF
// (self_dump), OUT_PATHS_REPORT (a member's paths, `divs paths`). Layouts as assembly/nat/ writes them (little-endian, f64 and u64 aligned); every decoder
// checks the length first and returns null for a short body.
import { hexU64 } from "../base/node-id.ts";
import { ADDR_SLOT } from "./abi.ts";
import { formatAddress, ADDR_LEN } from "../net/address.ts";

export const PATH_KIND_DIRECT = 1;
export const PATH_KIND_RELAY = 2;

// OUT_ROUTE: addr slot peer, addr slot send to, u8 kind (assembly/nat/paths.ts)
const ROUTE_PEER = 0;
const ROUTE_SEND = ROUTE_PEER + ADDR_SLOT; // 20
const ROUTE_KIND = ROUTE_SEND + ADDR_SLOT; // 40
const ROUTE_LEN = ROUTE_KIND + 1; // 41
// OUT_RELAY_ALLOW: addr slot a, addr slot b, u32 bytes/s (assembly/nat/meet.ts)
const ALLOW_A = 0;
const ALLOW_B = ALLOW_A + ADDR_SLOT; // 20
const ALLOW_BUDGET = ALLOW_B + ADDR_SLOT; // 40
const ALLOW_LEN = ALLOW_BUDGET + 4; // 44
// OUT_PONG: u64 id, u32 seq, u32 0, f64 rtt ms, u8 kind, 3 x u8 0, addr slot (assembly/nat/nat.ts)
const PONG_ID = 0;
const PONG_SEQ = 8;
const PONG_RTT = 16;
const PONG_KIND = 24;
const PONG_ADDR = 28;
const PONG_LEN = PONG_ADDR + ADDR_SLOT; // 48
// OUT_PATH: u64 id, u8 kind (0 none), u8 stage, u16 0, addr slot endpoint, addr slot relay (the relay
// member's address), f64 rtt ms (-1 unknown), u32 sent unanswered (assembly/nat/paths.ts)
const PATH_ID = 0;
const PATH_KIND = 8;
const PATH_ENDPOINT = 12;
const PATH_RELAY = PATH_ENDPOINT + ADDR_SLOT; // 32
const PATH_RTT = 56;
const PATH_UNANSWERED = 64;
const PATH_LEN = 68;
// OUT_SELF: u8 nat guess, u8 count, u16 0, count x addr slot (assembly/nat/observed.ts)
const SELF_NAT = 0;
const SELF_COUNT = 1;
const SELF_ADDRS = 4;
// OUT_PATHS_REPORT: u64 reporter, u32 seq, u16 total, u16 start, u32 count, then count entries as the
// member sent them, big-endian: u64 peer, u8 kind, u64 relay id (0 none), u32 RTT us (assembly/nat/report.ts)
const REPORT_SEQ = 8;
const REPORT_TOTAL = 12;
const REPORT_START = 14;
const REPORT_COUNT = 16;
const REPORT_ENTRIES = 20;
const ENTRY_KIND = 8;
const ENTRY_RELAY = 9;
const ENTRY_RTT = 17;
const ENTRY_LEN = 21;
const RTT_UNKNOWN = 0xffffffff;

export const NAT_GUESSES = ["unknown", "none", "cone", "symmetric"] as const;
export type NatGuess = (typeof NAT_GUESSES)[number];

export interface RouteRecord {
  /** Views into the record body: valid during the visit only. */
  peer: Uint8Array;
  sendTo: Uint8Array;
  kind: number;
}

export interface RelayAllowRecord {
  a: Uint8Array;
  b: Uint8Array;
  bytesPerSecond: number;
}

export interface Pong {
  id: string;
  seq: number;
  rttMs: number;
  kind: number;
  /** The endpoint a direct pong came from, or the relay's address. */
  address: string;
}

export interface PathRecord {
  id: string;
  kind: number;
  endpoint: string | null;
  relay: string | null;
  /** null when the path has not measured one. */
  rttMs: number | null;
  unanswered: number;
}

export interface SelfRecord {
  nat: NatGuess;
  observed: string[];
}

/** One path in a member's report. */
export interface ReportedPath {
  /** The peer's node id (16 hex digits). */
  peer: string;
  kind: number;
  /** The relaying member's node id while relayed, else null. */
  relay: string | null;
  rttMs: number | null;
}

export interface PathsReport {
  reporter: string;
  seq: number;
  /** Paths the member has; this page holds `paths` from `start` on. */
  total: number;
  start: number;
  paths: ReportedPath[];
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function isZero(b: Uint8Array, offset: number, length: number): boolean {
  for (let i = offset; i < offset + length; i++) if (b[i] !== 0) return false;
  return true;
}

/** An address slot, or null when it is all zero (none given). */
function optionalAddress(b: Uint8Array, offset: number): string | null {
  return isZero(b, offset, ADDR_LEN) ? null : formatAddress(b, offset);
}

export function decodeRoute(b: Uint8Array): RouteRecord | null {
  if (b.length < ROUTE_LEN) return null;
  return { peer: b.subarray(ROUTE_PEER, ROUTE_PEER + ADDR_LEN), sendTo: b.subarray(ROUTE_SEND, ROUTE_SEND + ADDR_LEN), kind: b[ROUTE_KIND] };
}

export function decodeRelayAllow(b: Uint8Array): RelayAllowRecord | null {
  if (b.length < ALLOW_LEN) return null;
  return {
    a: b.subarray(ALLOW_A, ALLOW_A + ADDR_LEN),
    b: b.subarray(ALLOW_B, ALLOW_B + ADDR_LEN),
    bytesPerSecond: view(b).getUint32(ALLOW_BUDGET, true),
  };
}

export function decodePong(b: Uint8Array): Pong | null {
  if (b.length < PONG_LEN) return null;
  const v = view(b);
  return {
    id: hexU64(b, PONG_ID),
    seq: v.getUint32(PONG_SEQ, true),
    rttMs: v.getFloat64(PONG_RTT, true),
    kind: b[PONG_KIND],
    address: formatAddress(b, PONG_ADDR),
  };
}

export function decodePath(b: Uint8Array): PathRecord | null {
  if (b.length < PATH_LEN) return null;
  const v = view(b);
  const rtt = v.getFloat64(PATH_RTT, true);
  return {
    id: hexU64(b, PATH_ID),
    kind: b[PATH_KIND],
    endpoint: optionalAddress(b, PATH_ENDPOINT),
    relay: optionalAddress(b, PATH_RELAY),
    rttMs: rtt < 0 || !Number.isFinite(rtt) ? null : rtt,
    unanswered: v.getUint32(PATH_UNANSWERED, true),
  };
}

export function decodeSelf(b: Uint8Array): SelfRecord | null {
  if (b.length < SELF_ADDRS) return null;
  const count = b[SELF_COUNT];
  if (b.length < SELF_ADDRS + count * ADDR_SLOT) return null;
  const observed: string[] = [];
  for (let i = 0; i < count; i++) observed.push(formatAddress(b, SELF_ADDRS + i * ADDR_SLOT));
  return { nat: NAT_GUESSES[b[SELF_NAT]] ?? "unknown", observed };
}

/** A node id written big-endian (the wire's order) as 16 hex digits. */
function hexU64BigEndian(b: Uint8Array, offset: number): string {
  let s = "";
  for (let i = 0; i < 8; i++) s += b[offset + i].toString(16).padStart(2, "0");
  return s;
}

export function decodePathsReport(b: Uint8Array): PathsReport | null {
  if (b.length < REPORT_ENTRIES) return null;
  const v = view(b);
  const count = v.getUint32(REPORT_COUNT, true);
  if (b.length < REPORT_ENTRIES + count * ENTRY_LEN) return null;
  const paths: ReportedPath[] = [];
  for (let i = 0; i < count; i++) {
    const e = REPORT_ENTRIES + i * ENTRY_LEN;
    const relay = hexU64BigEndian(b, e + ENTRY_RELAY);
    const rtt = v.getUint32(e + ENTRY_RTT, false);
    paths.push({
      peer: hexU64BigEndian(b, e),
      kind: b[e + ENTRY_KIND],
      relay: relay === "0000000000000000" ? null : relay,
      rttMs: rtt === RTT_UNKNOWN ? null : rtt / 1000,
    });
  }
  return {
    reporter: hexU64(b, 0),
    seq: v.getUint32(REPORT_SEQ, true),
    total: v.getUint16(REPORT_TOTAL, true),
    start: v.getUint16(REPORT_START, true),
    paths,
  };
}
