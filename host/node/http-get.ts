// The read-only HTTP endpoint on node:http (host/common/http-get.ts answers).
import http from "node:http";
import { type HostPort, formatHostPort } from "../common/address.ts";
import { DivsError, ExitCode } from "../common/errors.ts";
import { answerGet, type GetRoutes, HTTP_LIMITS, type HttpGetServer } from "../common/http-get.ts";

export async function serveHttpGet(listen: HostPort, routes: GetRoutes): Promise<HttpGetServer> {
  const server = http.createServer({ requestTimeout: HTTP_LIMITS.headersTimeoutMs }, (req, res) => {
    void answerGet(req.method ?? "", req.url ?? "", routes).then((a) => {
      res.writeHead(a.status, a.headers);
      res.end(a.body);
    });
    req.resume(); // a body nobody reads must not hold the connection
  });
  server.maxConnections = HTTP_LIMITS.maxConnections;
  server.headersTimeout = HTTP_LIMITS.headersTimeoutMs;
  server.keepAliveTimeout = HTTP_LIMITS.keepAliveTimeoutMs;
  server.on("clientError", (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => reject(new DivsError(`--metrics ${formatHostPort(listen)}: ${e.message}`, ExitCode.failure)));
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
