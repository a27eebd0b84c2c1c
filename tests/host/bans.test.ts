// The bans file in the state directory (host/secure/ban-file.ts, docs/state.md "bans"): what a
// restarted node reads back is every ban saved, in order; damaged lines are skipped and said.
import assert from "node:assert/strict";
import { hexU64 } from "../../host/base/node-id.ts";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BANS_FILE, loadBans, saveBan } from "../../host/secure/ban-file.ts";
import { openStateDir } from "../../host/state/state-dir.ts";
import { stateFiles } from "../../host/state/state-files.ts";

function withStore(run: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "divs-bans-"));
  try {
    run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("bans saved one by one read back in order, from a 0600 file of `<id> <time>` lines", () => {
  withStore((dir) => {
    const store = openStateDir(dir, stateFiles);
    assert.deepEqual(loadBans(store, assert.fail), [], "no file: no bans");
    const a = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const b = Uint8Array.from([0xf0, 0, 0, 0, 0, 0, 0, 0xff]);
    saveBan(store, a, new Date(0));
    saveBan(store, b, new Date(1000));
    assert.deepEqual(loadBans(openStateDir(dir, stateFiles), assert.fail), [a, b]);
    const text = readFileSync(join(dir, BANS_FILE), "utf8");
    assert.equal(text, `${hexU64(a, 0)} 1970-01-01T00:00:00.000Z\n${hexU64(b, 0)} 1970-01-01T00:00:01.000Z\n`);
    assert.equal(statSync(join(dir, BANS_FILE)).mode & 0o777, 0o600);
  });
});

test("a damaged line is skipped with a warning naming it; the others still count", () => {
  withStore((dir) => {
    const good = "0807060504030201";
    writeFileSync(join(dir, BANS_FILE), `not a ban\n${good} 2026-01-01T00:00:00.000Z\n\n12345 x\n`);
    const warnings: string[] = [];
    const ids = loadBans(openStateDir(dir, stateFiles), (m) => warnings.push(m));
    assert.deepEqual(ids.map((id) => hexU64(id, 0)), [good]);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /line 1 is not a ban/);
    assert.match(warnings[1], /line 4 is not a ban/);
  });
});

test("a file without a final newline gets one before the next ban", () => {
  withStore((dir) => {
    writeFileSync(join(dir, BANS_FILE), "0807060504030201 2026-01-01T00:00:00.000Z");
    const store = openStateDir(dir, stateFiles);
    saveBan(store, new Uint8Array(8).fill(0xaa), new Date(0));
    assert.equal(loadBans(store, assert.fail).length, 2);
  });
});
