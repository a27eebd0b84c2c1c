// `divs paths` and the status page's graph: the path every pair of members uses, each member's own
// account (IN_PATHS_QUERY / OUT_PATHS_REPORT, docs/nat.md "Path reports"), this node's from its core.
import { u64OfHex } from "../base/node-id.ts";
import type { Driver } from "./driver.ts";
import { PATH_KIND_DIRECT, PATH_KIND_RELAY, type ReportedPath } from "../core/path-records.ts";

/** What this needs of the `members` command's rows (control.ts MemberRow). */
interface MemberRow {
  id: string;
  name: string;
  self: boolean;
  state: string;
  path: string | null;
  via: string | null;
  rtt_ms: number | null;
}

/** A member's report (each page) waits this long. */
export const PATHS_TIMEOUT_MS = 1000;

/** One member's path to another, as the first one reports it. */
export interface PairPath {
  from: string;
  to: string;
  path: "direct" | "relay" | null;
  /** The relaying member's name, for a relayed path. */
  via: string | null;
  rtt_ms: number | null;
}

export interface PairPaths {
  pairs: PairPath[];
  /** Live members whose report did not come within PATHS_TIMEOUT_MS. */
  silent: string[];
}

/** Every live member's paths: this node's from `members` (the `members` command's rows), the others' asked for. */
export async function pairPaths(driver: Driver, members: MemberRow[]): Promise<PairPaths> {
  const nameOf = new Map(members.map((m) => [m.id, m.name]));
  const name = (id: string) => nameOf.get(id) ?? id;
  const self = members.find((m) => m.self);
  const pairs: PairPath[] = [];
  for (const m of members) {
    if (m.self || self === undefined || m.state !== "alive") continue;
    pairs.push({ from: self.name, to: m.name, path: m.path === "direct" || m.path === "relay" ? m.path : null, via: m.via, rtt_ms: m.rtt_ms });
  }
  const others = members.filter((m) => !m.self && m.state === "alive");
  const reports = await Promise.all(others.map((m) => driver.reportedPaths(u64OfHex(m.id)!, PATHS_TIMEOUT_MS)));
  const silent: string[] = [];
  others.forEach((m, i) => {
    const report = reports[i];
    if (report === null) silent.push(m.name);
    else for (const p of report) if (nameOf.has(p.peer)) pairs.push(pairOf(m.name, p, name));
  });
  return { pairs, silent };
}

function pairOf(from: string, p: ReportedPath, name: (id: string) => string): PairPath {
  const path = p.kind === PATH_KIND_DIRECT ? "direct" : p.kind === PATH_KIND_RELAY ? "relay" : null;
  return { from, to: name(p.peer), path, via: p.relay === null ? null : name(p.relay), rtt_ms: p.rttMs };
}
