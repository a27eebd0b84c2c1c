// The state directory (host/state/state-dir.ts on node:fs): a private directory, whole-file writes.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { openStateDir } from "../../host/state/state-dir.ts";
import { stateFiles } from "../../host/state/state-files.ts";

function scratch(): string {
  return mkdtempSync(join(tmpdir(), "divs-state-"));
}

test("a new state directory is made 0700; an existing one is set to 0700", () => {
  const root = scratch();
  try {
    const fresh = join(root, "a", "divs0");
    openStateDir(fresh, stateFiles);
    assert.equal(statSync(fresh).mode & 0o777, 0o700);
    const open = join(root, "open");
    mkdirSync(open, { mode: 0o755 });
    openStateDir(open, stateFiles);
    assert.equal(statSync(open).mode & 0o777, 0o700);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a file reads back as written, 0600, with no temporary left; a missing one reads null", () => {
  const root = scratch();
  try {
    const store = openStateDir(root, stateFiles);
    assert.equal(store.read("identity"), null);
    store.write("identity", new Uint8Array([1, 2, 3]));
    store.write("identity", new Uint8Array([4, 5]));
    assert.deepEqual([...store.read("identity")!], [4, 5]);
    assert.equal(statSync(join(root, "identity")).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(root), ["identity"]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("names that would leave the directory or hide a file are refused", () => {
  const root = scratch();
  try {
    const store = openStateDir(root, stateFiles);
    for (const name of ["../x", "a/b", ".hidden", ""]) {
      assert.throws(() => store.write(name, new Uint8Array(1)), /bad state file name/);
      assert.throws(() => store.read(name), /bad state file name/);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a directory that cannot be made is a DivsError naming it", () => {
  const root = scratch();
  try {
    const store = openStateDir(root, stateFiles);
    store.write("file", new Uint8Array(1));
    assert.throws(() => openStateDir(join(root, "file", "sub"), stateFiles), /state directory .*file\/sub/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
