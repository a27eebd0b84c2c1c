// Single-use invitations end to end (docs/security.md "Invitations"): `divs invite` on a member, a node
// with no key joins with it; the same invitation again, a changed secret and an expired invitation are
// refused with an error saying which, exit 2; the node that was refused a wrong secret still joins with
// the right one.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Testbed, skipReason, waitFor } from "./harness.mjs";

const skip = skipReason();
if (skip) console.error(`\n*** ${skip} ***\n`);

describe("invitations", { skip: skip ?? false }, () => {
  const bed = new Testbed({ prefix: "divs-i-" });
  before(async () => {
    await bed.setup(["a", "b", "c"]);
    bed.start("a");
    await waitFor("node a", 10_000, () => bed.ctl("a", "status"));
  });
  after(() => bed.teardown());

  /** `divs invite` on a: the invitation text. */
  const invite = async (...args) => (await bed.ctl("a", "invite", ...args)).invitation;
  /** Starts `name` with no key, joining with `invitation`. */
  const joinWith = (name, invitation) => bed.start(name, { key: "", extra: ["--join", invitation] });
  /** Starts `name` with `invitation` and waits for it to give up: its exit code and output. */
  async function refused(name, invitation) {
    const n = joinWith(name, invitation);
    const { code } = await n.exited;
    n.proc = null;
    return { code, log: n.log };
  }

  test("a node without the key joins with an invitation; the invitation carries no key", async () => {
    const invitation = await invite();
    const bytes = Buffer.from(invitation, "base64url");
    assert.equal(bytes[0], 3, "an invitation token");
    assert.ok(!bytes.toString("hex").includes(Buffer.from(bed.key, "base64url").toString("hex")));
    joinWith("b", invitation);
    await waitFor("b alive at a", 15_000, async () => (await bed.aliveNames("a")).includes("b"));
    await bed.ping("a", "b");
    assert.match(bed.node("b").log, /invitation was accepted/);

    const again = await refused("c", invitation);
    assert.equal(again.code, 2, again.log);
    assert.match(again.log, /invitation refused: this invitation was already used/);
  });

  test("a wrong secret is refused, and does not use the invitation up", async () => {
    const invitation = await invite();
    const bytes = Buffer.from(invitation, "base64url");
    bytes[1 + 8] ^= 1; // the first byte of the secret
    const wrong = await refused("c", bytes.toString("base64url"));
    assert.equal(wrong.code, 2, wrong.log);
    assert.match(wrong.log, /invitation refused: wrong secret/);
    joinWith("c", invitation);
    try {
      await waitFor("c alive at a", 15_000, async () => (await bed.aliveNames("a")).includes("c"));
    } finally {
      await bed.stop("c");
    }
  });

  test("an expired invitation is refused", async () => {
    const { invitation, expires } = await bed.ctl("a", "invite", "--expires", "1s");
    // Its expiry is the thing under test: wait until the wall clock has passed it.
    await waitFor("the invitation's expiry", 5000, () => Date.now() >= Date.parse(expires) + 1000);
    const late = await refused("c", invitation);
    assert.equal(late.code, 2, late.log);
    assert.match(late.log, /this invitation expired at/);
  });
});
