// End to end, hard underlays (issue 13): the real CLI with default options in network namespaces of our
// own prefix (hu-), TCP by iperf3 over the overlay, the underlay shaped with nftables and MTUs:
//   - an underlay that drops every IPv4 fragment (as many firewalls, NATs and clouds do): TCP must cross
//     it, and no DiVS datagram may be fragmented;
//   - a routed underlay whose path MTU shrinks while TCP flows, first with the router's ICMP
//     "fragmentation needed", then with that ICMP dropped (a black hole): the transfer must go on and
//     `divs members --json` must show the narrower path MTU.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { sh, skipReason, Testbed, waitFor } from "./harness.mjs";

const skip = skipReason();
if (skip) console.error(`\n*** ${skip} ***\n`);

// One prefix per bed: a bed's setup() first removes every namespace of its prefix (leftovers of a killed run).
const PREFIX_FRAG = "hu-f-", PREFIX_PATH = "hu-p-";
const CONVERGE_MS = 15_000;
/** TCP over a fragment-dropping underlay: well above what a crawl of retransmissions gives, well below a clean run. */
const MIN_MBPS = 50;
/** The longest the TCP stream may move (almost) nothing while the path MTU shrinks: "a few seconds". */
const MAX_STALL_S = 5;
/** An interval of the iperf3 server's report below this rate counts as stalled. */
const STALL_MBPS = 1;

/** `nft -f -` in `ns` with `script` on stdin. */
function nft(ns, script) {
  return new Promise((resolve, reject) => {
    const proc = spawn("ip", ["netns", "exec", ns, "nft", "-f", "-"], { stdio: ["pipe", "ignore", "pipe"] });
    let err = "";
    proc.stderr.on("data", (d) => (err += d));
    proc.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`nft in ${ns} exited ${code}: ${err}`))));
    proc.stdin.end(script);
  });
}

/** The packet counts of the rules of one nft table in `ns`, in rule order. */
async function counters(ns, family, table) {
  const out = JSON.parse(await sh("ip", "netns", "exec", ns, "nft", "-j", "list", "table", family, table));
  return out.nftables.filter((o) => o.rule).map((o) => o.rule.expr.find((e) => e.counter)?.counter.packets ?? 0);
}

