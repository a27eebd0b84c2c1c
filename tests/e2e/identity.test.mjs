// End to end, node identities (docs/security.md "Identity", docs/state.md): a node's key pair lives in
// its state directory, so a restarted node comes back with the same node id; a session belongs to the
// identity that made it, so a node whose address changes keeps its session.
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { MEMBERSHIP, skipReason, Testbed, waitFor } from "./harness.mjs";

const skip = skipReason();
if (skip) console.error(`\n*** ${skip} ***\n`);

const CONVERGE_MS = 15_000;
const config = JSON.stringify(MEMBERSHIP);

describe("identity", { skip: skip ?? false }, () => {
  const bed = new Testbed({ prefix: "id-e2e-" });
  before(async () => {
    await bed.setup(["a", "b"]);
    const { writeFileSync } = await import("node:fs");
    writeFileSync(`/run/divs/${bed.prefix}config.json`, config);
    for (const name of ["a", "b"]) bed.start(name, { join: name === "b" ? "a" : null, config: `/run/divs/${bed.prefix}config.json` });
    await waitFor("a and b see each other", CONVERGE_MS, async () =>
      (await bed.aliveNames("a")).join() === "a,b" && (await bed.aliveNames("b")).join() === "a,b");
  });
  after(() => bed.teardown());

  test("the key pair is kept 0600 in a 0700 state directory", () => {
    const dir = bed.node("a").stateDir;
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const key = statSync(`${dir}/identity.key`);
    assert.equal(key.mode & 0o777, 0o600);
    assert.equal(key.size, 32);
  });

  test("a restarted node keeps its node id, and the others see it come back under that id", async () => {
    const before = (await bed.ctl("a", "status")).id;
    const other = (await bed.ctl("b", "status")).id;
    assert.notEqual(before, other, "two nodes, two identities");
    const seenByB = (await bed.ctl("b", "members")).find((m) => m.name === "a");
    assert.equal(seenByB.id, before);
    await bed.stop("a");
    bed.start("a", { join: "b", config: `/run/divs/${bed.prefix}config.json` });
    await waitFor("a back", CONVERGE_MS, () => bed.ctl("a", "status"));
    assert.equal((await bed.ctl("a", "status")).id, before);
    await waitFor("b sees a alive again, under the same id", CONVERGE_MS, async () => {
      const a = (await bed.ctl("b", "members")).find((m) => m.name === "a");
      return a?.state === "alive" && a.id === before;
    });
    await bed.ping("b", "a");
  });

  test("a node whose underlay address changes keeps its session: no new handshake, pings go on", async () => {
    // b listens on every address, so it still receives once its address changes under it.
    await bed.stop("b");
    const b = bed.node("b");
    bed.start("b", { join: "a", config: `/run/divs/${bed.prefix}config.json`, listen: "0.0.0.0:4790", advertise: `${b.underlay}:4790` });
    await waitFor("b back", CONVERGE_MS, async () => (await bed.aliveNames("a")).includes("b") && (await bed.aliveNames("b")).join() === "a,b");
    await waitFor("ping b -> a", CONVERGE_MS, () => bed.ping("b", "a"));
    const bId = (await bed.ctl("b", "status")).id;
    const sessionsOf = async () => (await bed.ctl("a", "status")).security;
    const before = await sessionsOf();
    assert.ok(before.sessions.some((s) => s.peerId === bId), `a holds a session proven by b's identity: ${JSON.stringify(before.sessions)}`);
    // b's NAT rebinds, as it were: its address changes (the old one is gone), its sessions stay.
    const moved = "198.19.0.102";
    // (promote_secondaries: deleting the first address of a subnet would take the second with it.)
    await bed.exec("b", "sysctl", "-q", "-w", "net.ipv4.conf.ul0.promote_secondaries=1");
    await bed.exec("b", "ip", "addr", "add", `${moved}/24`, "dev", "ul0");
    await bed.exec("b", "ip", "addr", "del", `${b.underlay}/24`, "dev", "ul0");
    await bed.ping("b", "a", 5);
    await bed.ping("a", "b", 5);
    const after = await sessionsOf();
    assert.ok(after.counters.peer_roamed >= 1, "a saw b's datagrams come from the new address");
    const handshakes = (s) => s.counters.sessions_initiated + s.counters.sessions_responded;
    assert.equal(handshakes(after), handshakes(before), "no handshake was redone");
    assert.ok(after.sessions.some((s) => s.peerId === bId), "the session is still b's");
    assert.deepEqual(await bed.aliveNames("a"), ["a", "b"]);
  });
});
