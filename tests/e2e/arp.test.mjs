// End to end: ARP and Neighbor Discovery answered on the node (docs/arp.md) with the real CLI. Three
// nodes warm up (every pair pings over IPv4 and IPv6), then node a forgets its neighbours and asks
// again: the request for b's address must be answered by a's own node, so tcpdump on b's and c's
// TAPs sees none of it, while a request for an unbound address still floods (the capture works).
// A gratuitous ARP moving an address to another MAC is followed within 2 s.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MEMBERSHIP, skipReason, Testbed, waitFor } from "./harness.mjs";

const skip = skipReason();
if (skip) console.error(`\n*** ${skip} ***\n`);

const CONVERGE_MS = 15_000;
const TAP = "divs0";
const MOVE_BOUND_MS = 2000;
const MOVED_IP = "198.18.0.50";

/** tcpdump on `name`'s TAP with `filter` (epoch timestamps first); stop() resolves to the captured packet lines. */
async function capture(bed, name, filter) {
  const args = ["netns", "exec", bed.node(name).ns, "tcpdump", "-l", "-n", "-tt", "-i", TAP, filter];
  const proc = spawn("ip", args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (err += d));
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  await waitFor(`tcpdump on ${name} to listen`, 5000, () => err.includes("listening on"));
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 300)); // what is on its way to the TAP gets there
      proc.kill("SIGINT");
      await exited;
      return out.split("\n").filter(Boolean);
    },
  };
}

/** A gratuitous ARP for `ip` from the TAP's own MAC in `name`'s namespace, through a packet socket. */
function gratuitousArp(bed, name, ip) {
  const py = `
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
mac = open('/sys/class/net/%s/address' % sys.argv[1]).read().strip()
m = bytes.fromhex(mac.replace(':', ''))
ip = socket.inet_aton(sys.argv[2])
s.send(b'\\xff' * 6 + m + b'\\x08\\x06' + bytes.fromhex('0001080006040001') + m + ip + b'\\x00' * 6 + ip)
`;
  return bed.exec(name, "python3", "-c", py, TAP, ip);
}

async function tapMac(bed, name) {
  return (await bed.exec(name, "cat", `/sys/class/net/${TAP}/address`)).trim();
}

