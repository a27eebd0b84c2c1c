// The live status page (docs/ui.md): `divs up --ui HOST:PORT` serves it from the thread that serves the
// control socket (the node's one thread on both runtimes: Node's poll loop gives libuv a turn when its fd
// is ready), reading the node through the same control requests the CLI makes: status, members, macs.
//   GET /           the page (host/ops/ui-page.ts)
//   GET /api/state  {"at": ms since 1970, "status": ..., "members": [...], "macs": [...], "paths": {...}}
// "paths" (every pair's path, each member asked over the switch: pair-paths.ts) is asked again at most
// every PATHS_REFRESH_MS, however many pages poll.
import { createHash } from "node:crypto";
import { type HostPort, formatHostPort, parseHostPort } from "../net/address.ts";
import { parseResponse } from "../engine/control.ts";
import { usageError } from "../base/errors.ts";
import { isLoopback, serveGet } from "./http-get.ts";
import type { ControlServer, Platform } from "../engine/platform.ts";
import { UI_SCRIPT, UI_STYLE, uiPage } from "./ui-page.ts";
import type { UiOptions } from "../engine/node-options.ts";

/** A token: URL-safe (it may travel in ?token=), long enough not to be guessed. */
const TOKEN_PATTERN = /^[A-Za-z0-9._~-]{16,256}$/;
/** Random bytes in a generated token (printed as hex). */
const TOKEN_BYTES = 16;

/**
 * `--ui HOST:PORT` (or PORT alone: 127.0.0.1:PORT) and `--ui-token-file PATH` as UiOptions; null without
 * --ui. Off loopback without a file, the token is generated here.
 */
export async function uiOptions(platform: Platform, listenText: string | undefined, tokenFile: string | undefined): Promise<UiOptions | null> {
  if (listenText === undefined) {
    if (tokenFile !== undefined) throw usageError("--ui-token-file needs --ui HOST:PORT");
    return null;
  }
  const listen = parseUiListen(listenText);
  if (tokenFile !== undefined) {
    const token = (await platform.readTextFile(tokenFile)).trim();
    if (!TOKEN_PATTERN.test(token)) throw usageError(`${tokenFile}: a token is 16 to 256 of A-Z a-z 0-9 . _ ~ -`);
    return { listen, token, tokenFile };
  }
  if (isLoopback(listen.host)) return { listen, token: null, tokenFile: null };
  const bytes = new Uint8Array(TOKEN_BYTES);
  platform.crypto.randomFill(bytes);
  return { listen, token: Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""), tokenFile: null };
}

function parseUiListen(text: string): HostPort {
  try {
    return /^\d+$/.test(text) ? parseHostPort(`127.0.0.1:${text}`) : parseHostPort(text);
  } catch (e) {
    throw usageError(`bad --ui "${text}": ${(e as Error).message}`);
  }
}

/** `--ui`'s address as Deno's --allow-net names it; undefined without --ui or when it is bad (the CLI then says why). */
export function uiListenPermission(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    return formatHostPort(parseUiListen(text));
  } catch {
    return undefined;
  }
}

/** How a control socket is served: the Platform's serveControl. */
export type ServeControl = (path: string, answer: (line: string) => Promise<string>) => Promise<ControlServer>;

const hash = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

/** The page may run its own script and style and fetch from where it came, nothing else. */
const PAGE_POLICY = [
  "default-src 'none'", `script-src ${hash(UI_SCRIPT)}`, `style-src ${hash(UI_STYLE)}`, "connect-src 'self'", "img-src data:",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join("; ");

/** Every member answers a paths query: once every few seconds is enough for a page, and bounds the queries. */
const PATHS_REFRESH_MS = 3000;

/** The document and the state the page polls for, answered by `answer` (a control request line -> response line). */
function routes(answer: (line: string) => Promise<string>) {
  const ask = async (cmd: string) => parseResponse(await answer(JSON.stringify({ cmd })));
  const page = uiPage(UI_STYLE, UI_SCRIPT);
  let paths: Promise<unknown> | null = null;
  let pathsAt = -Infinity;
  const pairPaths = () => {
    if (paths === null || Date.now() - pathsAt >= PATHS_REFRESH_MS) {
      pathsAt = Date.now();
      paths = ask("paths");
    }
    return paths;
  };
  return {
    "/": () => ({ contentType: "text/html; charset=utf-8", body: page, headers: { "Content-Security-Policy": PAGE_POLICY } }),
    "/api/state": async () => {
      const [status, members, macs, pairs] = await Promise.all([ask("status"), ask("members"), ask("macs"), pairPaths()]);
      return { contentType: "application/json", body: JSON.stringify({ at: Date.now(), status, members, macs, paths: pairs }) };
    },
  };
}

/**
 * `serveControl`, and with `ui` the status page next to it, answered by the same `answer`; closing
 * the returned server closes both. `say` gets the page's address (with the token, unless it came from a file).
 */
export function withUi(serveControl: ServeControl, ui: UiOptions | null, say: (line: string) => void): ServeControl {
  if (ui === null) return serveControl;
  return async (path, answer) => {
    const control = await serveControl(path, answer);
    let page;
    try {
      page = await serveGet({ listen: ui.listen, token: ui.token, routes: routes(answer) });
    } catch (e) {
      await control.close();
      throw e;
    }
    const where = `http://${formatHostPort({ host: ui.listen.host, port: page.port })}/`;
    if (ui.token === null) say(`status page on ${where}`);
    else if (ui.tokenFile !== null) say(`status page on ${where}?token=<the token in ${ui.tokenFile}>`);
    else say(`status page on ${where}?token=${ui.token}`);
    return {
      close: async () => {
        await page.close();
        await control.close();
      },
    };
  };
}
