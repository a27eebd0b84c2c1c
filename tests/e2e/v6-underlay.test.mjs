// End to end: the IPv6 underlay (docs/host.md "The underlay socket", "Local candidates").
// - Two nodes whose underlay is IPv6 only (their veths carry no IPv4 address): b (under Deno, the
//   other runtime's socket and interface list) joins a by "[v6]:port"; ping and a TCP transfer cross
//   the overlay, and the underlay datagrams are IPv6 (counted by ip6tables-free means: the veth's
//   IPv6 and IPv4 packet counters from /proc/net/snmp6 and /proc/net/snmp in each namespace).
// - A mixed switch: c listens on 0.0.0.0 (IPv4 only), d on [::] (dual stack, default); c joins d,
//   whose socket sees c as ::ffff:a.b.c.d.
// Addresses: the network rules allow 198.18.0.0/15 only and name no IPv6 prefix, so the IPv6 underlay
// uses the NAT64 well-known prefix with those IPv4 addresses embedded (RFC 6052: 64:ff9b::198.19.0.x,
// i.e. 64:ff9b::c613:x), only on veths inside this test's own namespaces (prefix divs-v6-), with no
// route out of them.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { MEMBERSHIP, PORT, skipReason, Testbed, waitFor } from "./harness.mjs";

const skip = skipReason();
if (skip) console.error(`\n*** ${skip} ***\n`);

const CONVERGE_MS = 20_000;
const TRANSFER_SECONDS = 2;

/** The IPv6 underlay address of the node with IPv4 underlay 198.19.0.x. */
const v6Of = (ipv4) => `64:ff9b::${ipv4}`;
const canonicalV6 = (ipv4) => {
  const [, , c, d] = ipv4.split(".").map(Number);
  return `64:ff9b::c613:${((c << 8) | d).toString(16)}`;
};

