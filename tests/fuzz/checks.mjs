// Invariants the fuzzer asserts after every call into the core. Each check
// throws an Error naming the broken invariant.
import { MSG } from "./datagrams.mjs";
import { ADDR_LEN, ADDR_SLOT, DATAGRAM_UNROUTED, OUT, OUT_NAMES, WIRE_VERSION, readRecords } from "./records.mjs";

const ETH_HEADER_LEN = 14;
const NAME_MAX = 64; // member names, assembly/membership/codec.ts
const MEMBER_STATE_MAX = 3; // alive, suspect, dead, left
const EVENT_KINDS = 6; // join, update, suspect, alive, dead, left (assembly/membership/events.ts)
const EVENT_NAME = 16 + ADDR_SLOT;
const MEMBER_NAME = 32 + ADDR_SLOT;
/** config.maxDatagram's default: the largest datagram the core may emit (TSO frames are cut to fit it). */
export const MAX_DATAGRAM = 1400;

const fail = (msg) => { throw new Error(msg); };
const knownType = (t) => t === MSG.FRAME || (t >= MSG.MEMBERSHIP_FIRST && t <= MSG.MEMBERSHIP_LAST) || t === MSG.MAC_UPDATE ||
  t === MSG.IP_BINDING ||
  t === MSG.PMTU_ACK || (t >= MSG.PATH_PING && t <= MSG.PATHS_REPORT) || t === MSG.DHCP_RANGE || t === MSG.DHCP_LEASE;
const PMTU_PROBE_MIN = 8; // a probe is never smaller than the ACK datagram answering it (assembly/wire/pmtu.ts)
const PMTU_ACK_DATAGRAM = 8;
const ROUTE_LEN = 41, RELAY_ALLOW_LEN = 44, PONG_LEN = 48, PATH_LEN = 68, REPORT_HEADER = 20, REPORT_ENTRY = 21; // docs/abi.md

/** Parses an output region of `len` bytes, checking framing and `allowed` kinds. */
function records(core, len, allowed, call) {
  if (!(len >= 0 && len <= core.outputCapacity)) fail(`${call} returned ${len}, output capacity ${core.outputCapacity}`);
  if (len % 8 !== 0) fail(`${call} returned ${len}, not a multiple of 8`);
  const { records, error } = readRecords(core.output(len), len);
  if (error) fail(`${call} output malformed: ${error}`);
  for (const r of records) {
    if (!allowed.includes(r.kind)) fail(`${call} emitted kind ${r.kind} (${OUT_NAMES[r.kind] ?? "unknown"}) at ${r.offset}`);
    if (r.flags !== 0) fail(`${call} record at ${r.offset} has flags ${r.flags}`);
  }
  return records;
}

/** A FRAME message (type, flags 0: the VNET flag is retired, Ethernet frame). */
function checkFrame(msg, what) {
  if (msg[1] !== 0) fail(`${what} flags 0x${msg[1].toString(16)}`);
  if (msg.length < 2 + ETH_HEADER_LEN) fail(`${what} of ${msg.length} bytes`);
}

/** A datagram the core sends: version first, a known message, compound items exact. */
function checkDatagram(dg, at) {
  if (dg.length < 2) fail(`OUT_DATAGRAM at ${at}: datagram of ${dg.length} bytes`);
  if (dg[0] !== WIRE_VERSION) fail(`OUT_DATAGRAM at ${at}: version ${dg[0]}`);
  if (dg.length > MAX_DATAGRAM) fail(`OUT_DATAGRAM at ${at}: ${dg.length} bytes > max datagram ${MAX_DATAGRAM}`);
  const type = dg[1];
  if (type === MSG.FRAME) {
    checkFrame(dg.subarray(1), `OUT_DATAGRAM at ${at}: FRAME`);
    return;
  }
  if (type === MSG.PMTU_PROBE) {
    if (dg.length < PMTU_PROBE_MIN) fail(`OUT_DATAGRAM at ${at}: PMTU_PROBE of ${dg.length} bytes`);
    if (dg.subarray(6).some((b) => b !== 0)) fail(`OUT_DATAGRAM at ${at}: PMTU_PROBE padding not zero`);
    return;
  }
  if (type === MSG.PMTU_ACK && dg.length !== PMTU_ACK_DATAGRAM) fail(`OUT_DATAGRAM at ${at}: PMTU_ACK of ${dg.length} bytes`);
  if (type !== MSG.COMPOUND) {
    if (!knownType(type)) fail(`OUT_DATAGRAM at ${at}: message type 0x${type.toString(16)}`);
    return;
  }
  const count = dg[2];
  if (count < 2) fail(`OUT_DATAGRAM at ${at}: COMPOUND of ${count} items (a lone message is sent unwrapped)`);
  if (dg[3] !== 0) fail(`OUT_DATAGRAM at ${at}: COMPOUND reserved byte ${dg[3]}`);
  // Frames to one peer share a datagram only with other frames; gossip compounds carry no frames.
  const frames = dg.length > 6 && dg[6] === MSG.FRAME;
  let off = 4;
  for (let i = 0; i < count; i++) {
    if (off + 2 > dg.length) fail(`OUT_DATAGRAM at ${at}: COMPOUND item ${i} length runs past the end`);
    const n = (dg[off] << 8) | dg[off + 1];
    if (n === 0 || off + 2 + n > dg.length) fail(`OUT_DATAGRAM at ${at}: COMPOUND item ${i} of ${n} bytes does not fit`);
    const t = dg[off + 2];
    if (!knownType(t) || (t === MSG.FRAME) !== frames) fail(`OUT_DATAGRAM at ${at}: COMPOUND item ${i} type 0x${t.toString(16)}`);
    if (frames) {
      checkFrame(dg.subarray(off + 2, off + 2 + n), `OUT_DATAGRAM at ${at}: COMPOUND item ${i} FRAME`);
    }
    off += 2 + n;
  }
  if (off !== dg.length) fail(`OUT_DATAGRAM at ${at}: ${dg.length - off} bytes after the COMPOUND items`);
}

