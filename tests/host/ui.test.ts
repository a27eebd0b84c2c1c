// The status page's server side (host/ops/ui.ts) on 127.0.0.1 with a stand-in control socket:
// --ui and --ui-token-file parsing, the page's policy admitting exactly its inline script and style,
// api/state built from the status, members, macs and paths control answers, closing, failures. The page in
// a browser against real nodes: tests/e2e/ui.test.mjs.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DivsError, ExitCode } from "../../host/base/errors.ts";
import type { ControlServer, Platform } from "../../host/engine/platform.ts";
import { uiListenPermission, uiOptions, withUi } from "../../host/ops/ui.ts";
import type { UiOptions } from "../../host/engine/node-options.ts";

const platform = {
  readTextFile: async (file: string) => (await import("node:fs")).readFileSync(file, "utf8"),
  crypto: { randomFill: (b: Uint8Array) => b.fill(0xab) },
} as unknown as Platform;

const ANSWERS: Record<string, unknown> = {
  status: { name: "a", counters: { frames_from_tap: 3 } },
  members: [{ name: "a", self: true }, { name: "b", self: false, path: "direct" }],
  macs: [{ mac: "02:00:00:00:00:01", owner: "x" }],
  paths: { pairs: [{ from: "b", to: "c", path: "direct", via: null, rtt_ms: 0.3 }], silent: [] },
};

/** The control socket's answer function, over ANSWERS; records the request lines. */
function fakeAnswer(lines: string[]) {
  return async (line: string) => {
    lines.push(line);
    const { cmd } = JSON.parse(line) as { cmd: string };
    return JSON.stringify(cmd in ANSWERS ? { ok: true, result: ANSWERS[cmd] } : { ok: false, error: `unknown ${cmd}` }) + "\n";
  };
}

/** A serveControl that serves nothing and counts closes. */
function fakeServeControl(closed: { count: number }) {
  return async (): Promise<ControlServer> => ({ close: async () => void closed.count++ });
}

async function withTemp<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "divs-ui-"));
  try {
    return await run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("--ui: PORT alone is loopback, no token there; off loopback a 32-hex token is made", async () => {
  assert.equal(await uiOptions(platform, undefined, undefined), null);
  assert.deepEqual(await uiOptions(platform, "8080", undefined), { listen: { host: "127.0.0.1", port: 8080 }, token: null, tokenFile: null });
  assert.deepEqual(await uiOptions(platform, "[::1]:9", undefined), { listen: { host: "::1", port: 9 }, token: null, tokenFile: null });
  const off = await uiOptions(platform, "198.18.0.1:8080", undefined);
  assert.equal(off?.token, "ab".repeat(16));
  assert.equal(uiListenPermission("8080"), "127.0.0.1:8080");
  assert.equal(uiListenPermission("[::1]:8080"), "[::1]:8080");
  assert.equal(uiListenPermission("nonsense"), undefined);
});

test("--ui and --ui-token-file errors are usage errors naming the flag", async () => {
  const usage = (re: RegExp) => (e: unknown) => e instanceof DivsError && e.exitCode === ExitCode.usage && re.test(e.message);
  await assert.rejects(uiOptions(platform, "localhost:8080", undefined), usage(/bad --ui "localhost:8080"/));
  await assert.rejects(uiOptions(platform, "127.0.0.1:99999", undefined), usage(/bad --ui/));
  await assert.rejects(uiOptions(platform, undefined, "/x"), usage(/--ui-token-file needs --ui/));
  await withTemp(async (dir) => {
    const file = join(dir, "token");
    writeFileSync(file, "short\n");
    await assert.rejects(uiOptions(platform, "198.18.0.1:8080", file), usage(/a token is 16 to 256/));
    writeFileSync(file, "a-good.token_of~20chars\n");
    assert.deepEqual(await uiOptions(platform, "198.18.0.1:8080", file),
      { listen: { host: "198.18.0.1", port: 8080 }, token: "a-good.token_of~20chars", tokenFile: file });
  });
});

test("without --ui, withUi is serveControl itself", () => {
  const serve = fakeServeControl({ count: 0 });
  assert.equal(withUi(serve, null, () => {}), serve);
});

test("the page and api/state, answered through the control requests; the policy admits exactly the inline script and style", async () => {
  const lines: string[] = [];
  const said: string[] = [];
  const closed = { count: 0 };
  const ui: UiOptions = { listen: { host: "127.0.0.1", port: 0 }, token: null, tokenFile: null };
  const server = await withUi(fakeServeControl(closed), ui, (t) => said.push(t))("/unused.sock", fakeAnswer(lines));
  try {
    const port = Number(/127\.0\.0\.1:(\d+)\//.exec(said[0])?.[1]);
    assert.ok(port > 0, said[0]);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    const policy = page.headers.get("content-security-policy") ?? "";
    assert.match(policy, /default-src 'none'/);
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, "no outside resource");
    const inline = (tag: string) => {
      const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html);
      assert.ok(m, tag);
      return `'sha256-${createHash("sha256").update(m[1]).digest("base64")}'`;
    };
    assert.ok(policy.includes(`script-src ${inline("script")}`), policy);
    assert.ok(policy.includes(`style-src ${inline("style")}`), policy);
    assert.deepEqual(lines, []);

    const state = await (await fetch(`http://127.0.0.1:${port}/api/state`)).json() as Record<string, unknown>;
    assert.deepEqual(lines.map((l) => JSON.parse(l).cmd).sort(), ["macs", "members", "paths", "status"]);
    assert.deepEqual({ status: state.status, members: state.members, macs: state.macs, paths: state.paths }, ANSWERS);
    assert.ok(Math.abs(Number(state.at) - Date.now()) < 5000);
    // A second poll right after: the members are not asked for their paths again (at most every 3 s).
    const again = await (await fetch(`http://127.0.0.1:${port}/api/state`)).json() as Record<string, unknown>;
    assert.deepEqual(again.paths, ANSWERS.paths);
    assert.deepEqual(lines.slice(4).map((l) => JSON.parse(l).cmd).sort(), ["macs", "members", "status"]);
  } finally {
    await server.close();
  }
  assert.equal(closed.count, 1, "closing closes the control socket too");
});

