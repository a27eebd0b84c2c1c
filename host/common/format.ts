// Human-readable tables for `divs status|members|macs`.
import type { MacEntry, Member } from "./dumps.ts";
import type { Status } from "./control.ts";

export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n");
}

export function formatMembers(members: Member[]): string {
  const sorted = [...members].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return table(
    ["NAME", "ID", "ADDRESS", "STATE", "INC"],
    sorted.map((m) => [m.name + (m.self ? " (self)" : ""), m.id, m.address, m.state, m.incarnation]),
  );
}

export function formatMacs(macs: MacEntry[], names: Map<string, string>): string {
  const sorted = [...macs].sort((a, b) => a.mac.localeCompare(b.mac) || a.vlan - b.vlan);
  return table(
    ["MAC", "VLAN", "OWNER", "VERSION", "KIND"],
    sorted.map((m) => [m.mac, m.vlan, names.get(m.owner) ?? m.owner, m.version, m.kind]),
  );
}

export function formatStatus(s: Status): string {
  const members = Object.entries(s.members).map(([k, v]) => `${v} ${k}`).join(", ") || "none";
  const lines = [
    `node      ${s.name} (${s.id})`,
    `version   ${s.version} on ${s.runtime}`,
    `tap       ${s.tap} mtu ${s.mtu}${s.address ? ` address ${s.address}` : ""}`,
    `underlay  listen ${s.listen}, advertised ${s.advertise}`,
    `uptime    ${(s.uptimeMs / 1000).toFixed(0)} s`,
    `members   ${members}`,
    `macs      ${s.macs}`,
    "",
    table(["COUNTER", "VALUE"], Object.entries(s.counters).filter(([, v]) => v !== 0).map(([k, v]) => [k, v])),
  ];
  return lines.join("\n");
}
