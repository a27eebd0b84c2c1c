// The read-only HTTP endpoint on Deno.serve (host/common/http-get.ts answers); needs --allow-net for
// its address (host/common/deno-permissions.ts).
import { type HostPort, formatHostPort } from "../common/address.ts";
import { DivsError, ExitCode } from "../common/errors.ts";
import { answerGet, type GetRoutes, HTTP_LIMITS, type HttpGetServer } from "../common/http-get.ts";

export function serveHttpGet(listen: HostPort, routes: GetRoutes): Promise<HttpGetServer> {
  let inFlight = 0;
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({ hostname: listen.host, port: listen.port, onListen: () => {}, onError: () => new Response(null, { status: 500 }) }, async (req) => {
      // Deno.serve owns the connections: bound the requests in flight instead.
      if (inFlight >= HTTP_LIMITS.maxConnections) return new Response(null, { status: 503, headers: { connection: "close" } });
      inFlight++;
      try {
        const url = new URL(req.url);
        const a = await answerGet(req.method, url.pathname + url.search, routes);
        return new Response(a.body, { status: a.status, headers: a.headers });
      } finally {
        inFlight--;
      }
    });
  } catch (e) {
    throw new DivsError(`--metrics ${formatHostPort(listen)}: ${(e as Error).message}`, ExitCode.failure);
  }
  return Promise.resolve({ close: () => server.shutdown() });
}
