// `divs remove` end to end (docs/security.md "Removing a node"): four nodes in namespaces, one of them
// joined by invitation, one (c) on Deno; d is removed on b while pings run between the other three (none lost), then
// d's datagrams are dropped and counted, d cannot come back with its old key, nor with its identity and
// a fresh invitation, and a remaining member restarted from its state directory still refuses it, as
// does a node that joins after the removal (it hears the ban from the members that see it join).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { MEMBERSHIP, skipReason, Testbed, waitFor } from "./harness.mjs";

const skip = skipReason();
if (skip) console.error(`\n*** ${skip} ***\n`);

const CONVERGE_MS = 15_000;
/** c's TAP keeps its MAC across its restart, so the others' neighbour entries for it stay right. */
const C_MAC = "02:72:6d:00:00:03";
/** The rejections a removed node's datagrams are counted under, whichever it sends. */
const REFUSALS = ["no_session", "unknown_key_id", "banned"];

/** `ping` in a namespace for its whole run; `result` resolves with what its summary says. */
function pingThroughout(bed, from, to, count, interval) {
  const proc = spawn("ip", ["netns", "exec", bed.node(from).ns, "ping", "-c", String(count), "-i", String(interval), "-W", "1",
    bed.node(to).overlay], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const result = new Promise((resolve) => proc.once("exit", () => resolve(out))).then((text) => {
    const m = /(\d+) packets transmitted, (\d+) received/.exec(text);
    assert.ok(m, `ping ${from} -> ${to} printed no summary: ${text.slice(-300)}`);
    return { transmitted: Number(m[1]), received: Number(m[2]), summary: text.split("\n").filter((l) => /packets|rtt/.test(l)).join("; ") };
  });
  return { proc, result };
}

describe("divs remove on a running switch", { skip: skip ?? false }, () => {
  const bed = new Testbed({ prefix: "rm-" });
  const kept = ["a", "b", "c"];
  const scratch = mkdtempSync(join(tmpdir(), "rm-"));
  const config = join(scratch, "config.json");
  writeFileSync(config, JSON.stringify(MEMBERSHIP));
  const start = (name, options = {}) => bed.start(name, { config, ...options });
  const security = async (name) => (await bed.ctl(name, "status")).security;
  const refusals = async (names) => {
    let n = 0;
    for (const name of names) {
      const c = (await security(name)).counters;
      for (const k of REFUSALS) n += c[k];
    }
    return n;
  };
  let dId = null;
  let oldKeyId = null;
  let newKeyId = null;
  /** a, b and c's refusals right after the removal, and what d's core had sent by then. */
  let atRemoval = null;

  before(async () => {
    await bed.setup(["a", "b", "c", "d", "e"]);
    start("a");
    await waitFor("node a's control socket", CONVERGE_MS, () => bed.ctl("a", "status"));
    // b joins by invitation: the new key must reach members that never had a key file.
    start("b", { key: "", extra: ["--join", (await bed.ctl("a", "invite")).invitation] });
    start("c", { join: "a", runtime: "deno", mac: C_MAC }); // the removal's messages between the two hosts
    start("d", { join: "a" });
    for (const n of ["a", "b", "c", "d"]) {
      await waitFor(`${n} to see a, b, c, d alive`, CONVERGE_MS, async () => (await bed.aliveNames(n)).join() === "a,b,c,d");
    }
    for (const n of kept) await waitFor(`ping d -> ${n}`, CONVERGE_MS, () => bed.ping("d", n)); // d's MAC is known everywhere
    dId = (await bed.ctl("a", "members")).find((m) => m.name === "d").id;
    oldKeyId = (await security("a")).keys[0].id;
    for (const n of kept) {
      await waitFor(`${n} to know d's MAC`, CONVERGE_MS, async () => (await bed.ctl(n, "macs")).some((e) => e.owner === dId));
    }
  });

  after(async () => {
    await bed.teardown();
    rmSync(scratch, { recursive: true, force: true });
  });

  test("removing d on b moves a, b, c to a new key with no ping lost; d is dead everywhere and keeps its old key", async () => {
    const pings = [pingThroughout(bed, "a", "c", 300, 0.05), pingThroughout(bed, "b", "a", 300, 0.05), pingThroughout(bed, "c", "b", 300, 0.05)];
    await waitFor("the pings to get going", 5000, () => pings.every((p) => p.proc.exitCode === null));
    const reply = await bed.ctl("b", "remove", "d");
    // d goes on probing the others until it takes them for dead: its datagrams keep coming for a while.
    atRemoval = { refused: await refusals(kept), sent: (await bed.ctl("d", "status")).counters.datagrams_out };
    console.error(`divs remove d: ${JSON.stringify(reply)}`);
    assert.equal(reply.id, dId);
    assert.deepEqual(reply.moved.sort(), ["a", "c"]);
    assert.deepEqual(reply.missed, []);
    newKeyId = reply.keyId;
    assert.notEqual(newKeyId, oldKeyId);
    for (const n of kept) {
      const s = await security(n);
      assert.deepEqual(s.keys, [{ id: newKeyId, primary: true }], `${n} holds the new key only`);
      assert.deepEqual(s.bans, [dId], `${n} bans d`);
      await waitFor(`${n} to hold confirmed sessions under ${newKeyId} with the two others`, CONVERGE_MS, async () => {
        const peers = new Set((await security(n)).sessions.filter((x) => x.keyId === newKeyId && x.confirmed).map((x) => x.peerId));
        return peers.size === 2 && !peers.has(dId);
      });
      await waitFor(`${n} to see d dead and drop its MACs`, CONVERGE_MS, async () => {
        const d = (await bed.ctl(n, "members")).find((m) => m.id === dId);
        return d.state === "dead" && !(await bed.ctl(n, "macs")).some((e) => e.owner === dId);
      });
    }
    assert.ok(pings.every((p) => p.proc.exitCode === null), "the removal finished while the pings still ran");
    for (const p of pings) {
      const r = await p.result;
      console.error(`during the removal: ${r.summary}`);
      assert.equal(r.received, r.transmitted, `no lost ping: ${r.summary}`);
    }
    assert.deepEqual((await security("d")).keys, [{ id: oldKeyId, primary: true }], "d never got the new key");
  });

  test("d's datagrams are dropped and counted; its pings go unanswered", async () => {
    const sent = (await bed.ctl("d", "status")).counters.datagrams_out - atRemoval.sent;
    const refused = (await refusals(kept)) - atRemoval.refused;
    console.error(`since the removal d sent ${sent} datagrams; a, b, c refused ${refused} (${REFUSALS.join(", ")})`);
    assert.ok(sent > 0 && refused > 0, "d's datagrams reached a, b, c and were refused");
    const r = await pingThroughout(bed, "d", "a", 5, 0.2).result;
    assert.equal(r.received, 0, `d reached a: ${r.summary}`);
    for (const n of kept) assert.ok(!(await bed.aliveNames(n)).includes("d"));
  });

  test("d restarted with its old key is refused (unknown key), and with a fresh invitation (banned identity)", async () => {
    await bed.stop("d");
    const keyBefore = (await security("a")).counters.unknown_key_id;
    start("d", { join: "a" }); // bed.key: the key d knew
    await waitFor("a to refuse d's handshakes under the old key", CONVERGE_MS, async () => (await security("a")).counters.unknown_key_id > keyBefore);
    assert.deepEqual(await bed.aliveNames("d"), ["d"], "d joined nobody");
    await bed.stop("d");

    // An invitation hands over the new key, but d's identity is banned: every member refuses its handshakes.
    const bannedBefore = (await security("a")).counters.banned;
    start("d", { key: "", extra: ["--join", (await bed.ctl("a", "invite")).invitation] });
    await waitFor("d to get the new key by the invitation", CONVERGE_MS, () => /invitation was accepted/.test(bed.node("d").log));
    await waitFor("a to refuse d's handshakes as banned", CONVERGE_MS, async () => (await security("a")).counters.banned > bannedBefore);
    assert.deepEqual(await bed.aliveNames("d"), ["d"], "d joined nobody");
    for (const n of kept) assert.ok(!(await bed.aliveNames(n)).includes("d"));
    await bed.stop("d");
  });

  test("c restarted from its state directory still refuses d", async () => {
    const token = (await bed.ctl("a", "token")).token; // the new key, as an operator would restart c
    await bed.stop("c");
    start("c", { key: "", env: { DIVS_TOKEN: token }, runtime: "deno", mac: C_MAC });
    for (const n of kept) {
      await waitFor(`${n} to see a, b, c alive`, CONVERGE_MS, async () => (await bed.aliveNames(n)).join() === "a,b,c");
    }
    assert.deepEqual((await security("c")).bans, [dId], "c read the ban back from its state directory");
    const bannedBefore = (await security("c")).counters.banned;
    start("d", { key: "", extra: ["--join", (await bed.ctl("c", "invite")).invitation] });
    await waitFor("d to get the new key from c's invitation", CONVERGE_MS, () => /invitation was accepted/.test(bed.node("d").log));
    await waitFor("c to refuse d's handshakes as banned", CONVERGE_MS, async () => (await security("c")).counters.banned > bannedBefore);
    assert.deepEqual(await bed.aliveNames("d"), ["d"], "d joined nobody");
    assert.ok(!(await bed.aliveNames("c")).includes("d"));
    await bed.stop("d");
    await waitFor("ping a -> c", CONVERGE_MS, () => bed.ping("a", "c")); // c's new TAP, same MAC
  });

  test("e, joining after the removal, hears the ban from the members and refuses d", async () => {
    start("e", { key: "", env: { DIVS_TOKEN: (await bed.ctl("b", "token")).token } });
    await waitFor("e to see a, b, c, e alive", CONVERGE_MS, async () => (await bed.aliveNames("e")).join() === "a,b,c,e");
    await waitFor("e to hold d's ban", CONVERGE_MS, async () => (await security("e")).bans.includes(dId));
    const bannedBefore = (await security("e")).counters.banned;
    start("d", { key: "", extra: ["--join", (await bed.ctl("e", "invite")).invitation] });
    await waitFor("d to get the key from e's invitation", CONVERGE_MS, () => /invitation was accepted/.test(bed.node("d").log));
    await waitFor("e to refuse d's handshakes as banned", CONVERGE_MS, async () => (await security("e")).counters.banned > bannedBefore);
    assert.deepEqual(await bed.aliveNames("d"), ["d"], "d joined nobody");
    await bed.stop("d");
  });
});