test("a failing control answer is a 503 with its message", async () => {
  const said: string[] = [];
  const ui: UiOptions = { listen: { host: "127.0.0.1", port: 0 }, token: null, tokenFile: null };
  const failing = async () => JSON.stringify({ ok: false, error: "the node is stopping" }) + "\n";
  const server = await withUi(fakeServeControl({ count: 0 }), ui, (t) => said.push(t))("/unused.sock", failing);
  try {
    const port = Number(/:(\d+)\//.exec(said[0])?.[1]);
    const r = await fetch(`http://127.0.0.1:${port}/api/state`);
    assert.equal(r.status, 503);
    assert.match(await r.text(), /the node is stopping/);
  } finally {
    await server.close();
  }
});

test("with a token: the line prints it unless it came from a file; requests without it are 401", async () => {
  const said: string[] = [];
  const token = "0123456789abcdef0123456789abcdef";
  for (const tokenFile of [null, "/etc/divs/ui.token"]) {
    const ui: UiOptions = { listen: { host: "127.0.0.1", port: 0 }, token, tokenFile };
    const server = await withUi(fakeServeControl({ count: 0 }), ui, (t) => said.push(t))("/unused.sock", fakeAnswer([]));
    try {
      const port = Number(/:(\d+)\//.exec(said.at(-1)!)?.[1]);
      assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 401);
      assert.equal((await fetch(`http://127.0.0.1:${port}/?token=${token}`)).status, 200);
    } finally {
      await server.close();
    }
  }
  assert.match(said[0], new RegExp(`\\?token=${token}$`));
  assert.match(said[1], /\?token=<the token in \/etc\/divs\/ui\.token>$/);
  assert.doesNotMatch(said[1], new RegExp(token));
});

test("a port in use: the control socket is closed again and the error says where", async () => {
  const said: string[] = [];
  const first = await withUi(fakeServeControl({ count: 0 }), { listen: { host: "127.0.0.1", port: 0 }, token: null, tokenFile: null },
    (t) => said.push(t))("/unused.sock", fakeAnswer([]));
  try {
    const port = Number(/:(\d+)\//.exec(said[0])?.[1]);
    const closed = { count: 0 };
    const ui: UiOptions = { listen: { host: "127.0.0.1", port }, token: null, tokenFile: null };
    await assert.rejects(withUi(fakeServeControl(closed), ui, () => {})("/unused.sock", fakeAnswer([])),
      (e) => e instanceof DivsError && e.message.includes(`127.0.0.1:${port}`));
    assert.equal(closed.count, 1);
  } finally {
    await first.close();
  }
});
