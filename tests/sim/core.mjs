// One simulated node: an instance of the real build/divs-core.wasm spoken to
// through the ABI records of docs/abi.md (no host code).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { claimStubImports } from "../fixtures/claims-stub.mjs";

const WASM = fileURLToPath(new URL("../../build/divs-core.wasm", import.meta.url));

export const IN_FRAME = 1, IN_DATAGRAM = 2, IN_RANDOM = 3, IN_IDENTITY = 4, IN_JOIN = 5, IN_LEAVE = 6;
export const IN_CANDIDATES = 8, IN_DATAGRAM_VIA = 9, IN_PING = 10, IN_DHCP_RESTORE = 11, IN_PATHS_QUERY = 13;
export const OUT_FRAME = 1, OUT_DATAGRAM = 2, OUT_TIMER = 3, OUT_EVENT = 4, OUT_STAT = 5, OUT_MEMBER = 6, OUT_MAC = 7;
export const OUT_ROUTE = 8, OUT_RELAY_ALLOW = 9, OUT_PONG = 10, OUT_PATH = 11, OUT_SELF = 12, OUT_DHCP_RANGE = 13, OUT_DHCP_LEASE = 14;
export const OUT_DHCP_STATE = 18, OUT_PATHS_REPORT = 20;
export const PATH_KIND = { NONE: 0, DIRECT: 1, RELAY: 2 };
export const NAT_GUESS = ["unknown", "none", "cone", "symmetric"];
export const MAC_KIND = { LOCAL: 1, REMOTE: 2, STATIC: 3 };
export const EVENT = { JOIN: 1, UPDATE: 2, SUSPECT: 3, ALIVE: 4, DEAD: 5, LEFT: 6 };
export const ADDR_LEN = 18, ADDR_SLOT = 20;
/** OUT_DATAGRAM: the u16 after the destination address (docs/abi.md). */
export const DATAGRAM_UNROUTED = 1;

export function compileCore() {
  let bytes;
  try { bytes = readFileSync(WASM); } catch { throw new Error(`${WASM} missing: run npm run build:core`); }
  return new WebAssembly.Module(bytes);
}

/** The 18-byte underlay address of simulated node i: ::ffff:198.19.0.1, port 10000 + i. */
export function nodeAddr(i) {
  const a = new Uint8Array(ADDR_LEN);
  a[10] = 0xff; a[11] = 0xff; a[12] = 198; a[13] = 19; a[14] = 0; a[15] = 1;
  const port = 10000 + i;
  a[16] = port >> 8; a[17] = port & 0xff;
  return a;
}

/** Node index of an address made by nodeAddr, or -1. */
export function addrIndex(b, off) {
  if (b[off + 12] !== 198 || b[off + 13] !== 19) return -1;
  return ((b[off + 16] << 8) | b[off + 17]) - 10000;
}

export class CoreInstance {
  /** `claims(buffer)`: the claim_sign and claim_verify imports (docs/abi.md), the stand-in by default. */
  constructor(module, claims = claimStubImports) {
    this.x = new WebAssembly.Instance(module, {
      env: { abort: () => { throw new Error("core abort"); }, ...claims(() => this.x.memory.buffer) },
    }).exports;
    this.inPtr = this.x.input_ptr();
    this.inCap = this.x.input_capacity();
    this.outPtr = this.x.output_ptr();
    this.inLen = 0;
    this.view();
  }

  view() {
    if (this.buf !== this.x.memory.buffer) {
      this.buf = this.x.memory.buffer;
      this.u8 = new Uint8Array(this.buf);
      this.dv = new DataView(this.buf);
    }
  }

  /** Appends an input record; returns false when the input region is full. */
  record(kind, parts) {
    this.view();
    let len = 0;
    for (const p of parts) len += p.length;
    const total = (8 + len + 7) & ~7;
    if (this.inLen + total > this.inCap) return false;
    const at = this.inPtr + this.inLen;
    this.dv.setUint16(at, kind, true);
    this.dv.setUint16(at + 2, 0, true);
    this.dv.setUint32(at + 4, len, true);
    let o = at + 8;
    for (const p of parts) { this.u8.set(p, o); o += p.length; }
    this.inLen += total;
    return true;
  }

