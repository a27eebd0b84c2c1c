// Bad input at one node's DHCP server, on the real core (docs/dhcp.md "Serving"): an exhausted pool
// (DISCOVERs unanswered, counted, logged once per episode; a REQUEST for a held address NAKed) and a
// client cycling MACs (new addresses rate-limited per node, counted).
import assert from "node:assert/strict";
import { test } from "node:test";
import { CoreInstance, IN_FRAME, IN_IDENTITY, IN_RANDOM, OUT_FRAME, compileCore } from "./core.mjs";
import { DHCP_KEYS, ipv4, parseReply } from "./dhcp.mjs";
import { requestFrame } from "../fixtures/dhcp-frames.mjs";

const OUT_LOG = 16;
const DISCOVER = 1, OFFER = 2, REQUEST = 3, ACK = 5, NAK = 6, RELEASE = 7;
const START = ipv4("198.18.0.100");
const module = compileCore();

/** A node alone, seeded with a pool of `size` addresses (the first is the server identifier). */
function server(size) {
  const core = new CoreInstance(module);
  for (const [k, v] of [[DHCP_KEYS.start, START], [DHCP_KEYS.size, size], [DHCP_KEYS.leaseS, 600], [DHCP_KEYS.seed, 1]]) {
    assert.ok(core.x.config_set(k, v));
  }
  const id = new Uint8Array(8);
  id[0] = 1;
  core.record(IN_RANDOM, [new Uint8Array(32)]);
  core.record(IN_IDENTITY, [id, new Uint8Array(20), new TextEncoder().encode("s")]);
  core.process(1, () => {});
  return core;
}

let xid = 1;
const mac = (k) => [0x02, 0x00, 0x5e, 0x30, k >> 8, k & 255];

/** One request into the TAP at `now`: the DHCP replies and log lines it caused. */
function ask(core, now, k, type, extra = {}) {
  core.record(IN_FRAME, [requestFrame(mac(k), type, { xid: xid++, ...extra })]);
  const replies = [], logs = [];
  core.process(now, (kind, at, n) => {
    if (kind === OUT_FRAME) { const r = parseReply(core.u8.slice(at, at + n)); if (r) replies.push(r); }
    if (kind === OUT_LOG) logs.push(new TextDecoder().decode(core.u8.subarray(at, at + n)));
  });
  return { replies, logs };
}

function lease(core, now, k) {
  const offer = ask(core, now, k, DISCOVER).replies[0];
  assert.equal(offer?.type, OFFER, `client ${k}: no offer`);
  const ack = ask(core, now, k, REQUEST, { requested: offer.yiaddr, serverId: offer.serverId }).replies[0];
  assert.equal(ack?.type, ACK);
  return ack.yiaddr;
}

test("an exhausted pool: DISCOVER unanswered and counted, logged once until an address is free again; a held address NAKed", () => {
  const core = server(6); // 198.18.0.101-105 to lease
  const got = [1, 2, 3, 4, 5].map((k) => lease(core, 10, k));
  assert.equal(new Set(got).size, 5);
  const first = ask(core, 20, 6, DISCOVER);
  assert.deepEqual(first.replies, []);
  assert.equal(first.logs.length, 1);
  assert.match(first.logs[0], /is held: DISCOVERs go unanswered/);
  const again = ask(core, 30, 7, DISCOVER);
  assert.deepEqual([again.replies, again.logs], [[], []], "logged twice");
  assert.equal(core.stats().dhcp_pool_exhausted, 2);
  const taken = ask(core, 40, 6, REQUEST, { requested: got[0] }).replies[0];
  assert.equal(taken?.type, NAK, "a REQUEST for another client's address");
  assert.equal(ask(core, 50, 1, RELEASE, { ciaddr: got[0], dstIp: START }).replies.length, 0);
  assert.equal(lease(core, 60, 6), got[0]);
  assert.equal(ask(core, 70, 8, DISCOVER).logs.length, 1, "a new exhaustion is logged again");
});

test("a client cycling MACs: new addresses rate-limited per node (bursts of 64, then 20 per second), counted", () => {
  const core = server(256);
  let offers = 0;
  for (let k = 0; k < 100; k++) offers += ask(core, 1000, k, DISCOVER).replies.filter((r) => r.type === OFFER).length;
  assert.equal(offers, 64);
  assert.equal(core.stats().dhcp_rate_limited, 36);
  let later = 0;
  for (let k = 100; k < 150; k++) later += ask(core, 2000, k, DISCOVER).replies.length;
  assert.equal(later, 20, "one second later: 20 more");
  // A known client is not a new address: it gets its offer again while the limit is spent.
  assert.equal(ask(core, 2000, 0, DISCOVER).replies[0]?.type, OFFER);
});
