// Human-readable tables for `divs status|members|paths|macs|leases|ping|remove`.
import type { KeyInfo, MemberRow, PingReply, RemoveReply, Status } from "../engine/control.ts";
import type { DhcpLease } from "../engine/dhcp.ts";
import type { MacEntry } from "../core/records.ts";
import type { PairPaths } from "../engine/pair-paths.ts";
import { ACTIVITY_COUNTERS, REJECTION_COUNTERS } from "../secure/index.ts";

export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n");
}

export function formatMembers(members: MemberRow[]): string {
  const sorted = [...members].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return table(
    ["NAME", "ID", "ADDRESS", "STATE", "INC", "PMTU", "PATH", "ENDPOINT", "RTT"],
    sorted.map((m) => [
      m.name + (m.self ? " (self)" : ""), m.id, m.address, m.state, m.incarnation, m.pmtu ?? "-",
      formatPath(m.path, m.via), m.endpoint ?? "-", formatRtt(m.rtt_ms),
    ]),
  );
}

function formatPath(path: MemberRow["path"], via: string | null): string {
  if (path === null) return "-";
  return path === "relay" ? `relay via ${via ?? "?"}` : path;
}

function formatRtt(ms: number | null): string {
  return ms === null ? "-" : `${ms.toFixed(1)} ms`;
}

/** One row per member and peer (`a  b  relay via pub  1.2 ms`), then the members that did not answer. */
export function formatPairPaths(p: PairPaths): string {
  const sorted = [...p.pairs].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
  const rows = table(["FROM", "TO", "PATH", "RTT"], sorted.map((r) => [r.from, r.to, formatPath(r.path, r.via), formatRtt(r.rtt_ms)]));
  return p.silent.length === 0 ? rows : `${rows}\nno report from: ${p.silent.join(", ")}`;
}

/** `pong from h2 via relay pub in 0.9 ms`, `pong from h2 via 203.0.113.2:40001 in 0.4 ms`. */
export function formatPing(r: PingReply): string {
  if (!r.pong) return `no pong from ${r.name}`;
  const via = r.path === "relay" ? `relay ${r.via ?? r.endpoint}` : r.endpoint;
  return `pong from ${r.name} via ${via} in ${formatRtt(r.rtt_ms)}`;
}

export function formatMacs(macs: MacEntry[], names: Map<string, string>): string {
  const sorted = [...macs].sort((a, b) => a.mac.localeCompare(b.mac) || a.vlan - b.vlan);
  return table(
    ["MAC", "VLAN", "OWNER", "VERSION", "KIND", "IPS"],
    sorted.map((m) => [m.mac, m.vlan, names.get(m.owner) ?? m.owner, m.version, m.kind, m.ips.join(",") || "-"]),
  );
}

/** Leases by address; the serving node by name when `names` knows it. */
export function formatLeases(leases: DhcpLease[], names: Map<string, string>): string {
  const key = (ip: string) => ip.split(".").reduce((a, p) => a * 256 + Number(p), 0);
  const sorted = [...leases].sort((a, b) => key(a.ip) - key(b.ip));
  return table(
    ["IP", "MAC", "HOSTNAME", "STATE", "NODE", "EXPIRES"],
    sorted.map((l) => [l.ip, l.mac, l.hostname || "-", l.state, names.get(l.node) ?? l.node,
      l.expiresInS > 0 ? `in ${l.expiresInS} s` : "expired"]),
  );
}

/** `divs remove`: one line for what happened, one for the members that did not answer. */
export function formatRemove(r: RemoveReply): string {
  const moved = `${r.moved.length} member${r.moved.length === 1 ? "" : "s"}`;
  const lines = [`removed ${r.name} (${r.id}): banned switch-wide; ${moved} moved to the new key ${r.keyId}`];
  if (r.missed.length > 0) {
    lines.push(`did not answer in time, cut off until they join again (divs invite): ${r.missed.join(", ")}`);
  }
  return lines.join("\n");
}

