// Underlay address text <-> the core's 18-byte form (host/net/address.ts) for IPv4 and IPv6, the
// transport's address keys, and `--join` telling an address from a token.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  addressBytes, formatAddress, formatHostPort, keyOfAddress, parseHostPort, parseIpv6,
} from "../../host/net/address.ts";
import { decodeToken, encodeToken, parseJoin } from "../../host/secure/token.ts";

test("host:port text round-trips through parse, the 18-byte form and format, in canonical form", () => {
  const cases: [string, string][] = [
    ["198.18.0.1:4790", "198.18.0.1:4790"],
    ["[::]:4790", "[::]:4790"],
    ["[::1]:1", "[::1]:1"],
    ["[2001:DB8:0:0:0:0:0:1]:65535", "[2001:db8::1]:65535"],
    ["[2001:db8:0:0:1:0:0:1]:7", "[2001:db8::1:0:0:1]:7"], // the first of two equal zero runs
    ["[2001:db8:0:1:1:1:1:1]:7", "[2001:db8:0:1:1:1:1:1]:7"], // one zero group stays
    ["[fe80::1:2]:9", "[fe80::1:2]:9"],
    ["[64:ff9b::198.18.0.1]:4790", "[64:ff9b::c612:1]:4790"], // embedded IPv4 text
    ["[::ffff:198.18.0.1]:4790", "198.18.0.1:4790"], // IPv4-mapped is IPv4
    ["[1:2:3:4:5:6:7:8]:80", "[1:2:3:4:5:6:7:8]:80"],
  ];
  for (const [text, canonical] of cases) {
    const hp = parseHostPort(text);
    assert.equal(formatHostPort(hp), canonical, text);
    const bytes = addressBytes(hp);
    assert.equal(bytes.length, 18);
    assert.equal(formatAddress(bytes), canonical, text);
    assert.deepEqual(parseHostPort(formatAddress(bytes)), hp, text);
  }
});

test("the 18-byte form: IPv6 bytes then the port big-endian; IPv4 as ::ffff:a.b.c.d", () => {
  assert.deepEqual([...addressBytes(parseHostPort("[2001:db8::a:b]:4790"))],
    [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0x0b, 0x12, 0xb6]);
  assert.deepEqual([...addressBytes(parseHostPort("198.18.0.1:4790"))],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 1, 0x12, 0xb6]);
});

test("a default port fills in for a.b.c.d, [v6] and a bare v6 address", () => {
  assert.deepEqual(parseHostPort("198.18.0.1", 4790), { host: "198.18.0.1", port: 4790 });
  assert.deepEqual(parseHostPort("[::]", 4790), { host: "::", port: 4790 });
  assert.deepEqual(parseHostPort("2001:db8::1", 4790), { host: "2001:db8::1", port: 4790 });
});

test("bad addresses are refused with a message", () => {
  for (const bad of [
    "[::1", "[::1]4790", "[::1]:", "[::1]:65536", "[1.2.3.4]:1", "[1::2::3]:1", "[1:2:3:4:5:6:7:8:9]:1",
    "[1:2:3:4:5:6:7]:1", "[12345::]:1", "[fe80::1%eth0]:1", "::g", "256.0.0.1:1", "host:1", "1.2.3.4:x",
  ]) {
    assert.throws(() => parseHostPort(bad, 4790), Error, bad);
  }
  assert.throws(() => parseHostPort("[::1]"), /bad port/);
  assert.equal(parseIpv6("x"), null);
  assert.deepEqual([...parseIpv6("1:2:3:4:5:6:7::")!].slice(12), [0, 7, 0, 0]); // "::" for one group at the end
});

test("keys: a number for IPv4 (ipv4 * 65536 + port), the canonical text for IPv6, distinct per port", () => {
  assert.equal(keyOfAddress(addressBytes(parseHostPort("198.18.0.1:4790"))), 0xc6120001 * 65536 + 4790);
  assert.equal(keyOfAddress(addressBytes(parseHostPort("[2001:db8::1]:4790"))), "[2001:db8::1]:4790");
  assert.notEqual(keyOfAddress(addressBytes(parseHostPort("[2001:db8::1]:1"))), keyOfAddress(addressBytes(parseHostPort("[2001:db8::1]:2"))));
  // Alternating peers (the last IPv6 key is cached): each address keeps its own key; [::]:0 is not "".
  const [x, y] = ["[2001:db8::1]:4790", "[2001:db8::1]:4791"].map((t) => addressBytes(parseHostPort(t)));
  assert.deepEqual([x, y, x, y].map((b) => keyOfAddress(b)), ["[2001:db8::1]:4790", "[2001:db8::1]:4791", "[2001:db8::1]:4790", "[2001:db8::1]:4791"]);
  assert.equal(keyOfAddress(new Uint8Array(18)), "[::]:0");
  // At an offset, as in the core's output records.
  const record = new Uint8Array(30);
  record.set(addressBytes(parseHostPort("[::1]:9")), 5);
  assert.equal(keyOfAddress(record, 5), "[::1]:9");
});

test("--join takes [v6]:port, a bare v6 address and a.b.c.d as addresses", () => {
  assert.deepEqual(parseJoin("[2001:db8::2]:4791", 4790).seeds, [{ host: "2001:db8::2", port: 4791 }]);
  assert.deepEqual(parseJoin("2001:db8::2", 4790).seeds, [{ host: "2001:db8::2", port: 4790 }]);
  assert.deepEqual(parseJoin("198.18.0.2", 4790).seeds, [{ host: "198.18.0.2", port: 4790 }]);
  assert.throws(() => parseJoin("[2001:db8::2:4791", 4790), /bad --join address/);
});

test("a join token carries an IPv6 seed and gives it back", () => {
  const key = new Uint8Array(32).fill(7);
  const seeds = [{ host: "2001:db8::1", port: 4790 }];
  assert.deepEqual(decodeToken(encodeToken(seeds, key)).seeds, seeds);
});