/** Checks what process() emitted; returns the emitted datagrams (views into the output region). */
export function checkProcessOutput(core, len) {
  const datagrams = [];
  const kinds = [OUT.FRAME, OUT.DATAGRAM, OUT.TIMER, OUT.EVENT, OUT.ROUTE, OUT.RELAY_ALLOW, OUT.PONG, OUT.PATHS_REPORT, OUT.LOG, OUT.DHCP_SAVE, OUT.DHCP_ADDRESS];
  for (const r of records(core, len, kinds, "process")) {
    const b = r.body;
    switch (r.kind) {
      case OUT.FRAME:
        if (b.length < ETH_HEADER_LEN) fail(`OUT_FRAME at ${r.offset}: ${b.length} bytes`);
        break;
      case OUT.DATAGRAM: {
        if (b.length < ADDR_SLOT) fail(`OUT_DATAGRAM at ${r.offset}: ${b.length} bytes, no address slot`);
        const flags = b[ADDR_LEN] | (b[ADDR_LEN + 1] << 8);
        if ((flags & ~DATAGRAM_UNROUTED) !== 0) fail(`OUT_DATAGRAM at ${r.offset}: unknown flags ${flags}`);
        const dg = b.subarray(ADDR_SLOT);
        // Only probes (and answers to probes) go past the route: frames and membership never do.
        if (flags !== 0 && dg[1] !== MSG.PATH_PING && dg[1] !== MSG.PATH_PONG) {
          fail(`OUT_DATAGRAM at ${r.offset}: unrouted, but no PATH_PING or PATH_PONG`);
        }
        checkDatagram(dg, r.offset);
        datagrams.push(dg);
        break;
      }
      case OUT.TIMER: {
        if (b.length !== 8) fail(`OUT_TIMER at ${r.offset}: body of ${b.length} bytes`);
        const t = new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
        if (!Number.isFinite(t)) fail(`OUT_TIMER at ${r.offset}: ${t}`);
        break;
      }
      case OUT.ROUTE:
        if (b.length !== ROUTE_LEN || (b[2 * ADDR_SLOT] !== 1 && b[2 * ADDR_SLOT] !== 2)) fail(`OUT_ROUTE at ${r.offset}: ${b.length} bytes, kind ${b[2 * ADDR_SLOT]}`);
        break;
      case OUT.RELAY_ALLOW:
        if (b.length !== RELAY_ALLOW_LEN) fail(`OUT_RELAY_ALLOW at ${r.offset}: ${b.length} bytes`);
        break;
      case OUT.PONG: {
        const rtt = new DataView(b.buffer, b.byteOffset, b.length).getFloat64(16, true);
        if (b.length !== PONG_LEN || !(rtt >= 0) || (b[24] !== 1 && b[24] !== 2)) fail(`OUT_PONG at ${r.offset}: ${b.length} bytes, rtt ${rtt}, kind ${b[24]}`);
        break;
      }
      case OUT.PATHS_REPORT: {
        const n = b.length >= REPORT_HEADER ? new DataView(b.buffer, b.byteOffset, b.length).getUint32(16, true) : -1;
        if (n < 0 || b.length !== REPORT_HEADER + n * REPORT_ENTRY || n > 255) fail(`OUT_PATHS_REPORT at ${r.offset}: ${b.length} bytes, ${n} entries`);
        for (let i = 0; i < n; i++) if (b[REPORT_HEADER + i * REPORT_ENTRY + 8] > 2) fail(`OUT_PATHS_REPORT at ${r.offset}: entry ${i} kind ${b[REPORT_HEADER + i * REPORT_ENTRY + 8]}`);
        break;
      }
      case OUT.DHCP_ADDRESS: {
        const v = new DataView(b.buffer, b.byteOffset, b.length);
        if (b.length !== 12 || v.getUint32(4, true) > 32 || (v.getUint32(0, true) === 0) !== (v.getUint32(8, true) === 0)) {
          fail(`OUT_DHCP_ADDRESS at ${r.offset}: ${b.length} bytes`);
        }
        break;
      }
      case OUT.DHCP_SAVE:
        if (b.length !== 0) fail(`OUT_DHCP_SAVE at ${r.offset}: body of ${b.length} bytes`);
        break;
      case OUT.LOG:
        if (b.length === 0) fail(`OUT_LOG at ${r.offset}: empty`);
        new TextDecoder("utf-8", { fatal: true }).decode(b);
        break;
      case OUT.EVENT: {
        if (b.length < EVENT_NAME || b.length > EVENT_NAME + NAME_MAX) fail(`OUT_EVENT at ${r.offset}: body of ${b.length} bytes`);
        const v = new DataView(b.buffer, b.byteOffset, b.length);
        const kind = v.getUint16(0, true);
        const state = v.getUint16(2, true);
        if (kind < 1 || kind > EVENT_KINDS || state > MEMBER_STATE_MAX) fail(`OUT_EVENT at ${r.offset}: kind ${kind} state ${state}`);
        break;
      }
    }
  }
  return datagrams;
}