export function formatKeys(keys: KeyInfo[]): string {
  return table(["KEY ID", "PRIMARY"], keys.map((k) => [k.id, k.primary ? "yes" : ""]));
}

/** An ARP/ND counter pair as "arp/nd". */
function arpNd(s: Status, what: string): string {
  return `${s.counters[`arp_${what}`] ?? 0}/${s.counters[`nd_${what}`] ?? 0}`;
}

export function formatStatus(s: Status): string {
  const members = Object.entries(s.members).map(([k, v]) => `${v} ${k}`).join(", ") || "none";
  const lines = [
    `node      ${s.name} (${s.id})`,
    `version   ${s.version} on ${s.runtime}`,
    `tap       ${s.tap} mtu ${s.mtu}${s.address ? ` address ${s.address}` : ""}`,
    `underlay  listen ${s.listen}, advertised ${s.advertise}`,
    `observed  ${s.observed.join(", ") || "none yet"}, nat ${s.nat}`,
    `relaying  ${s.relay.pairs.length} pairs, ${s.security.counters.relay_forwarded} forwarded (${s.security.counters.relay_bytes} bytes), ` +
      `routes ${s.relay.routes.length}`,
    `uptime    ${(s.uptimeMs / 1000).toFixed(0)} s`,
    `members   ${members}`,
    `macs      ${s.macs}`,
    `arp/nd    answered ${arpNd(s, "answered_locally")}, flooded ${s.counters.arp_requests_flooded ?? 0}/${s.counters.nd_solicits_flooded ?? 0}, conflicts ${s.counters.ip_conflicts ?? 0}`,
    ...(s.dhcp ? [
      `dhcp      owns ${s.dhcp.ownedAddresses} of ${s.dhcp.poolAddresses} addresses (${s.dhcp.owned.join(", ") || "none"}),` +
      ` ${s.dhcp.boundOwned} of them bound; ${s.dhcp.bound} bound switch-wide, ${s.dhcp.owners} owners`,
    ] : []),
    `keys      ${s.security.keys.map((k) => k.id + (k.primary ? " (primary)" : "")).join(", ")}`,
    `sessions  ${s.security.sessions.length}, handshakes pending ${s.security.pendingHandshakes}`,
    `removed   ${s.security.bans.join(", ") || "none"}`,
    "",
    table(["COUNTER", "VALUE"], Object.entries(s.counters).filter(([, v]) => v !== 0).map(([k, v]) => [k, v])),
    "",
    // Every transport counter, zeros included: a rejection reason that stays 0 is news too.
    table(["REJECTED", "COUNT"], REJECTION_COUNTERS.map((k) => [k, s.security.counters[k]])),
    "",
    table(["TRANSPORT", "COUNT"], ACTIVITY_COUNTERS.map((k) => [k, s.security.counters[k]])),
  ];
  if (s.relay.routes.length > 0) {
    lines.push("", table(["ROUTED PEER", "SEND TO", "KIND"], s.relay.routes.map((r) => [r.peer, r.sendTo, r.kind])));
  }
  if (s.relay.pairs.length > 0) {
    lines.push("", table(
      ["RELAY PAIR", "", "RATE", "BYTES"],
      s.relay.pairs.map((p) => [p.a, p.b, `${((p.rate * 8) / 1e6).toFixed(1)} Mbit/s`, p.bytes]),
    ));
  }
  if (s.security.sessions.length > 0) {
    lines.push("", table(
      ["PEER", "PEER ID", "KEY ID", "ROLE", "CONFIRMED", "AGE", "SENT"],
      s.security.sessions.map((x) => [
        x.peer, x.peerId ?? "-", x.keyId, x.initiator ? "initiator" : "responder", x.confirmed ? "yes" : "no", `${(x.ageMs / 1000).toFixed(0)} s`, x.sent,
      ]),
    ));
  }
  return lines.join("\n");
}
