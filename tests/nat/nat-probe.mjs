// Plain UDP through the NAT test bed (tests/e2e/nat.test.mjs), before any DiVS node runs, to prove the
// bed's NATs map and filter as intended. Run with `ip netns exec NS node nat-probe.mjs MODE ...`:
//   echo HOST PORT...            answers every datagram with the "ip:port" it came from (a STUN server);
//                                 prints "ready" once bound, runs until killed
//   ask HOST PORT TIMEOUT_MS DEST... from one socket bound to HOST:PORT, asks each DEST ("ip:port", an
//                                 echo server) in turn; prints a JSON array of the answers (null: none)
//   send HOST PORT DEST TEXT      one datagram TEXT from HOST:PORT to DEST, then exits
import dgram from "node:dgram";

const [mode, host, port, ...rest] = process.argv.slice(2);

function bind(h, p) {
  const socket = dgram.createSocket("udp4");
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(Number(p), h, () => resolve(socket));
  });
}

function split(dest) {
  const colon = dest.lastIndexOf(":");
  return [dest.slice(0, colon), Number(dest.slice(colon + 1))];
}

if (mode === "echo") {
  for (const p of [port, ...rest]) {
    const s = await bind(host, p);
    s.on("message", (_m, from) => s.send(`${from.address}:${from.port}`, from.port, from.address));
  }
  console.log("ready");
} else if (mode === "ask") {
  const [timeoutMs, ...dests] = rest;
  const s = await bind(host, port);
  const answers = [];
  for (const dest of dests) {
    const [h, p] = split(dest);
    const answer = new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), Number(timeoutMs));
      s.once("message", (m) => {
        clearTimeout(timer);
        resolve(m.toString());
      });
    });
    s.send(`ask ${dest}`, p, h);
    answers.push(await answer);
  }
  console.log(JSON.stringify(answers));
  s.close();
} else if (mode === "send") {
  const [dest, text] = rest;
  const s = await bind(host, port);
  const [h, p] = split(dest);
  await new Promise((resolve, reject) => s.send(text, p, h, (e) => (e ? reject(e) : resolve())));
  s.close();
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
