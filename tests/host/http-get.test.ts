// The GET-only HTTP server (host/ops/http-get.ts) on 127.0.0.1: the status it answers for each
// method, path, token and Host; bad requests (garbage, oversized headers) refused; a burst of
// connections above its limit leaves it serving. Needs no root.
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { test } from "node:test";
import { DivsError } from "../../host/base/errors.ts";
import { type GetServer, isLoopback, MAX_CONNECTIONS, serveGet } from "../../host/ops/http-get.ts";

const LOCALHOST = "127.0.0.1";
const TOKEN = "0123456789abcdef0123456789abcdef";

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: LOCALHOST, port, path, method: options.method ?? "GET", headers: options.headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Sends raw bytes and resolves with everything the server wrote before closing (or "" when it just closed). */
function raw(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    let reply = "";
    const c = net.connect(port, LOCALHOST, () => c.write(bytes));
    c.setEncoding("utf8");
    c.on("data", (d: string) => (reply += d));
    c.on("close", () => resolve(reply));
    c.on("error", () => {});
  });
}

async function withServer(token: string | null, run: (server: GetServer, calls: string[]) => Promise<void>): Promise<void> {
  const calls: string[] = [];
  const server = await serveGet({
    listen: { host: LOCALHOST, port: 0 },
    token,
    routes: {
      "/": () => ({ contentType: "text/html; charset=utf-8", body: "<p>page</p>", headers: { "Content-Security-Policy": "default-src 'none'" } }),
      "/api/state": (q) => {
        calls.push(q.toString());
        return { contentType: "application/json", body: JSON.stringify({ ok: true }) };
      },
      "/fails": async () => {
        throw new Error("the node is stopping");
      },
    },
  });
  try {
    await run(server, calls);
  } finally {
    await server.close();
  }
}

test("GET on its paths answers 200 with the handler's reply and its headers", () => withServer(null, async (s, calls) => {
  const page = await request(s.port, "/");
  assert.equal(page.status, 200);
  assert.equal(page.body, "<p>page</p>");
  assert.equal(page.headers["content-type"], "text/html; charset=utf-8");
  assert.equal(page.headers["content-security-policy"], "default-src 'none'");
  assert.equal(page.headers["cache-control"], "no-store");
  const state = await request(s.port, "/api/state?x=1");
  assert.equal(state.status, 200);
  assert.deepEqual(JSON.parse(state.body), { ok: true });
  assert.deepEqual(calls, ["x=1"]);
}));

test("any other method is 405 with Allow: GET, and the handler never runs", () => withServer(null, async (s, calls) => {
  for (const method of ["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]) {
    const r = await request(s.port, "/api/state", { method });
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.allow, "GET", method);
  }
  assert.deepEqual(calls, []);
}));

test("any other path is 404, prototype names included", () => withServer(null, async (s) => {
  for (const path of ["/metrics", "/api", "/api/state/", "/constructor", "/__proto__", "/toString", "//", "/%2e%2e/etc/passwd"]) {
    assert.equal((await request(s.port, path)).status, 404, path);
  }
}));

test("a failing handler is 503 with its message", () => withServer(null, async (s) => {
  const r = await request(s.port, "/fails");
  assert.equal(r.status, 503);
  assert.match(r.body, /the node is stopping/);
}));

test("with a token: 401 without it or with a wrong one, 200 with ?token= or a Bearer header", () => withServer(TOKEN, async (s, calls) => {
  assert.equal((await request(s.port, "/")).status, 401);
  assert.equal((await request(s.port, "/api/state?token=wrong")).status, 401);
  assert.equal((await request(s.port, `/api/state?token=${TOKEN}x`)).status, 401);
  assert.equal((await request(s.port, "/nowhere")).status, 401); // nothing is told before the token
  assert.equal((await request(s.port, "/", { method: "POST" })).status, 401);
  assert.equal((await request(s.port, "/api/state", { headers: { Authorization: "Bearer nope" } })).status, 401);
  assert.deepEqual(calls, []);
  assert.equal((await request(s.port, `/?token=${TOKEN}`)).status, 200);
  assert.equal((await request(s.port, "/api/state", { headers: { Authorization: `Bearer ${TOKEN}` } })).status, 200);
  assert.equal((await request(s.port, `/api/state?token=${TOKEN}`, { method: "POST" })).status, 405);
}));

