// An HTTP client for the --metrics tests, run inside a node's namespace (the endpoint listens on its
// loopback). Prints one JSON line.
//   node http-client.mjs get HOST PORT METHOD PATH [TOKEN] -> {status, headers, body} (TOKEN as a Bearer)
//   node http-client.mjs raw HOST PORT TEXT            -> {response}: what came back for raw bytes
//   node http-client.mjs burst HOST PORT N             -> {opened, refused}: N connections at once, each
//        sending a partial request, garbage or nothing, all then dropped
import http from "node:http";
import net from "node:net";

const [cmd, host, portText, ...rest] = process.argv.slice(2);
const port = Number(portText);

function get(method, path, token) {
  return new Promise((resolve, reject) => {
    const headers = token ? { authorization: `Bearer ${token}` } : {};
    const req = http.request({ host, port, method, path, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

function raw(text) {
  return new Promise((resolve) => {
    let response = "";
    const c = net.connect(port, host, () => c.write(text));
    c.setTimeout(10_000, () => c.destroy());
    c.on("data", (d) => (response += d));
    c.on("close", () => resolve({ response }));
    c.on("error", () => {});
  });
}

async function burst(n) {
  const sends = ["GET /metrics HTTP/1.1\r\nHost: x\r\n", "\x16\x03\x01\x02\x00garbage\r\n\r\n", "", "POST /metrics HTTP/1.1\r\nContent-Length: 100000\r\n\r\nxx"];
  let opened = 0;
  let refused = 0;
  const conns = await Promise.all(Array.from({ length: n }, (_, i) => new Promise((resolve) => {
    let connected = false;
    const c = net.connect(port, host, () => {
      connected = true;
      opened++;
      c.write(sends[i % sends.length]);
      resolve(c);
    });
    c.on("error", () => {
      if (connected) return; // reset after it opened (the server dropped it): counted once, as opened
      refused++;
      resolve(c);
    });
  })));
  await new Promise((r) => setTimeout(r, 200)); // every connection open at once, for a moment
  for (const c of conns) c.destroy();
  return { opened, refused };
}

const result = cmd === "get" ? await get(rest[0], rest[1], rest[2]) : cmd === "raw" ? await raw(rest[0]) : await burst(Number(rest[0]));
console.log(JSON.stringify(result));