async function linkLocal(bed, name) {
  const out = await bed.exec(name, "ip", "-6", "-o", "addr", "show", "dev", TAP, "scope", "link");
  if (out.includes("tentative")) return null; // duplicate address detection still running
  return out.match(/inet6 (fe80::[0-9a-f:]+)\//)?.[1] ?? null;
}

async function ping6(bed, from, to) {
  await bed.exec(from, "ping", "-6", "-c", "1", "-W", "1", `${to}%${TAP}`);
  return true;
}

async function counters(bed, name) {
  return (await bed.ctl(name, "status")).counters;
}

/** The MAC `name`'s `divs macs --json` binds `ip` to, or null. */
async function boundMac(bed, name, ip) {
  return (await bed.ctl(name, "macs")).find((m) => m.ips.includes(ip))?.mac ?? null;
}

describe("ARP and ND answered on the node", { skip: skip ?? false }, () => {
  const bed = new Testbed({ prefix: "ap-" });
  const scratch = mkdtempSync(join(tmpdir(), "divs-e2e-"));
  const config = join(scratch, "config.json");
  writeFileSync(config, JSON.stringify(MEMBERSHIP));
  const six = new Map();

  before(async () => {
    await bed.setup(["a", "b", "c"]);
    bed.start("a", { config });
    await waitFor("node a's control socket", CONVERGE_MS, () => bed.ctl("a", "status"));
    bed.start("b", { config, join: "a" });
    bed.start("c", { config, join: "a" });
    await waitFor("three members everywhere", CONVERGE_MS, async () =>
      (await Promise.all(["a", "b", "c"].map((n) => bed.aliveNames(n)))).every((l) => l.length === 3));
    for (const n of ["a", "b", "c"]) six.set(n, await waitFor(`${n}'s link-local address`, 5000, () => linkLocal(bed, n)));
    // Warm-up: every pair talks, so every host has spoken ARP and ND for its own addresses.
    for (const from of ["a", "b", "c"]) {
      for (const to of ["a", "b", "c"]) {
        if (from === to) continue;
        await waitFor(`${from} to ping ${to}`, 10_000, () => bed.ping(from, to));
        await waitFor(`${from} to ping ${to} over IPv6`, 10_000, () => ping6(bed, from, six.get(to)));
      }
    }
    await waitFor("b's addresses bound on a", 5000, async () =>
      (await boundMac(bed, "a", bed.node("b").overlay)) !== null && (await boundMac(bed, "a", six.get("b"))) !== null);
  });

  after(async () => {
    if (process.env.DIVS_E2E_LOGS) for (const [n, node] of bed.nodes) console.error(`--- ${n}\n${node.log}`);
    await bed.teardown();
    rmSync(scratch, { recursive: true, force: true });
  });

  test("divs macs lists each MAC's addresses", async () => {
    const macs = await bed.ctl("c", "macs");
    const bMac = await tapMac(bed, "b");
    const b = macs.find((m) => m.mac === bMac);
    assert.ok(b, JSON.stringify(macs));
    assert.ok(b.ips.includes(bed.node("b").overlay) && b.ips.includes(six.get("b")), JSON.stringify(b));
  });

  test("an ARP request for a bound address is answered on a's node: none reaches b's or c's TAP", async () => {
    const filter = `arp and arp[6:2] = 1 and arp[24:4] = 0xc6120002`; // who-has 198.18.0.2
    const caps = [await capture(bed, "b", filter), await capture(bed, "c", filter)];
    const atA = await capture(bed, "a", "arp");
    const before = await counters(bed, "a");
    await bed.exec("a", "ip", "neigh", "flush", "dev", TAP);
    await bed.ping("a", "b");
    const [atB, atC] = await Promise.all(caps.map((c) => c.stop()));
    // The answer comes from a's own node (no request reached b's or c's TAP, asserted below); its time
    // against a round trip to b is printed, not asserted: the first frame after idle wakes a cold node.
    const arpLines = await atA.stop();
    const request = arpLines.find((l) => l.includes("Request who-has 198.18.0.2"));
    const reply = arpLines.find((l) => l.includes("Reply 198.18.0.2 is-at"));
    assert.ok(request && reply, arpLines.join("\n"));
    const answerMs = (parseFloat(reply) - parseFloat(request)) * 1000;
    const rtt = (await bed.exec("a", "ping", "-c", "5", "-i", "0.2", "-W", "1", bed.node("b").overlay)).match(/= ([\d.]+)\//);
    console.log(`# ARP answered on a's node in ${answerMs.toFixed(3)} ms; best ping RTT a-b ${rtt?.[1]} ms`);
    const after = await counters(bed, "a");
    assert.deepEqual(atB, [], "requests for b's address reached b's TAP");
    assert.deepEqual(atC, [], "requests for b's address reached c's TAP");
    assert.ok(after.arp_answered_locally > (before.arp_answered_locally ?? 0), JSON.stringify(after));
    const neigh = await bed.exec("a", "ip", "neigh", "show", bed.node("b").overlay, "dev", TAP);
    assert.ok(neigh.includes(await tapMac(bed, "b")), neigh);
  });

  test("a request for an unbound address still floods (the capture sees it)", async () => {
    const cap = await capture(bed, "c", "arp and arp[6:2] = 1 and arp[24:4] = 0xc6120063"); // 198.18.0.99
    await bed.exec("a", "ping", "-c", "1", "-W", "1", "198.18.0.99").catch(() => {}); // nobody answers
    assert.ok((await cap.stop()).length >= 1, "the flooded request did not reach c's TAP");
  });

  test("a Neighbor Solicitation for b's address is answered on a's node", async () => {
    const target = six.get("b");
    const caps = [await capture(bed, "b", "icmp6 and ip6[40] = 135"), await capture(bed, "c", "icmp6 and ip6[40] = 135")];
    const before = await counters(bed, "a");
    await bed.exec("a", "ip", "-6", "neigh", "flush", "dev", TAP);
    await ping6(bed, "a", target);
    const lines = await Promise.all(caps.map((c) => c.stop()));
    const after = await counters(bed, "a");
    // A multicast NS (to b's solicited-node group) is the node's to answer; a unicast one (a's kernel
    // confirming reachability, e.g. of an entry it probed before the flush) goes to b like any unicast (docs/arp.md).
    for (const [i, l] of lines.entries()) {
      const multicast = l.filter((x) => x.includes(`who has ${target}`) && / > ff02::1:ff/.test(x));
      assert.deepEqual(multicast, [], `a multicast NS for b's address reached ${"bc"[i]}'s TAP`);
    }
    assert.ok(after.nd_answered_locally > (before.nd_answered_locally ?? 0), JSON.stringify(after));
  });

  test(`an address moved by gratuitous ARP to another node's MAC is followed within ${MOVE_BOUND_MS} ms`, async () => {
    await bed.exec("c", "ip", "addr", "add", `${MOVED_IP}/32`, "dev", TAP);
    await gratuitousArp(bed, "c", MOVED_IP);
    const cMac = await tapMac(bed, "c");
    await waitFor("the address bound to c's MAC on a", 5000, async () => (await boundMac(bed, "a", MOVED_IP)) === cMac);
    await bed.exec("c", "ip", "addr", "del", `${MOVED_IP}/32`, "dev", TAP);
    await bed.exec("b", "ip", "addr", "add", `${MOVED_IP}/32`, "dev", TAP);
    // Past the conflict window: this is a move, not two MACs claiming at once.
    await new Promise((r) => setTimeout(r, 5500));
    const bMac = await tapMac(bed, "b");
    const t0 = Date.now();
    await gratuitousArp(bed, "b", MOVED_IP);
    await waitFor("the move on a and c", MOVE_BOUND_MS, async () =>
      (await boundMac(bed, "a", MOVED_IP)) === bMac && (await boundMac(bed, "c", MOVED_IP)) === bMac, 50);
    console.log(`# moved address followed on a and c after ${Date.now() - t0} ms`);
    assert.equal((await counters(bed, "a")).ip_conflicts ?? 0, 0);
  });
});
