// End to end: path MTU per peer (docs/pmtu.md) with the real CLI. Mid-run the underlay bridge port of
// node b is set to carry smaller packets; a bridge drops what does not fit without a word (no ICMP),
// so the path a -> b becomes a black hole above b's MTU whatever the sender's socket options.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, MEMBERSHIP, sh, skipReason, Testbed, waitFor } from "./harness.mjs";

const skip = skipReason();
if (skip) console.error(`\n*** ${skip} ***\n`);

const CONVERGE_MS = 15_000;
const SEARCH_GRAIN = 8; // assembly/pmtu-path.ts
/** How long a path in use may black-hole after it shrank: CONFIRM_ACTIVE_MS + MAX_PROBES probe timeouts. */
const BLACK_HOLE_BOUND_MS = 1000 + 3 * MEMBERSHIP.probe_timeout_ms;

/** The underlay IP MTU node `from` shows for node `to` in `divs members --json`. */
async function pmtu(bed, from, to) {
  return (await bed.ctl(from, "members")).find((m) => m.name === to)?.pmtu ?? null;
}

describe("path MTU per peer", { skip: skip ?? false }, () => {
  const bed = new Testbed({ prefix: "divs-p-" });
  const scratch = mkdtempSync(join(tmpdir(), "divs-e2e-"));
  const config = join(scratch, "config.json");
  writeFileSync(config, JSON.stringify(MEMBERSHIP));
  /** Sets the MTU of b's underlay link, both ends, so the bridge drops larger packets to b. */
  const linkMtu = async (mtu) => {
    await sh("ip", "-n", bed.underlayNs, "link", "set", "v2", "mtu", String(mtu));
    await sh("ip", "-n", bed.node("b").ns, "link", "set", "ul0", "mtu", String(mtu));
  };

  before(async () => {
    await bed.setup(["a", "b"]);
    bed.start("a", { config });
    await waitFor("node a's control socket", CONVERGE_MS, () => bed.ctl("a", "status"));
    bed.start("b", { config, join: "a" });
    await waitFor("a and b to see each other", CONVERGE_MS, async () => (await bed.aliveNames("a")).length === 2);
  });

  after(async () => {
    if (process.env.DIVS_E2E_LOGS) for (const [n, node] of bed.nodes) console.error(`--- ${n}\n${node.log}`);
    await bed.teardown();
    rmSync(scratch, { recursive: true, force: true });
  });

  test("on a clean 1500-byte underlay a finds the full path to b and shows it in divs members", async () => {
    await waitFor("a's pmtu for b to reach 1500 (the underlay MTU)", CONVERGE_MS, async () => (await pmtu(bed, "a", "b")) === 1500);
    const [header, ...rows] = (await sh(process.execPath, CLI, "members", "--control", bed.node("a").control)).trim().split("\n");
    const column = header.split(/\s+/).indexOf("PMTU");
    assert.ok(column > 0, header);
    assert.ok(rows.some((r) => { const cells = r.split(/\s+/); return cells[0] === "b" && cells[column] === "1500"; }), rows.join("\n"));
  });

  test(`a path in use that shrinks to 1300 without ICMP is left within ${BLACK_HOLE_BOUND_MS} ms, then found again`, async (t) => {
    // Frames small enough for any path keep the path in use while it shrinks.
    const traffic = bed.exec("a", "ping", "-q", "-c", "200", "-i", "0.05", "-s", "1000", bed.node("b").overlay).catch((e) => e);
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = Date.now();
    await linkMtu(1300);
    await waitFor("a's pmtu for b to drop under 1300", BLACK_HOLE_BOUND_MS + 2000, async () => (await pmtu(bed, "a", "b")) <= 1300, 20);
    const took = Date.now() - t0;
    // One `divs members` call (a process start, ~0.3 s here) on top of the bound.
    assert.ok(took <= BLACK_HOLE_BOUND_MS + 500, `took ${took} ms`);
    const settled = await waitFor("a's pmtu for b to settle under 1300", CONVERGE_MS, async () => {
      const v = await pmtu(bed, "a", "b");
      return v > 1300 - SEARCH_GRAIN && v <= 1300 ? v : null;
    });
    assert.ok(settled <= 1300);
    t.diagnostic(`left the black hole after ${took} ms (bound ${BLACK_HOLE_BOUND_MS}), settled on ${settled}`);
    await traffic;
  });
});
