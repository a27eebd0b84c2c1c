// The core's path records as the host decodes them (host/core/path-records.ts): the layouts of
// assembly/nat/, every one refused (null) when its body is short, the node id IN_PING carries, and how
// `divs ping` prints a pong.
import assert from "node:assert/strict";
import { hexU64, u64OfHex } from "../../host/base/node-id.ts";
import { test } from "node:test";
import { ADDR_SLOT } from "../../host/core/abi.ts";
import { encodeAddress } from "../../host/net/address.ts";
import { formatPing } from "../../host/cli/format.ts";
import {
  decodePath, decodePong, decodeRelayAllow, decodeRoute, decodeSelf, PATH_KIND_DIRECT, PATH_KIND_RELAY,
} from "../../host/core/path-records.ts";

const ip = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
const NAT_A = ip(203, 0, 113, 2);
const PUB = ip(203, 0, 113, 10);

function record(length: number, fill: (b: Uint8Array, v: DataView) => void): Uint8Array {
  const b = new Uint8Array(length);
  fill(b, new DataView(b.buffer));
  return b;
}

/** Every prefix of `body` shorter than `length` decodes to null. */
function refusesShort(decode: (b: Uint8Array) => unknown, body: Uint8Array, length: number): void {
  for (let n = 0; n < length; n++) assert.equal(decode(body.subarray(0, n)), null, `${n} bytes`);
}

test("OUT_ROUTE and OUT_RELAY_ALLOW: addresses and kind, budget; short bodies refused", () => {
  const route = record(41, (b) => {
    encodeAddress(ip(198, 51, 100, 2), 4790, b, 0);
    encodeAddress(NAT_A, 40001, b, ADDR_SLOT);
    b[40] = 2;
  });
  const r = decodeRoute(route)!;
  assert.equal(r.kind, 2);
  assert.deepEqual([...r.sendTo.subarray(12, 18)], [203, 0, 113, 2, 40001 >> 8, 40001 & 255]);
  refusesShort(decodeRoute, route, 41);
  const allow = record(44, (b, v) => {
    encodeAddress(NAT_A, 40001, b, 0);
    encodeAddress(PUB, 4790, b, ADDR_SLOT);
    v.setUint32(40, 2_500_000, true);
  });
  assert.equal(decodeRelayAllow(allow)!.bytesPerSecond, 2_500_000);
  refusesShort(decodeRelayAllow, allow, 44);
});

test("OUT_PONG, OUT_PATH, OUT_SELF: fields in order; a missing rtt and empty slots are null; short bodies refused", () => {
  const pong = record(48, (b, v) => {
    v.setBigUint64(0, 0x1122334455667788n, true);
    v.setUint32(8, 7, true);
    v.setFloat64(16, 0.42, true);
    b[24] = PATH_KIND_DIRECT;
    encodeAddress(NAT_A, 40001, b, 28);
  });
  assert.deepEqual(decodePong(pong), { id: "1122334455667788", seq: 7, rttMs: 0.42, kind: PATH_KIND_DIRECT, address: "203.0.113.2:40001" });
  refusesShort(decodePong, pong, 48);

  const path = record(68, (b, v) => {
    v.setBigUint64(0, 5n, true);
    b[8] = PATH_KIND_RELAY;
    encodeAddress(PUB, 4790, b, 32);
    v.setFloat64(56, -1, true);
    v.setUint32(64, 3, true);
  });
  assert.deepEqual(decodePath(path), {
    id: "0000000000000005", kind: PATH_KIND_RELAY, endpoint: null, relay: "203.0.113.10:4790", rttMs: null, unanswered: 3,
  });
  refusesShort(decodePath, path, 68);

  const self = record(4 + 2 * ADDR_SLOT, (b) => {
    b[0] = 2;
    b[1] = 2;
    encodeAddress(NAT_A, 4790, b, 4);
    encodeAddress(NAT_A, 4791, b, 4 + ADDR_SLOT);
  });
  assert.deepEqual(decodeSelf(self), { nat: "cone", observed: ["203.0.113.2:4790", "203.0.113.2:4791"] });
  refusesShort(decodeSelf, self, self.length);
  const unknownGuess = Uint8Array.from([9, 0, 0, 0]);
  assert.equal(decodeSelf(unknownGuess)!.nat, "unknown");
});

test("IN_PING's node id: the member id as shown, back to the core's u64; anything else refused", () => {
  for (const id of ["00000000deadbeef", "1122334455667788", "ffffffffffffffff"]) assert.equal(hexU64(u64OfHex(id)!, 0), id);
  for (const bad of ["", "deadbeef", "00000000DEADBEEF", "00000000deadbeefff", "0x000000deadbeef"]) assert.equal(u64OfHex(bad), null);
});

test("divs ping lines: direct endpoint, relay name, no pong", () => {
  const base = { id: "0000000000000002", name: "h2" };
  assert.equal(formatPing({ ...base, pong: true, path: "direct", via: null, endpoint: "203.0.113.2:40001", rtt_ms: 0.42 }),
    "pong from h2 via 203.0.113.2:40001 in 0.4 ms");
  assert.equal(formatPing({ ...base, pong: true, path: "relay", via: "pub", endpoint: "203.0.113.10:4790", rtt_ms: 0.9 }),
    "pong from h2 via relay pub in 0.9 ms");
  assert.equal(formatPing({ ...base, pong: false, path: null, via: null, endpoint: null, rtt_ms: null }), "no pong from h2");
});