/** `iperf3 -s -1` in `to`'s namespace; waits until it listens. */
async function iperfServer(bed, to, ...extra) {
  const proc = spawn("ip", ["netns", "exec", bed.node(to).ns, "iperf3", "-s", "-1", "-B", bed.node(to).overlay, ...extra],
    { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  await waitFor("iperf3 server", 5000, () => bed.exec(to, "ss", "-ltn").then((s) => s.includes(":5201")));
  return { proc, exited };
}

/** iperf3 TCP from `from` to `to` for `secs`, bounded; the received Mbit/s (0 when nothing arrived). */
async function iperfMbps(bed, from, to, secs) {
  const server = await iperfServer(bed, to);
  const run = await sh("ip", "netns", "exec", bed.node(from).ns, "timeout", String(secs + 15), "iperf3", "-c", bed.node(to).overlay,
    "-t", String(secs), "-J").catch((e) => e.stdout ?? "{}");
  server.proc.kill();
  await server.exited;
  const out = JSON.parse(run || "{}");
  if (out.error) console.error(`iperf3 ${from} -> ${to}: ${out.error}`);
  return (out.end?.sum_received?.bits_per_second ?? 0) / 1e6;
}

/** `name`'s path MTU to `peer` as `divs members --json` on `name` shows it (undefined when it shows none). */
async function pmtuOf(bed, name, peer) {
  return (await bed.ctl(name, "members")).find((m) => m.name === peer)?.pmtu;
}

/** Waits up to `ms` for a's path MTU to b to satisfy `ok`; returns the last value seen either way (asserted later). */
async function pmtuWhen(bed, what, ms, ok) {
  let last;
  await waitFor(`a's pmtu to b ${what}`, ms, async () => ok((last = await pmtuOf(bed, "a", "b")))).catch(() => {});
  return last;
}

describe("an underlay that drops IPv4 fragments", { skip: skip ?? false }, () => {
  const bed = new Testbed({ prefix: PREFIX_FRAG });

  before(async () => {
    await bed.setup(["a", "b"]);
    // nb_impair's nofrag (../shared/bench/netns.sh) on both underlay ends: every fragment dropped, counted.
    for (const n of ["a", "b"]) {
      await nft(bed.node(n).ns, `table netdev hufrag {
        chain ingress { type filter hook ingress device "ul0" priority 0; ip frag-off & 0x3fff != 0 counter drop; }
      }\n`);
    }
    bed.start("a");
    await waitFor("node a's control socket", CONVERGE_MS, () => bed.ctl("a", "status"));
    bed.start("b", { join: "a" });
    await waitFor("ping a -> b", CONVERGE_MS, () => bed.ping("a", "b"));
  });

  after(async () => {
    if (process.env.DIVS_E2E_LOGS) for (const [n, node] of bed.nodes) console.error(`--- ${n}\n${node.log}`);
    await bed.teardown();
  });

  test(`TCP crosses it with default options at > ${MIN_MBPS} Mbit/s, and no DiVS datagram is fragmented`, { timeout: 30_000 }, async () => {
    const mbps = await iperfMbps(bed, "a", "b", 3);
    const dropped = (await counters(bed.node("a").ns, "netdev", "hufrag"))[0] + (await counters(bed.node("b").ns, "netdev", "hufrag"))[0];
    console.error(`iperf3 a -> b over a fragment-dropping underlay: ${mbps.toFixed(0)} Mbit/s, ${dropped} fragments dropped`);
    assert.ok(mbps > MIN_MBPS, `TCP moved ${mbps.toFixed(1)} Mbit/s, want > ${MIN_MBPS}`);
    assert.equal(dropped, 0, "IPv4 fragments reached the underlay ends (and were dropped)");
  });
});

describe("a path whose MTU shrinks while TCP flows", { skip: skip ?? false }, () => {
  const bed = new Testbed({ prefix: PREFIX_PATH });
  // The router's ICMP "fragmentation needed": the first rule counts every one it sends, the second (added
  // for the black-hole phase) drops them.
  const ICMP_TABLE = `table ip hupmtu {
    chain output { type filter hook output priority 0; icmp type destination-unreachable icmp code frag-needed counter; }
  }\n`;

  before(async () => {
    await bed.setupRouted("a", "b");
    await nft(bed.routerNs, ICMP_TABLE);
    bed.start("a");
    await waitFor("node a's control socket", CONVERGE_MS, () => bed.ctl("a", "status"));
    bed.start("b", { join: "a" });
    await waitFor("ping a -> b", CONVERGE_MS, () => bed.ping("a", "b"));
  });

  after(async () => {
    if (process.env.DIVS_E2E_LOGS) for (const [n, node] of bed.nodes) console.error(`--- ${n}\n${node.log}`);
    await bed.teardown();
  });

  test(`lowered to 1400 (ICMP answered) then 1280 (ICMP dropped): no stall over ${MAX_STALL_S} s, pmtu follows`, { timeout: 60_000 }, async () => {
    const seen = {};
    // The server reports what it received every 0.5 s; the phases run on its clock.
    const server = await iperfServer(bed, "b", "-i", "0.5", "-f", "m", "--forceflush");
    const intervals = [];
    let text = "";
    server.proc.stdout.on("data", (d) => {
      text += d;
      for (let nl; (nl = text.indexOf("\n")) >= 0; text = text.slice(nl + 1)) {
        const m = /\]\s+([\d.]+)-([\d.]+)\s+sec\s+[\d.]+\s+\w+\s+([\d.]+)\s+Mbits\/sec\s*$/.exec(text.slice(0, nl));
        if (m && Number(m[2]) - Number(m[1]) < 0.75) intervals.push({ end: Number(m[2]), mbps: Number(m[3]) });
      }
    });
    const until = (t) => waitFor(`the server's report to reach ${t} s`, (t + 10) * 1000, () => intervals.at(-1)?.end >= t, 50);
    const SECS = 24;
    const client = sh("ip", "netns", "exec", bed.node("a").ns, "timeout", String(SECS + 15), "iperf3", "-c", bed.node("b").overlay,
      "-t", String(SECS)).catch((e) => `iperf3 client failed: ${e.message}`);

    // Before the path narrows, a must have found the full 1500-byte path to b (or the test shows nothing).
    await until(2);
    seen.initial = await pmtuWhen(bed, "above 1400", 6000, (p) => p > 1400);
    const narrowed = intervals.at(-1).end;
    await sh("ip", "-n", bed.routerNs, "link", "set", "u2", "mtu", "1400");
    seen.afterIcmp = await pmtuWhen(bed, "at most 1400", 5000, (p) => p <= 1400);

    await until(narrowed + 6);
    const [icmpAnswered] = await counters(bed.routerNs, "ip", "hupmtu");
    await sh("ip", "netns", "exec", bed.routerNs, "nft", "add", "rule", "ip", "hupmtu", "output",
      "icmp", "type", "destination-unreachable", "icmp", "code", "frag-needed", "counter", "drop");
    await sh("ip", "-n", bed.routerNs, "link", "set", "u2", "mtu", "1280");
    seen.afterBlackHole = await pmtuWhen(bed, "at most 1280", 7000, (p) => p <= 1280);

    console.error((await client).split("\n").filter((l) => /sender|receiver|failed/.test(l)).join("\n"));
    await server.exited;
    const [, icmpDropped] = await counters(bed.routerNs, "ip", "hupmtu");
    let stall = 0, longest = 0;
    for (const i of intervals) {
      stall = i.mbps < STALL_MBPS ? stall + 0.5 : 0;
      longest = Math.max(longest, stall);
    }
    console.error(`rates every 0.5 s (Mbit/s): ${intervals.map((i) => i.mbps).join(" ")}`);
    console.error(`longest stall ${longest} s; router ICMP frag-needed sent ${icmpAnswered} at 1400, dropped ${icmpDropped} at 1280; a's pmtu to b: ${JSON.stringify(seen)}`);

    assert.ok(intervals.length >= 2 * SECS - 2, `the server reported ${intervals.length} intervals of 0.5 s in a ${SECS} s run`);
    assert.ok(longest <= MAX_STALL_S, `TCP stalled for ${longest} s`);
    assert.ok(intervals.slice(-4).every((i) => i.mbps >= STALL_MBPS), "TCP flows again at the end");
    assert.ok(icmpAnswered > 0, "the router answered oversized datagrams with ICMP frag-needed (DF set, path MTU 1400)");
    assert.ok(icmpDropped > 0, "the router had datagrams over 1280 to refuse in the black-hole phase");
    assert.ok(seen.initial > 1400, `a's pmtu to b before the path narrowed: ${seen.initial}`);
    assert.ok(seen.afterIcmp <= 1400, `a's pmtu to b after the ICMP-answered drop to 1400: ${seen.afterIcmp}`);
    assert.ok(seen.afterBlackHole <= 1280, `a's pmtu to b after the black-hole drop to 1280: ${seen.afterBlackHole}`);
  });
});
