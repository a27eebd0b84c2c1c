// Path reports: a member tells one that asks (PATHS_QUERY) which path it uses to each
// peer (PATHS_REPORT), so the status page can draw every pair, not only its own node's
// (docs/nat.md "Path reports"). Asked for by the host (IN_PATHS_QUERY) and answered to
// members only; nothing is kept in the core: the report goes out as OUT_PATHS_REPORT.
import { OUT_PATHS_REPORT } from "../abi";
import { emitDatagram } from "../membership/send";
import { BASE_DATAGRAM, pmtuBase } from "../pmtu";
import { outputReserve } from "../queue";
import { Stat, count } from "../stats";
import { DG_MESSAGE, WIRE_VERSION } from "../wire/divs";
import { getU16, getU32, putU32, putU64 } from "../wire/bytes";
import {
  PATHS_ENTRY_KIND, PATHS_ENTRY_LEN, PATHS_ENTRY_PEER, PATHS_ENTRY_RELAY, PATHS_ENTRY_RTT, PATHS_QUERY_SEQ,
  PATHS_QUERY_START, PATHS_REPORT_COUNT, PATHS_REPORT_ENTRIES, PATHS_REPORT_START, PATHS_REPORT_TOTAL,
  PATHS_REPORT_SEQ, PATHS_RTT_UNKNOWN, writePathsQuery, writePathsReportHeader,
} from "../wire/nat";
import { addrPtr } from "./addr";
import { KIND_RELAY } from "./path";
import { pathById, paths } from "./paths";
import { natMessage, natMessageRoom, natSend } from "./send";

/** A page fits the smallest datagram every path carries (pmtuBase), so it never needs path MTU discovery. */
const report: usize = heap.alloc(BASE_DATAGRAM);

/** IN_PATHS_QUERY body: u64 node id, u32 seq, u16 start. False when too short. */
export function natPathsQuery(body: usize, len: u32): bool {
  if (len < 14) return false;
  const path = pathById(load<u64>(body));
  if (path == null) { count(Stat.PathsQueryUnknown); return true; }
  natSend(addrPtr(path.key), writePathsQuery(natMessage, natMessageRoom, load<u32>(body + 8), <u32>load<u16>(body + 12)));
  return true;
}

/** A member asked for our paths: answer with the page from `start`, along our route to it. */
export function pathsQueryIn(from: u64, p: usize): void {
  const back = pathById(from);
  if (back == null) return;
  const room = pmtuBase() - DG_MESSAGE;
  const total = min(<u32>paths.length, 0xffff);
  const start = min(<u32>getU16(p + PATHS_QUERY_START), total);
  const n = min(min(total - start, (room - PATHS_REPORT_ENTRIES) / PATHS_ENTRY_LEN), 0xff);
  const msg = report + DG_MESSAGE;
  writePathsReportHeader(msg, getU32(p + PATHS_QUERY_SEQ), total, start, n);
  for (let i: u32 = 0; i < n; i++) {
    const path = unchecked(paths[start + i]);
    const e = msg + PATHS_REPORT_ENTRIES + i * PATHS_ENTRY_LEN;
    putU64(e + PATHS_ENTRY_PEER, path.id);
    store<u8>(e + PATHS_ENTRY_KIND, path.kind);
    putU64(e + PATHS_ENTRY_RELAY, path.kind == KIND_RELAY ? path.relayId : 0);
    putU32(e + PATHS_ENTRY_RTT, path.rtt < 0 ? PATHS_RTT_UNKNOWN : <u32>min(path.rtt * 1000, <f64>0xfffffffe));
  }
  store<u8>(report, WIRE_VERSION);
  emitDatagram(addrPtr(back.key), report, DG_MESSAGE + PATHS_REPORT_ENTRIES + n * PATHS_ENTRY_LEN);
  count(Stat.PathsReportsSent);
}

// OUT_PATHS_REPORT body, little-endian: u64 reporter, u32 seq, u16 total, u16 start, u32 count, then
// the report's entries as they came (big-endian, docs/wire.md).
export const REPORT_OUT_HEADER: u32 = 20;

/** A member's PATHS_REPORT: handed to the host as it came. */
export function pathsReportIn(from: u64, p: usize): void {
  const n = <u32>load<u8>(p + PATHS_REPORT_COUNT);
  const body = outputReserve(OUT_PATHS_REPORT, REPORT_OUT_HEADER + n * PATHS_ENTRY_LEN);
  if (body == 0) return;
  store<u64>(body, from);
  store<u32>(body + 8, getU32(p + PATHS_REPORT_SEQ));
  store<u16>(body + 12, getU16(p + PATHS_REPORT_TOTAL));
  store<u16>(body + 14, getU16(p + PATHS_REPORT_START));
  store<u32>(body + 16, n);
  memory.copy(body + REPORT_OUT_HEADER, p + PATHS_REPORT_ENTRIES, n * PATHS_ENTRY_LEN);
  count(Stat.PathsReportsReceived);
}