describe("IPv6 underlay", { skip: skip ?? false }, () => {
  const bed = new Testbed({ prefix: "divs-v6-" });
  const scratch = mkdtempSync(join(tmpdir(), "divs-e2e-"));
  const config = join(scratch, "config.json");
  writeFileSync(config, JSON.stringify(MEMBERSHIP));

  /** Gives the node's veth the embedded IPv6 address; `only`: and takes its IPv4 address away. */
  const addV6 = async (name, only) => {
    const n = bed.node(name);
    await bed.exec(name, "ip", "addr", "add", `${v6Of(n.underlay)}/120`, "dev", "ul0", "nodad");
    if (only) await bed.exec(name, "ip", "-4", "addr", "flush", "dev", "ul0");
  };
  /** UDP datagrams the namespace's kernel sent over IPv6 and over IPv4 (SNMP counters). */
  const udpSent = async (name) => {
    const v6 = Number(/^Udp6OutDatagrams\s+(\d+)$/m.exec(await bed.exec(name, "cat", "/proc/net/snmp6"))[1]);
    const lines = (await bed.exec(name, "cat", "/proc/net/snmp")).split("\n").filter((l) => l.startsWith("Udp:"));
    const [keys, values] = lines.map((l) => l.trim().split(/\s+/));
    return { v6, v4: Number(values[keys.indexOf("OutDatagrams")]) };
  };
  const alive = async (name) => (await bed.ctl(name, "members")).filter((m) => m.state === "alive").map((m) => m.name).sort();

  before(async () => {
    await bed.setup(["a", "b", "c", "d"]);
    await addV6("a", true);
    await addV6("b", true);
    await addV6("d", false);
  });

  after(async () => {
    if (process.env.DIVS_E2E_LOGS) for (const [n, node] of bed.nodes) console.error(`--- ${n}\n${node.log}`);
    await bed.teardown();
    rmSync(scratch, { recursive: true, force: true });
  });

  test("IPv6-only nodes: b (Deno) joins a by [v6]:port, the advertise guess picks the IPv6 address", async () => {
    const a = bed.node("a");
    // a has no IPv4 address: listening on [::] it must guess its IPv6 one.
    bed.start("a", { config, listen: `[::]:${PORT}` });
    await waitFor("node a's control socket", CONVERGE_MS, () => bed.ctl("a", "status"));
    const status = await bed.ctl("a", "status");
    assert.equal(status.listen, `[::]:${PORT}`);
    assert.equal(status.advertise, `[${canonicalV6(a.underlay)}]:${PORT}`);
    bed.start("b", { config, runtime: "deno", listen: `[::]:${PORT}`, join: `[${v6Of(a.underlay)}]:${PORT}` });
    for (const n of ["a", "b"]) {
      await waitFor(`${n} to see a and b alive`, CONVERGE_MS, async () => JSON.stringify(await alive(n)) === '["a","b"]');
    }
    const members = await bed.ctl("a", "members");
    assert.equal(members.find((m) => m.name === "b").address, `[${canonicalV6(bed.node("b").underlay)}]:${PORT}`);
    const sessions = (await bed.ctl("a", "status")).security.sessions.map((s) => s.peer);
    assert.ok(sessions.includes(`[${canonicalV6(bed.node("b").underlay)}]:${PORT}`), JSON.stringify(sessions));
  });

  test("ping and a TCP transfer cross the overlay over IPv6, every underlay datagram IPv6", async (t) => {
    const before = await udpSent("a");
    await bed.ping("a", "b", 3);
    await bed.ping("b", "a", 3);
    const server = bed.exec("b", "iperf3", "-s", "-1", "-B", bed.node("b").overlay);
    await waitFor("iperf3 server", 5000, () => bed.exec("b", "ss", "-ltn").then((s) => s.includes(":5201")));
    const out = JSON.parse(await bed.exec("a", "iperf3", "-c", bed.node("b").overlay, "-t", String(TRANSFER_SECONDS), "-J"));
    await server;
    assert.ok(out.end.sum_received.bytes > 1e6, `${out.end.sum_received.bytes} bytes arrived: at least a megabyte crossed`);
    const after = await udpSent("a");
    assert.ok(after.v6 - before.v6 > 1000, `IPv6 datagrams sent: ${after.v6 - before.v6}`);
    assert.equal(after.v4 - before.v4, 0, "no IPv4 datagram");
    // The search finds the 1500-byte link with IPv6's 48 bytes of headers (within the search's 8-byte grain).
    const pmtu = await waitFor("a's pmtu for b near 1500", CONVERGE_MS, async () => {
      const v = (await bed.ctl("a", "members")).find((m) => m.name === "b")?.pmtu;
      return v > 1500 - 8 ? v : null;
    });
    assert.ok(pmtu <= 1500, `pmtu ${pmtu}`);
    t.diagnostic(`TCP ${(out.end.sum_received.bits_per_second / 1e6).toFixed(0)} Mbit/s over the IPv6 underlay, pmtu ${pmtu}`);
  });

  test("a mixed switch: c on 0.0.0.0 (IPv4 only) joins d on [::] (dual stack); each sees the other at its IPv4 address", async () => {
    const c = bed.node("c");
    const d = bed.node("d");
    bed.start("d", { config, listen: `[::]:${PORT}` }); // advertises its IPv4 address (the guess prefers it)
    await waitFor("node d's control socket", CONVERGE_MS, () => bed.ctl("d", "status"));
    assert.equal((await bed.ctl("d", "status")).advertise, `${d.underlay}:${PORT}`);
    bed.start("c", { config, listen: `0.0.0.0:${PORT}`, join: `${d.underlay}:${PORT}` });
    for (const n of ["c", "d"]) {
      await waitFor(`${n} to see c and d alive`, CONVERGE_MS, async () => JSON.stringify(await alive(n)) === '["c","d"]');
    }
    assert.equal((await bed.ctl("d", "members")).find((m) => m.name === "c").address, `${c.underlay}:${PORT}`);
    assert.equal((await bed.ctl("c", "members")).find((m) => m.name === "d").address, `${d.underlay}:${PORT}`);
    await bed.ping("c", "d", 3);
    await bed.ping("d", "c", 3);
  });
});
