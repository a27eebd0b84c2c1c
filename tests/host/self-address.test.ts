// `--address dhcp` on the host side (host/engine/self-address.ts): answers put the address on the
// TAP, asks repeat at T1 or every second, a lease that ran out takes the address off; the TAP's MAC
// is kept in the state directory.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Cidr } from "../../host/net/cidr.ts";
import { SelfAddress, TAP_MAC_FILE, selfLeaseMac } from "../../host/engine/self-address.ts";
import type { StateStore } from "../../host/state/state-dir.ts";

function bed() {
  let now = 0;
  const timers: { at: number; fn: () => void }[] = [];
  const applied: (Cidr | null)[] = [];
  let asks = 0;
  /** What the core answers each ask with, at once (as it does, in the same process call): [ip, prefix, lease s]. */
  const reply = { now: [0, 0, 0] };
  const services = {
    clock: { now: () => now },
    timers: {
      set: (fn: () => void, delay: number) => { const t = { at: now + delay, fn }; timers.push(t); return t; },
      clear: (h: unknown) => { const i = timers.indexOf(h as { at: number; fn: () => void }); if (i >= 0) timers.splice(i, 1); },
    },
    log: { info: () => {}, warn: () => {} },
  };
  const self: SelfAddress = new SelfAddress(services, () => {
    asks++;
    self.answer(reply.now[0], reply.now[1], reply.now[2]);
  }, (a) => applied.push(a));
  /** Runs the timers due until `t`. */
  const advance = (t: number) => {
    for (;;) {
      const due = timers.filter((x) => x.at <= t).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      timers.splice(timers.indexOf(due), 1);
      now = due.at;
      due.fn();
    }
    now = t;
  };
  return { self, applied, asks: () => asks, advance, reply };
}

const IP = 0xc6120065; // 198.18.0.101

test("an answer puts the address on the TAP once and asks again at T1", () => {
  const b = bed();
  b.reply.now = [IP, 24, 60];
  b.self.start();
  assert.equal(b.asks(), 1);
  assert.deepEqual(b.applied, [{ address: "198.18.0.101", prefix: 24 }]);
  assert.match(b.self.describe(), /^198\.18\.0\.101\/24 \(dhcp, renews in 30 s\)$/);
  b.advance(29_999);
  assert.equal(b.asks(), 1);
  b.advance(30_000);
  assert.equal(b.asks(), 2);
  assert.equal(b.applied.length, 1, "renewed: the same address, nothing to change on the TAP");
});

test("no address yet: asks every second; a lease that ran out without a renewal comes off the TAP", () => {
  const b = bed();
  b.self.start();
  assert.equal(b.self.describe(), "dhcp (asking)");
  b.advance(3_000);
  assert.equal(b.asks(), 4);
  assert.deepEqual(b.applied, []);
  b.reply.now = [IP, 24, 10];
  b.advance(4_000); // the lease, at 4 s, until 14 s
  b.reply.now = [0, 0, 0]; // no renewal from 9 s on
  b.advance(13_500);
  assert.equal(b.applied.at(-1)?.address, "198.18.0.101", "taken off before the lease ran out");
  b.advance(14_000);
  assert.equal(b.applied.at(-1), null);
  assert.equal(b.self.describe(), "dhcp (asking)");
});

test("the TAP's MAC: --mac when given, else made up once (locally administered) and kept", () => {
  const files = new Map<string, Uint8Array>();
  const store: StateStore = { dir: "/x", read: (n) => files.get(n) ?? null, write: (n, b) => void files.set(n, b) };
  const random = { fill: (b: Uint8Array) => b.fill(0xff) };
  assert.equal(selfLeaseMac(store, "02:00:00:00:00:01", random), "02:00:00:00:00:01");
  const made = selfLeaseMac(store, null, random);
  assert.equal(made, "fe:ff:ff:ff:ff:ff");
  assert.equal(new TextDecoder().decode(files.get(TAP_MAC_FILE)), `${made}\n`);
  assert.equal(selfLeaseMac(store, null, { fill: (b: Uint8Array) => b.fill(0x11) }), made);
});
