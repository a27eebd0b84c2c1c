#!/usr/bin/env node
// rss-parts.mjs PID...: where a running node's resident memory goes, from /proc/PID/smaps (root, or the
// process's owner). The parts of docs/performance.md "Memory": the runtime's executable and the other
// files mapped (shared with every process that maps them: PSS is the fair share), the V8 heap and code,
// the core's WASM memory, malloc's main heap and its per-thread arenas, thread stacks, and the rest
// (buffers malloc'd on their own: the underlay socket's ring, koffi's, Deno's TAP ring). Mappings are
// told apart by their shape, as glibc and V8 make them on x86_64 and aarch64 Linux:
// - a thread arena: a 64 MB aligned heap, its unused part PROT_NONE, 64 MB in all;
// - WASM memory: followed by a PROT_NONE guard region of several GB;
// - a thread stack: a mapping of 1 MB or more right after a one-page PROT_NONE guard;
// - V8's heap and code pages: V8 places them below the addresses mmap hands out by default.
import fs from "node:fs";

const MAPPING = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$/;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const ARENA = 64 * MiB;
const V8_BELOW = 0x7e0000000000; // mmap's default region starts near 0x7fxx_xxxx_xxxx on 47-bit user space

function mappings(pid) {
  const out = [];
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const m = MAPPING.exec(line);
    if (m) out.push({ start: parseInt(m[1], 16), end: parseInt(m[2], 16), perm: m[3], path: m[4].trim(), rss: 0, pss: 0 });
    else if (line.startsWith("Rss:")) out.at(-1).rss = Number(line.split(/\s+/)[1]);
    else if (line.startsWith("Pss:")) out.at(-1).pss = Number(line.split(/\s+/)[1]);
  }
  return out;
}

function partOf(m, prev, next, exe) {
  if (m.path === exe) return "executable (file)";
  if (m.path.startsWith("/")) return "libraries and other files";
  if (m.path === "[heap]") return "malloc: main heap";
  if (m.path === "[stack]") return "thread stacks";
  if (m.path.startsWith("[")) return "other";
  const guardAfter = next && next.perm === "---p" && next.start === m.end;
  if (guardAfter && next.end - m.start >= 4 * GiB) return "core WASM memory";
  if (guardAfter && m.start % ARENA === 0 && next.end - m.start === ARENA) return "malloc: thread arenas";
  const guardBefore = prev && prev.perm === "---p" && prev.end === m.start && prev.end - prev.start === 4096;
  if (guardBefore && m.end - m.start >= MiB) return "thread stacks";
  if (m.start < V8_BELOW) return "V8 heap and code";
  return "other anonymous (buffers malloc'd on their own)";
}

for (const pid of process.argv.slice(2)) {
  const exe = fs.readlinkSync(`/proc/${pid}/exe`);
  const maps = mappings(pid);
  const parts = new Map();
  maps.forEach((m, i) => {
    const part = partOf(m, maps[i - 1], maps[i + 1], exe);
    const p = parts.get(part) ?? { rss: 0, pss: 0 };
    p.rss += m.rss;
    p.pss += m.pss;
    parts.set(part, p);
  });
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN);
  const mib = (k) => (k / 1024).toFixed(1).padStart(6);
  console.log(`pid ${pid} (${exe}): RSS ${mib(kib("VmRSS"))} MiB, peak ${mib(kib("VmHWM"))} MiB`);
  for (const [part, p] of [...parts].sort((a, b) => b[1].rss - a[1].rss)) {
    if (p.rss > 0) console.log(`  ${part.padEnd(48)} RSS ${mib(p.rss)}  PSS ${mib(p.pss)} MiB`);
  }
}
