// Who reaches a node's control socket (host/linux/control-access.ts, docs/host.md "Control socket"):
// on Node and on Deno the socket is 0600 from birth in a 0700 directory, and a peer that is neither
// root nor the node's user is refused even when the file permissions would let it connect.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { findDeno } from "../deno/find-deno.mjs";
import { CLI, skipReason, Testbed, waitFor } from "./harness.mjs";

const skip = skipReason();
if (skip) console.error(`\n*** ${skip} ***\n`);
const denoSkip = skip ?? (findDeno() ? null : "SKIPPED: no deno binary (npm install the deno dev dependency)");
if (!skip && denoSkip) console.error(`\n*** ${denoSkip} ***\n`);

/** Runs `divs status` on `socket` as uid/gid 65534 (nobody). */
function statusAsNobody(socket) {
  return spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, CLI, "status", "--control", socket],
    { encoding: "utf8", timeout: 20_000 });
}

for (const runtime of ["node", "deno"]) {
  describe(`the control socket (${runtime})`, { skip: (runtime === "deno" ? denoSkip : skip) ?? false }, () => {
    const bed = new Testbed({ prefix: `divs-cs${runtime[0]}-` });
    const scratch = mkdtempSync("/tmp/divs-e2e-control-");
    const dir = `${scratch}/run`;
    const socket = `${dir}/node.sock`;
    before(async () => {
      await bed.setup(["x"]);
      bed.node("x").control = socket;
      bed.start("x", { runtime: runtime === "deno" ? "deno" : null });
      await waitFor("node x", 20_000, () => bed.ctl("x", "status"));
    });
    after(async () => {
      await bed.teardown();
      rmSync(scratch, { recursive: true, force: true });
    });

    test("the directory the node made is 0700 and the socket 0600", () => {
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      assert.equal(statSync(socket).mode & 0o777, 0o600);
    });

    test("a peer that is neither root nor the node's user is refused, whatever the file modes say", async () => {
      chmodSync(scratch, 0o755);
      chmodSync(dir, 0o755);
      chmodSync(socket, 0o666); // as if someone loosened them: only the peer check is left
      const r = statusAsNobody(socket);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /permission denied: uid 65534 is neither root nor the node's user/);
      assert.equal((await bed.ctl("x", "status")).name, "x", "root still gets in");
    });
  });
}
