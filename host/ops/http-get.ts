// A small read-only HTTP server: GET on a fixed set of paths and nothing else (the status page,
// docs/ui.md; a metrics endpoint). node:http, which Deno runs too. Every request is answered with a
// status: 401 without the token when one is set, 405 for any other method, 404 for any other path,
// 503 when a handler fails (the node is stopping), 200 otherwise.
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type HostPort, formatHostPort, parseIp } from "../net/address.ts";
import { DivsError, ExitCode } from "../base/errors.ts";

/** Open connections at most; more are refused (closed at accept) until some end: a burst cannot pile up. */
export const MAX_CONNECTIONS = 64;
/** Request headers must arrive within this (a slow client holds a connection no longer). */
const HEADERS_TIMEOUT_MS = 5000;
/** How often those timeouts are checked (node:http's default, 30 s, would let idle sockets hold every slot that long). */
const TIMEOUT_CHECK_MS = 1000;
/** A whole request, body included, within this. */
const REQUEST_TIMEOUT_MS = 10_000;
/** An idle keep-alive connection is closed after this (a page polls every second or so). */
const KEEP_ALIVE_TIMEOUT_MS = 5000;
/** Request header bytes at most (node:http answers 431 above it). */
const MAX_HEADER_BYTES = 8192;

export interface GetReply {
  contentType: string;
  body: string;
  /** Extra response headers (a page's Content-Security-Policy). */
  headers?: Record<string, string>;
}

/** Answers a GET of one path; `query` is the request's query string. A throw is answered 503. */
export type GetHandler = (query: URLSearchParams) => Promise<GetReply> | GetReply;

export interface GetServerOptions {
  listen: HostPort;
  /** Path ("/", "/api/state") -> handler. */
  routes: Record<string, GetHandler>;
  /**
   * When set, a request must carry it (`?token=` or `Authorization: Bearer`). Required off loopback;
   * on loopback without a token, the Host header must name loopback (no DNS rebinding from a web page).
   */
  token: string | null;
}

export interface GetServer {
  /** The bound port (the one asked for, or the kernel's pick for port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** 127.0.0.0/8 or ::1 (an IPv4-mapped loopback too). */
export function isLoopback(host: string): boolean {
  const b = parseIp(host);
  if (b === null) return false;
  const mapped = b.subarray(0, 10).every((v) => v === 0) && b[10] === 0xff && b[11] === 0xff;
  if (mapped) return b[12] === 127;
  return b.subarray(0, 15).every((v) => v === 0) && b[15] === 1;
}

/** A Host header naming loopback: localhost, 127.x.y.z or [::1], with or without a port. */
function loopbackHostHeader(value: string | undefined): boolean {
  if (value === undefined) return false;
  const host = value.startsWith("[") ? value.slice(1, value.indexOf("]")) : value.split(":")[0];
  return host === "localhost" || isLoopback(host);
}

function sameToken(given: string | null, token: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function givenToken(req: IncomingMessage, query: URLSearchParams): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ")) return auth.slice("Bearer ".length).trim();
  return query.get("token");
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer", // a token in the address never leaves in a Referer
    ...headers,
  });
  res.end(body);
}

async function handle(req: IncomingMessage, res: ServerResponse, options: GetServerOptions): Promise<void> {
  // The request target as sent (not new URL(): "//x" would become a host): path, then the query.
  const target = req.url ?? "/";
  const q = target.indexOf("?");
  const pathname = q < 0 ? target : target.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : target.slice(q + 1));
  const plain = "text/plain; charset=utf-8";
  if (options.token !== null) {
    if (!sameToken(givenToken(req, query), options.token)) {
      return send(res, 401, plain, "401 a token is needed: ?token=TOKEN or Authorization: Bearer TOKEN\n", { "WWW-Authenticate": "Bearer" });
    }
  } else if (!loopbackHostHeader(req.headers.host)) {
    return send(res, 403, plain, "403 Host must be localhost\n");
  }
  if (req.method !== "GET") return send(res, 405, plain, "405 only GET\n", { Allow: "GET" });
  const handler = Object.hasOwn(options.routes, pathname) ? options.routes[pathname] : undefined;
  if (handler === undefined) return send(res, 404, plain, "404 not found\n");
  let reply: GetReply;
  try {
    reply = await handler(query);
  } catch (e) {
    return send(res, 503, plain, `503 ${(e as Error).message}\n`);
  }
  send(res, 200, reply.contentType, reply.body, reply.headers);
}

/** Listens on `options.listen`; throws DivsError when the address is off loopback without a token, or taken. */
export async function serveGet(options: GetServerOptions): Promise<GetServer> {
  const where = formatHostPort(options.listen);
  if (options.token === null && !isLoopback(options.listen.host)) {
    throw new DivsError(`${where} is not a loopback address: serving there needs a token`, ExitCode.usage);
  }
  // node:http is loaded here, by a node that serves a page: not by every node at start (~0.5 MiB RSS).
  const { createServer } = await import("node:http");
  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES, connectionsCheckingInterval: TIMEOUT_CHECK_MS }, (req, res) => {
    req.resume(); // a body (none is expected) is read and dropped
    handle(req, res, options).catch(() => res.destroy());
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.on("clientError", (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => {
      reject(new DivsError(`cannot serve on ${where}: ${e.message}`, ExitCode.failure));
    });
    server.listen(options.listen.port, options.listen.host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : options.listen.port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