test("without a token, a Host header that is not loopback is 403 (DNS rebinding)", () => withServer(null, async (s) => {
  assert.equal((await request(s.port, "/", { headers: { Host: "attacker.example" } })).status, 403);
  assert.equal((await request(s.port, "/", { headers: { Host: "198.18.0.1:8080" } })).status, 403);
  assert.equal((await request(s.port, "/", { headers: { Host: `localhost:${s.port}` } })).status, 200);
  assert.equal((await request(s.port, "/", { headers: { Host: `[::1]:${s.port}` } })).status, 200);
}));

test("off loopback without a token it refuses to start", async () => {
  for (const host of ["0.0.0.0", "::", "198.18.0.1"]) {
    await assert.rejects(serveGet({ listen: { host, port: 0 }, token: null, routes: {} }), (e) => e instanceof DivsError && /needs a token/.test(e.message));
  }
  assert.equal(isLoopback("127.0.0.1"), true);
  assert.equal(isLoopback("127.9.8.7"), true);
  assert.equal(isLoopback("::1"), true);
  assert.equal(isLoopback("::ffff:127.0.0.1"), true);
  assert.equal(isLoopback("128.0.0.1"), false);
  assert.equal(isLoopback("::"), false);
});

test("a port in use is a DivsError naming the address", () => withServer(null, async (s) => {
  await assert.rejects(serveGet({ listen: { host: LOCALHOST, port: s.port }, token: null, routes: {} }),
    (e) => e instanceof DivsError && e.message.includes(`127.0.0.1:${s.port}`));
}));

test("garbage, oversized headers and a half-sent request are refused; it serves on", () => withServer(null, async (s) => {
  // Closed without a word (clientError), never a 200.
  assert.equal(await raw(s.port, Buffer.from([0, 1, 2, 255, 13, 10, 13, 10])), "");
  assert.equal(await raw(s.port, `GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`), "");
  const body = await raw(s.port, "GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
  assert.match(body, /^HTTP\/1\.1 200 /);
  assert.equal((await request(s.port, "/")).status, 200);
}));

test(`a burst of ${MAX_CONNECTIONS * 4} connections: each answered or refused, none hangs, then it serves`, () => withServer(null, async (s) => {
  const burst = MAX_CONNECTIONS * 4;
  const replies = await Promise.all(Array.from({ length: burst }, () =>
    raw(s.port, "GET /api/state HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")));
  const answered = replies.filter((r) => r.startsWith("HTTP/1.1 200 ")).length;
  const refused = replies.filter((r) => r === "").length;
  assert.equal(answered + refused, burst, "every connection either got a 200 or was closed");
  assert.ok(answered >= MAX_CONNECTIONS / 2, `only ${answered} of ${burst} answered`);
  assert.equal((await request(s.port, "/api/state")).status, 200);
}));

test("idle connections holding every slot are closed by the header timeout; it serves again", { timeout: 20_000 }, () => withServer(null, async (s) => {
  const idle = await Promise.all(Array.from({ length: MAX_CONNECTIONS + 8 }, () => new Promise<net.Socket>((resolve) => {
    const c = net.connect(s.port, LOCALHOST, () => {
      c.write("GET / HTTP/1.1\r\n"); // and never the rest
      resolve(c);
    });
    c.on("error", () => {});
  })));
  const closed = Promise.all(idle.map((c) => new Promise((resolve) => (c.destroyed ? resolve(null) : c.on("close", resolve)))));
  await closed;
  assert.equal((await request(s.port, "/")).status, 200);
}));