/** Checks stats_dump and that no counter went down since `previous`; returns the counters. */
export function checkStats(core, previous) {
  const stats = new Map();
  for (const r of records(core, core.call("stats_dump"), [OUT.STAT], "stats_dump")) {
    if (r.body.length <= 8) fail(`OUT_STAT at ${r.offset}: ${r.body.length} bytes, no name`);
    const value = new DataView(r.body.buffer, r.body.byteOffset, 8).getFloat64(0, true);
    const name = new TextDecoder("utf-8", { fatal: true }).decode(r.body.subarray(8));
    if (stats.has(name)) fail(`stats_dump: counter ${name} twice`);
    if (!(Number.isInteger(value) && value >= 0)) fail(`stats_dump: ${name} = ${value}`);
    const before = previous.get(name) ?? 0;
    if (value < before) fail(`stats_dump: ${name} went down from ${before} to ${value}`);
    stats.set(name, value);
  }
  if (stats.size === 0) fail("stats_dump: no counters");
  return stats;
}

/** The largest OUT_DHCP_STATE body (docs/abi.md): each fits an input record when restored. */
const DHCP_STATE_MAX = 60 * 1024;

/** Checks dhcp_save (OUT_DHCP_STATE chunks only, each the saver's id then whole messages); returns the chunks (copies). */
export function checkDhcpSave(core) {
  const chunks = [];
  for (let len = core.call("dhcp_save", 1), pages = 0; len > 0; len = core.call("dhcp_save", 0)) {
    if (++pages > 64) fail("dhcp_save: no end after 64 pages");
    for (const r of records(core, len, [OUT.DHCP_STATE], "dhcp_save")) {
      if (r.body.length < 8 || r.body.length > DHCP_STATE_MAX) fail(`OUT_DHCP_STATE at ${r.offset}: ${r.body.length} bytes`);
      chunks.push(r.body.slice());
    }
  }
  return chunks;
}

/** Checks paths_dump (one record per peer, ids unique, kinds in range) and self_dump (one record, counts exact). */
export function checkPaths(core) {
  const ids = new Set();
  for (const r of records(core, core.call("paths_dump"), [OUT.PATH], "paths_dump")) {
    const v = new DataView(r.body.buffer, r.body.byteOffset, r.body.length);
    if (r.body.length !== PATH_LEN) fail(`OUT_PATH at ${r.offset}: ${r.body.length} bytes`);
    const id = v.getBigUint64(0, true);
    if (ids.has(id)) fail(`paths_dump: peer ${id} twice`);
    ids.add(id);
    if (r.body[8] > 2) fail(`paths_dump: peer ${id} kind ${r.body[8]}`);
  }
  const self = records(core, core.call("self_dump"), [OUT.SELF], "self_dump");
  if (self.length !== 1) fail(`self_dump: ${self.length} records`);
  const b = self[0].body;
  if (b[0] > 3 || b.length !== 4 + b[1] * ADDR_SLOT) fail(`OUT_SELF: nat ${b[0]}, ${b[1]} addresses in ${b.length} bytes`);
  return ids.size;
}

/** Checks members_dump: one record per member, ids unique, states and names in range; returns the count. */
export function checkMembers(core) {
  const ids = new Set();
  for (const r of records(core, core.call("members_dump"), [OUT.MEMBER], "members_dump")) {
    const b = r.body;
    if (b.length < MEMBER_NAME || b.length > MEMBER_NAME + NAME_MAX) fail(`OUT_MEMBER at ${r.offset}: body of ${b.length} bytes`);
    const v = new DataView(b.buffer, b.byteOffset, b.length);
    const id = v.getBigUint64(0, true);
    if (ids.has(id)) fail(`members_dump: member ${id} twice`);
    ids.add(id);
    if (b[12] > MEMBER_STATE_MAX) fail(`members_dump: member ${id} state ${b[12]}`);
    if (!Number.isFinite(v.getFloat64(24, true))) fail(`members_dump: member ${id} state since ${v.getFloat64(24, true)}`);
  }
  return ids.size;
}
