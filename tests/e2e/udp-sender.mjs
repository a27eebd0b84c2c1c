// Sends hostile datagrams from inside a test namespace (run with `ip netns exec NS node udp-sender.mjs`):
//   replay BIND_HOST BIND_PORT DEST_HOST DEST_PORT FILE   FILE: JSON array of base64 datagrams, sent in order
//   blast DEST_HOST DEST_PORT RANDOM HANDSHAKES KEY_ID SOURCES
//     RANDOM datagrams of random bytes and lengths (a quarter with a valid version and packet type),
//     then HANDSHAKES forged HS_INIT / HS_CHALLENGE / HS_CONFIRM of the right lengths under KEY_ID
//     (8 hex digits, public on the wire), spread over SOURCES (comma-separated local addresses) so the
//     per-source rate limit does not stop them all before the MAC check. Paced: at most PER_TICK
//     datagrams per 10 ms. Prints {"sent":N} when done.
import dgram from "node:dgram";
import { randomBytes, randomInt } from "node:crypto";
import { readFileSync } from "node:fs";

const PER_TICK = 200;
const TICK_MS = 10;
const [mode, ...args] = process.argv.slice(2);

function bind(host, port) {
  const socket = dgram.createSocket({ type: "udp4", sendBufferSize: 1 << 20 });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, host, () => resolve(socket));
  });
}

function send(socket, data, port, host) {
  return new Promise((resolve, reject) => socket.send(data, port, host, (e) => (e ? reject(e) : resolve())));
}

const tick = () => new Promise((r) => setTimeout(r, TICK_MS));

function randomDatagram() {
  const d = randomBytes(randomInt(0, 1400));
  if (d.length >= 2 && randomInt(4) === 0) {
    d[0] = 3; // wire version (docs/wire.md)
    d[1] = 0x81 + randomInt(4); // HS_INIT, HS_CHALLENGE, HS_CONFIRM, DATA
  }
  return d;
}

const HANDSHAKE = [[0x81, 170], [0x82, 170], [0x83, 186]]; // type, length (docs/security.md)

function forgedHandshake(i, keyId) {
  const [type, length] = HANDSHAKE[i % HANDSHAKE.length];
  const d = randomBytes(length);
  d[0] = 3;
  d[1] = type;
  d.writeUInt32BE(keyId, 2);
  return d;
}

if (mode === "replay") {
  const [bindHost, bindPort, host, port, file] = args;
  const socket = await bind(bindHost, Number(bindPort));
  const datagrams = JSON.parse(readFileSync(file, "utf8")).map((b) => Buffer.from(b, "base64"));
  for (const d of datagrams) await send(socket, d, Number(port), host);
  socket.close();
  console.log(JSON.stringify({ sent: datagrams.length }));
} else if (mode === "blast") {
  const [host, portText, randomText, handshakesText, keyIdText, sourcesText] = args;
  const port = Number(portText);
  const sockets = await Promise.all(sourcesText.split(",").map((s) => bind(s, 0)));
  const keyId = parseInt(keyIdText, 16);
  const total = Number(randomText) + Number(handshakesText);
  let sent = 0;
  while (sent < total) {
    const batch = [];
    for (let i = 0; i < PER_TICK && sent < total; i++, sent++) {
      const socket = sockets[sent % sockets.length];
      const d = sent < Number(randomText) ? randomDatagram() : forgedHandshake(sent, keyId);
      batch.push(send(socket, d, port, host));
    }
    await Promise.all(batch);
    await tick();
  }
  for (const s of sockets) s.close();
  console.log(JSON.stringify({ sent }));
} else {
  console.error("usage: udp-sender.mjs replay|blast ...");
  process.exit(2);
}
