// Local candidates and the advertise guess (host/net/local-addresses.ts): loopback, link-local,
// unspecified and multicast addresses are never candidates; the listen address decides the families;
// the watch pushes only when the list changed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseIp } from "../../host/net/address.ts";
import { CANDIDATE_REFRESH_MS, CandidateWatch, guessAdvertise, isCandidateIp, localCandidates } from "../../host/net/local-addresses.ts";
import type { Timers } from "../../host/base/services.ts";

/** What a host with loopback, a LAN, a global IPv6 prefix and link-local addresses lists (Node's shape). */
const INTERFACES = [
  { name: "lo", address: "127.0.0.1", family: "IPv4", internal: true },
  { name: "lo", address: "::1", family: "IPv6", internal: true },
  { name: "eth0", address: "fe80::fc:ff:fe00:1", family: "IPv6", internal: false, scopeid: 2 },
  { name: "eth0", address: "169.254.7.7", family: "IPv4", internal: false },
  { name: "eth0", address: "198.18.0.1", family: "IPv4", internal: false },
  { name: "eth0", address: "2001:DB8::1", family: "IPv6", internal: false },
  { name: "eth1", address: "fd00::2", family: "IPv6", internal: false },
  { name: "eth1", address: "198.18.0.1", family: "IPv4", internal: false }, // the same address on a second interface
  { name: "divs0", address: "198.18.9.1", family: "IPv4", internal: false }, // the node's TAP: overlay
  { name: "divs0", address: "2001:db8:9::1", family: "IPv6", internal: false },
];
const TAP = "divs0";

test("which addresses are candidates", () => {
  const yes = ["198.18.0.1", "203.0.113.5", "2001:db8::1", "fd00::2", "64:ff9b::c612:1"];
  const no = ["0.0.0.0", "127.0.0.1", "127.9.9.9", "169.254.1.1", "224.0.0.1", "255.255.255.255", "::", "::1", "fe80::1", "febf::1", "ff02::1"];
  for (const a of yes) assert.equal(isCandidateIp(parseIp(a)!), true, a);
  for (const a of no) assert.equal(isCandidateIp(parseIp(a)!), false, a);
});

test("on [::] both families are candidates, without loopback, link-local, the TAP's or duplicates, with the listen port", () => {
  assert.deepEqual(localCandidates(INTERFACES, { host: "::", port: 4790 }, TAP), [
    { host: "198.18.0.1", port: 4790 },
    { host: "2001:db8::1", port: 4790 },
    { host: "fd00::2", port: 4790 },
  ]);
});

test("on 0.0.0.0 only IPv4; on one address only that address (when it is a candidate)", () => {
  assert.deepEqual(localCandidates(INTERFACES, { host: "0.0.0.0", port: 7 }, TAP), [{ host: "198.18.0.1", port: 7 }]);
  assert.deepEqual(localCandidates(INTERFACES, { host: "2001:db8::1", port: 7 }, TAP), [{ host: "2001:db8::1", port: 7 }]);
  assert.deepEqual(localCandidates(INTERFACES, { host: "127.0.0.1", port: 7 }, TAP), []);
  assert.deepEqual(localCandidates([{ name: "eth0", address: "fe80::1%eth0" }], { host: "::", port: 7 }, TAP), []); // zone-scoped
});

test("the advertise guess: the first IPv4 candidate, else IPv6, else none; the same for both runtimes' lists", () => {
  assert.deepEqual(guessAdvertise(INTERFACES, { host: "::", port: 4790 }, TAP), { host: "198.18.0.1", port: 4790 });
  // Deno lists no `internal` flag: the address and the name alone decide.
  const deno = INTERFACES.map(({ name, address }) => ({ name, address, family: "x", netmask: "", scopeid: null, cidr: "", mac: "" }));
  assert.deepEqual(guessAdvertise(deno, { host: "::", port: 4790 }, TAP), { host: "198.18.0.1", port: 4790 });
  const v6Only = INTERFACES.filter((i) => i.family === "IPv6");
  assert.deepEqual(guessAdvertise(v6Only, { host: "::", port: 1 }, TAP), { host: "2001:db8::1", port: 1 });
  assert.equal(guessAdvertise(v6Only, { host: "0.0.0.0", port: 1 }, TAP), null);
  assert.equal(guessAdvertise([{ name: "lo", address: "127.0.0.1" }, { name: "lo", address: "::1" }], { host: "::", port: 1 }, TAP), null);
  assert.equal(guessAdvertise([{ name: TAP, address: "198.18.9.1" }], { host: "::", port: 1 }, TAP), null);
});

/** Timers a test fires by hand. */
function manualTimers() {
  const pending = new Map<number, { callback: () => void; delayMs: number }>();
  let next = 0;
  const timers: Timers = {
    set: (callback, delayMs) => (pending.set(++next, { callback, delayMs }), next),
    clear: (handle) => void pending.delete(handle as number),
  };
  const fire = () => {
    const [[id, t]] = [...pending];
    pending.delete(id);
    assert.equal(t.delayMs, CANDIDATE_REFRESH_MS);
    t.callback();
  };
  return { timers, fire, pending };
}

test("the watch pushes at start and then only when the candidates changed; stop() ends it", () => {
  let list = [{ name: "eth0", address: "198.18.0.1" }];
  const pushed: string[][] = [];
  const { timers, fire, pending } = manualTimers();
  const watch = new CandidateWatch(() => list, { host: "::", port: 9 }, TAP, timers, (c) => pushed.push(c.map((h) => h.host)));
  watch.start();
  assert.deepEqual(pushed, [["198.18.0.1"]]);
  fire();
  assert.equal(pushed.length, 1); // nothing changed
  list = [{ name: "eth0", address: "198.18.0.1" }, { name: "eth0", address: "2001:db8::7" }];
  fire();
  assert.deepEqual(pushed, [["198.18.0.1"], ["198.18.0.1", "2001:db8::7"]]);
  watch.stop();
  assert.equal(pending.size, 0);
});
