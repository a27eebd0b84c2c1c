// A read-only HTTP endpoint's answers (`divs up --metrics`), for both runtimes: each runtime's server
// (host/node/http-get.ts, host/deno/http-get.ts) hands over the method and the request target and
// sends back what answerGet returns. Only GET on a known path is served: another path is 404, another
// method on a known path 405 (with Allow: GET); a page that fails to render is 503.

export interface HttpPage {
  contentType: string;
  body: string;
}

/** Path (without the query) -> the page, rendered per request. */
export type GetRoutes = Record<string, () => Promise<HttpPage>>;

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The server of one address; close() stops listening and drops open connections. */
export interface HttpGetServer {
  close(): Promise<void>;
}

/** Limits both runtimes' servers apply, so a burst of connections or a slow client costs little. */
export const HTTP_LIMITS = {
  /** Open connections at once, more are closed as they arrive (Node); requests in flight, more get 503 (Deno). */
  maxConnections: 64,
  /** A request's head must arrive within this. */
  headersTimeoutMs: 5000,
  /** An idle kept-alive connection is closed after this. */
  keepAliveTimeoutMs: 5000,
};

const TEXT = "text/plain; charset=utf-8";

export async function answerGet(method: string, target: string, routes: GetRoutes): Promise<HttpAnswer> {
  const path = target.split("?")[0];
  const page = Object.hasOwn(routes, path) ? routes[path] : undefined;
  if (page === undefined) return plain(404, "not found\n");
  if (method !== "GET") return { ...plain(405, "only GET\n"), headers: { "content-type": TEXT, allow: "GET" } };
  try {
    const { contentType, body } = await page();
    return { status: 200, headers: { "content-type": contentType, "cache-control": "no-store" }, body };
  } catch (e) {
    return plain(503, `${(e as Error).message}\n`);
  }
}

function plain(status: number, body: string): HttpAnswer {
  return { status, headers: { "content-type": TEXT }, body };
}
