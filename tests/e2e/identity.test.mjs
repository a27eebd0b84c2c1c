// End to end, node identities (docs/security.md "Identity", docs/state.md): a node's key pair lives in
// its state directory, so a restarted node comes back with the same node id.
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
});