  /** Runs process() over the queued records; calls onRecord(kind, bodyOffset, bodyLen) per output record. */
  process(now, onRecord) {
    const len = this.x.process(this.inLen, now);
    this.inLen = 0;
    this.drain(len, onRecord);
  }

  drain(len, onRecord) {
    this.view();
    let off = 0;
    while (off + 8 <= len) {
      const at = this.outPtr + off;
      const kind = this.dv.getUint16(at, true);
      const bodyLen = this.dv.getUint32(at + 4, true);
      onRecord(kind, at + 8, bodyLen);
      off += (8 + bodyLen + 7) & ~7;
    }
  }

  stats() {
    const out = {};
    const len = this.x.stats_dump();
    this.drain(len, (kind, at, n) => {
      if (kind !== OUT_STAT) return;
      out[new TextDecoder().decode(this.u8.subarray(at + 8, at + n))] = this.dv.getFloat64(at, true);
    });
    return out;
  }

  /**
   * Map "mac/vlan" (mac as 12 hex digits) -> {owner, version, kind, age, ips} from macs_dump, every page;
   * ips: the bound addresses as 32 hex digits (IPv4 mapped, docs/abi.md).
   */
  macs() {
    const out = new Map();
    let from = 0;
    do {
      const len = this.x.macs_dump(from);
      this.drain(len, (kind, at, n) => {
        if (kind !== OUT_MAC) return;
        const ips = [];
        for (let off = 32; off + 16 <= n; off += 16) ips.push(Buffer.from(this.u8.subarray(at + off, at + off + 16)).toString("hex"));
        let mac = "";
        for (let k = 0; k < 6; k++) mac += this.u8[at + k].toString(16).padStart(2, "0");
        out.set(`${mac}/${this.dv.getUint16(at + 6, true)}`, {
          owner: this.dv.getBigUint64(at + 8, true), age: this.dv.getFloat64(at + 16, true),
          version: this.dv.getUint32(at + 24, true), kind: this.u8[at + 28], ips,
        });
      });
      from = this.x.macs_dump_next();
    } while (from !== 0);
    return out;
  }

  /** [{id, incarnation, state, maxDatagram}] from members_dump (maxDatagram: the path MTU to it, 0 for self). */
  members() {
    const out = [];
    const len = this.x.members_dump();
    this.drain(len, (kind, at) => {
      if (kind !== OUT_MEMBER) return;
      out.push({
        id: this.dv.getBigUint64(at, true), incarnation: this.dv.getUint32(at + 8, true), state: this.u8[at + 12],
        maxDatagram: this.dv.getUint32(at + 20, true),
      });
    });
    return out;
  }

  /** Map id -> {kind, endpoint (18 bytes), relay (18 bytes), rtt, unanswered, stage} from paths_dump. */
  paths() {
    const out = new Map();
    const len = this.x.paths_dump();
    this.drain(len, (kind, at) => {
      if (kind !== OUT_PATH) return;
      out.set(this.dv.getBigUint64(at, true), {
        kind: this.u8[at + 8], stage: this.u8[at + 9], nat: this.u8[at + 10], endpoint: this.u8.slice(at + 12, at + 12 + ADDR_LEN),
        relay: this.u8.slice(at + 32, at + 32 + ADDR_LEN), rtt: this.dv.getFloat64(at + 56, true),
        unanswered: this.dv.getUint32(at + 64, true),
      });
    });
    return out;
  }

  /** {nat: "none" | "cone" | "symmetric" | "unknown", observed: [18-byte addresses]} from self_dump. */
  self() {
    let out = null;
    const len = this.x.self_dump();
    this.drain(len, (kind, at) => {
      if (kind !== OUT_SELF) return;
      const n = this.u8[at + 1];
      const observed = [];
      for (let k = 0; k < n; k++) observed.push(this.u8.slice(at + 4 + 20 * k, at + 4 + 20 * k + ADDR_LEN));
      out = { nat: NAT_GUESS[this.u8[at]], observed };
    });
    return out;
  }
}
