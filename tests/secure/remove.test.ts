// `divs remove` at the transport level (docs/security.md "Removing a node"): bans refuse a removed
// identity's handshakes and drop its sessions; CONTROL messages carry the removal protocol, which
// moves every remaining member to a new key the removed one never sees, with no datagram lost.
import assert from "node:assert/strict";
import { test } from "node:test";
import { keyOfAddress } from "../../host/net/address.ts";
import { nodeIdOf } from "../../host/secure/identity.ts";
import {
  BANS, BANS_PER_MESSAGE, BANS_SHARE_MS, COMMIT, DONE, INSTALLED, OFFER, PENDING_KEY_MS, REMOVAL_RETRY_MS, REMOVAL_STEP_MS, type RemovalReport,
  Removals,
} from "../../host/secure/removal.ts";
import { CONTROL } from "../../host/secure/handshake.ts";
import { bytes, crypto, established, ip, Net, Node, newKey, text } from "./harness.ts";

interface Member {
  node: Node;
  removals: Removals;
  controls: Uint8Array[];
}

/** A switch of `names.length` transports, every pair with a session, each with its removal protocol. */
/** A transport with its removal protocol wired as host/engine/driver.ts does it. */
function member(net: Net, node: Node): Member {
  const controls: Uint8Array[] = [];
  const removals = new Removals(crypto, node.t.keyring, node.identity.nodeId, {
    ban: (id) => node.t.ban(id),
    keysChanged: () => net.post(node, node.sent(node.t.handleTimeout(net.now))),
    send: (addr, message) => {
      const sealed = node.t.control(keyOfAddress(addr), addr, message, net.now);
      net.post(node, node.sent());
      return sealed;
    },
    bans: () => node.t.bans.list(),
  });
  node.onControl = (from, source, message) => {
    controls.push(Uint8Array.from(message));
    removals.message(nodeIdOf(crypto, from), source, message, net.now);
  };
  net.add(node);
  return { node, removals, controls };
}

function mesh(names: string[]): { net: Net; key: Uint8Array; m: Map<string, Member> } {
  const net = new Net();
  const key = newKey();
  const m = new Map<string, Member>();
  names.forEach((name, i) => m.set(name, member(net, new Node(name, ip(i + 1), 4790, key, 0))));
  for (const a of m.values()) for (const b of m.values()) if (a !== b) net.send(a.node, b.node, bytes("hello"));
  net.pump();
  return { net, key, m };
}

const target = (n: Node) => ({ id: n.identity.nodeId, name: n.name, addr: n.addr });

/** One numbered datagram each way between every two of `nodes`, every `stepMs`, ticking as a host would, until `done`. */
function trafficUntil(net: Net, members: Member[], done: () => boolean, stepMs = 50, first = 0, limitMs = 60_000): number {
  let n = first;
  const start = net.now;
  while (!done()) {
    if (net.now - start > limitMs) throw new Error("never done");
    net.now += stepMs;
    net.tick();
    for (const x of members) x.removals.handleTimeout(net.now);
    for (const a of members) for (const b of members) if (a !== b) net.send(a.node, b.node, bytes(`${a.node.name}${n}`));
    n++;
    net.pump();
  }
  return n;
}

function receivedFrom(to: Node, from: string): string[] {
  return to.delivered.map(text).filter((t) => t.startsWith(from) && t !== "hello");
}

test("a ban drops the banned identity's sessions and refuses its handshakes, counted as banned", () => {
  const { net, a, b, key } = established();
  assert.equal(a.t.sessionCount(), 1);
  a.t.ban(b.identity.nodeId);
  assert.equal(a.t.sessionCount(), 0);
  assert.equal(a.t.counters.sessions_banned, 1);
  // b still holds its session: its datagrams find none at a.
  net.send(b, a, bytes("after"));
  net.pump();
  assert.equal(a.t.counters.no_session, 1);
  // A restarted b (same identity, same key) is refused at its HS_INIT.
  const b2 = new Node("b", ip(2), 4789, key, net.now, {}, b.identity);
  net.add(b2);
  net.send(b2, a, bytes("let me in"));
  net.pump();
  assert.equal(a.t.counters.banned, 1);
  assert.equal(a.t.sessionCount(), 0);
  // a reaching out to b elsewhere (a b that has no handshake of its own pending, which could collide):
  // b's challenge proves the banned identity and is refused.
  const b3 = new Node("b", ip(3), 4789, key, net.now, {}, b.identity);
  net.add(b3);
  net.send(a, b3, bytes("hello?"));
  net.pump();
  assert.equal(a.t.counters.banned, 2);
  assert.equal(a.t.sessionCount(), 0);
  assert.deepEqual(b3.delivered.map(text), []);
  assert.ok(!a.delivered.map(text).includes("let me in"));
});

test("an identity banned before it was ever seen is refused; other identities are not", () => {
  const { net, a, key } = established();
  const stranger = new Node("e", ip(5), 4789, key, 0);
  const other = new Node("f", ip(6), 4789, key, 0);
  net.add(stranger, other);
  a.t.ban(stranger.identity.nodeId);
  net.send(stranger, a, bytes("e"));
  net.send(other, a, bytes("f"));
  net.pump();
  assert.equal(a.t.counters.banned, 1);
  assert.deepEqual(a.delivered.map(text).filter((t) => t !== "hello"), ["f"]);
});

test("CONTROL is sealed on the session, handed to the host, never to the core; a changed byte is dropped", () => {
  const { net, a, b } = established();
  const got: string[] = [];
  b.onControl = (from, _source, message) => {
    assert.deepEqual(from, a.identity.publicKey);
    got.push(text(message));
  };
  assert.equal(a.t.control(b.key, b.addr, bytes("to the host"), net.now), true, "sealed on the session");
  const sent = net.post(a, a.sent());
  assert.equal(sent.length, 1);
  assert.equal(sent[0].data[1], CONTROL);
  assert.ok(!text(sent[0].data).includes("to the host"), "sealed");
  net.pump();
  assert.deepEqual(got, ["to the host"]);
  assert.equal(b.delivered.length, 1, "only the first hello reached the core side");
  const changed = net.post(a, a.sent(a.t.control(b.key, b.addr, bytes("changed"), net.now)));
  net.take();
  changed[0].data[changed[0].data.length - 1] ^= 1;
  net.deliver(changed[0]);
  assert.equal(b.t.counters.decrypt_failed, 1);
  assert.deepEqual(got, ["to the host"]);
  assert.equal(a.t.counters.control_sent, 2);
  assert.equal(b.t.counters.control_received, 1);
});

test("CONTROL to a peer without a session sends nothing sealed and starts a handshake", () => {
  const net = new Net();
  const key = newKey();
  const a = new Node("a", ip(1), 4789, key, 0);
  const b = new Node("b", ip(2), 4789, key, 0);
  net.add(a, b);
  const got: string[] = [];
  b.onControl = (_from, _source, message) => got.push(text(message));
  assert.equal(a.t.control(b.key, b.addr, bytes("early"), net.now), false, "no session to seal it on");
  const sent = net.post(a, a.sent());
  assert.equal(a.t.counters.control_sent, 0);
  assert.equal(a.t.counters.handshakes_started, 1);
  assert.equal(sent.length, 1);
  net.pump();
  assert.deepEqual(got, [], "not queued: the protocol sends it again");
  net.post(a, a.sent(a.t.control(b.key, b.addr, bytes("again"), net.now)));
  net.pump();
  assert.deepEqual(got, ["again"]);
});

test("removing d: a, b, c move to a new key while every datagram between them arrives; d gets nothing and is refused", () => {
  const { net, key, m } = mesh(["a", "b", "c", "d"]);
  const [a, b, c, d] = ["a", "b", "c", "d"].map((n) => m.get(n)!);
  const oldId = a.node.t.keyring.primary.id;
  let report: RemovalReport | null = null;
  a.removals.start(d.node.identity.nodeId, [b, c, d].map((x) => target(x.node)), net.now, (r) => (report = r));
  const kept = [a, b, c];
  const n = trafficUntil(net, kept, () => report !== null);
  // A few more rounds: sessions under the old key are replaced after the commit.
  const total = trafficUntil(net, kept, () => net.now >= 3000 + n * 50, 50, n);
  const r = report as RemovalReport | null;
  assert.ok(r !== null);
  assert.deepEqual(r.moved.sort(), ["b", "c"]);
  assert.deepEqual(r.missed, []);
  const newId = a.node.t.keyring.primary.id;
  assert.notEqual(newId, oldId);
  assert.equal(r.keyId, newId.toString(16).padStart(8, "0"));
  for (const x of kept) {
    assert.deepEqual(x.node.t.keyring.list(), [{ id: r.keyId, primary: true }], `${x.node.name} holds the new key only`);
    for (const y of kept) {
      if (x === y) continue;
      const got = receivedFrom(x.node, y.node.name);
      assert.deepEqual(got, Array.from({ length: total }, (_, i) => `${y.node.name}${i}`), `${y.node.name} -> ${x.node.name}: no datagram lost`);
    }
    assert.ok(x.node.t.sessions(net.now).every((s) => s.keyId === newId), `${x.node.name}: sessions under the new key only`);
    assert.ok(x.node.t.bans.hasId(d.node.identity.nodeId), `${x.node.name} bans d`);
  }
  assert.deepEqual(d.controls, [], "d was sent nothing of the removal");
  assert.deepEqual(d.node.t.keyring.list(), [{ id: oldId.toString(16).padStart(8, "0"), primary: true }]);
  const answers = a.controls.map((x) => x[0]).sort();
  assert.deepEqual(answers, [INSTALLED, INSTALLED, DONE, DONE].sort(), "b and c answered each step once");

  // d again, restarted with what it knew: its old key is in no keyring any more.
  const before = a.node.t.counters.unknown_key_id;
  const again = new Node("d", ip(4), 4790, key, net.now, {}, d.node.identity);
  net.nodes.set(again.key, again);
  net.send(again, a.node, bytes("d is back"));
  net.pump();
  assert.equal(a.node.t.counters.unknown_key_id, before + 1);
  // A fresh identity with the old key is refused the same way: the key is gone, not just d.
  const fresh = new Node("d2", ip(7), 4790, key, net.now);
  net.add(fresh);
  net.send(fresh, b.node, bytes("new me"));
  net.pump();
  assert.ok(b.node.t.counters.unknown_key_id >= 1);
  // And d with the new key (an invitation someone gave it) is refused as banned.
  const newKey = a.node.t.keyring.primary.key;
  const withNew = new Node("d", ip(4), 4790, newKey, net.now, {}, d.node.identity);
  net.nodes.set(withNew.key, withNew);
  net.send(withNew, c.node, bytes("with the new key"));
  net.pump();
  assert.equal(c.node.t.counters.banned, 1);
  for (const x of kept) assert.ok(!x.node.delivered.map(text).some((t) => t.startsWith("d") || t === "new me" || t === "with the new key"));
});

test("a lost offer is sent again; a member that never answers is reported missed and the rest still move", () => {
  {
    const { net, m } = mesh(["a", "b", "c"]);
    const [a, b, c] = ["a", "b", "c"].map((n) => m.get(n)!);
    let dropped = 0;
    const pump = net.pump.bind(net);
    net.pump = (drop = () => false) =>
      pump((f) => {
        if (f.to === b.node && f.data[1] === CONTROL && dropped === 0) return ++dropped === 1;
        return drop(f);
      });
    let report: RemovalReport | null = null;
    a.removals.start(c.node.identity.nodeId, [target(b.node), target(c.node)], net.now, (r) => (report = r));
    net.pump();
    assert.equal(report, null, "b's offer was lost");
    trafficUntil(net, [a, b], () => report !== null, REMOVAL_RETRY_MS / 5);
    assert.deepEqual((report as RemovalReport | null)?.moved, ["b"]);
    assert.ok(net.now < REMOVAL_STEP_MS);
  }
  {
    const { net, m } = mesh(["a", "b", "c", "d"]);
    const [a, b, c, d] = ["a", "b", "c", "d"].map((n) => m.get(n)!);
    const pump = net.pump.bind(net);
    net.pump = (drop = () => false) => pump((f) => f.to === c.node || f.from === c.node || drop(f));
    let report: RemovalReport | null = null;
    const started = net.now;
    a.removals.start(d.node.identity.nodeId, [b, c, d].map((x) => target(x.node)), net.now, (r) => (report = r));
    trafficUntil(net, [a, b], () => report !== null);
    const r = report as RemovalReport | null;
    assert.deepEqual(r?.moved, ["b"]);
    assert.deepEqual(r?.missed, ["c"]);
    assert.ok(net.now - started >= REMOVAL_STEP_MS, "the install step waited for c");
    assert.equal(b.node.t.keyring.size, 1);
    assert.equal(c.node.t.keyring.size, 1);
    assert.notEqual(c.node.t.keyring.primary.id, b.node.t.keyring.primary.id, "c never got the new key");
  }
});

test("a member ignores an offer to ban itself or its sender, and a commit for a key it never installed", () => {
  const { net, m } = mesh(["a", "b"]);
  const [a, b] = ["a", "b"].map((n) => m.get(n)!);
  const offer = (banned: Uint8Array) => {
    const msg = new Uint8Array(45);
    msg[0] = OFFER;
    msg.set(banned, 1);
    const k = newKey();
    msg.set(k, 13);
    const id = crypto.sha256(bytes("divs key id"), k);
    msg.set(id.subarray(0, 4), 9);
    return msg;
  };
  for (const banned of [b.node.identity.nodeId, a.node.identity.nodeId]) {
    net.post(a.node, a.node.sent(a.node.t.control(b.node.key, b.node.addr, offer(banned), net.now)));
    net.pump();
  }
  assert.equal(b.node.t.bans.size, 0);
  assert.equal(b.node.t.keyring.size, 1);
  const commit = new Uint8Array(13);
  commit[0] = COMMIT;
  commit.set([1, 2, 3, 4], 9);
  net.post(a.node, a.node.sent(a.node.t.control(b.node.key, b.node.addr, commit, net.now)));
  net.pump();
  assert.equal(b.node.t.keyring.size, 1);
  assert.deepEqual(a.controls, [], "no answers");
});

test("a node refuses to remove itself, and a second removal while one runs", () => {
  const { net, m } = mesh(["a", "b", "c"]);
  const [a, b, c] = ["a", "b", "c"].map((n) => m.get(n)!);
  assert.throws(() => a.removals.start(a.node.identity.nodeId, [], net.now, () => {}), /cannot remove itself/);
  a.removals.start(c.node.identity.nodeId, [target(b.node)], net.now, () => {});
  assert.throws(() => a.removals.start(b.node.identity.nodeId, [], net.now, () => {}), /under way/);
});

test("a member that joins after a removal hears the bans from a member that saw it join, once a session is up", () => {
  const { net, m } = mesh(["a", "b", "c"]);
  const [a, b, c] = ["a", "b", "c"].map((n) => m.get(n)!);
  let report: RemovalReport | null = null;
  a.removals.start(c.node.identity.nodeId, [target(b.node)], net.now, (r) => (report = r));
  trafficUntil(net, [a, b], () => report !== null);
  const newKey = a.node.t.keyring.primary.key;
  const e = member(net, new Node("e", ip(5), 4790, newKey, net.now));
  assert.equal(e.node.t.bans.size, 0);
  // b's core sees e join before any session with it: the first try starts a handshake, a retry sends.
  b.removals.memberJoined(e.node.addr, net.now);
  net.pump();
  assert.equal(e.node.t.bans.size, 0, "nothing sealed before the session");
  assert.ok(b.removals.pollTimeout() <= net.now + REMOVAL_RETRY_MS);
  net.now += REMOVAL_RETRY_MS;
  b.removals.handleTimeout(net.now);
  net.pump();
  assert.ok(e.node.t.bans.hasId(c.node.identity.nodeId), "e bans c");
  assert.equal(b.removals.pollTimeout(), Infinity, "told once");
  // c, given the new key, is refused by e too.
  const cAgain = new Node("c", ip(3), 4790, newKey, net.now, {}, c.node.identity);
  net.nodes.set(cAgain.key, cAgain);
  net.send(cAgain, e.node, bytes("hi e"));
  net.pump();
  assert.equal(e.node.t.counters.banned, 1);
  // Nobody is told anything by a member without bans; and a member that never answers is given up on.
  assert.equal(e.removals.pollTimeout(), Infinity);
  const gone = new Node("g", ip(9), 4790, newKey, net.now);
  net.add(gone);
  b.removals.memberJoined(gone.addr, net.now);
  net.take(); // its handshakes go nowhere
  for (let t = 0; t <= BANS_SHARE_MS; t += REMOVAL_RETRY_MS) {
    net.now += REMOVAL_RETRY_MS;
    b.removals.handleTimeout(net.now);
    net.take();
  }
  assert.equal(b.removals.pollTimeout(), Infinity);
});

test("a ban list naming the receiver or its sender is taken without those; lists are split and bounded", () => {
  const { net, m } = mesh(["a", "b"]);
  const [a, b] = ["a", "b"].map((n) => m.get(n)!);
  const ids = Array.from({ length: BANS_PER_MESSAGE + 5 }, (_, i) => Uint8Array.from([i, i >> 8, 7, 7, 7, 7, 7, 7]));
  for (const id of ids) a.node.t.ban(id);
  a.node.t.ban(b.node.identity.nodeId); // b itself: not taken by b
  assert.equal(a.node.t.bans.size, ids.length + 1);
  net.send(a.node, b.node, bytes("x")); // a's session to b was dropped with b's ban: make one again
  net.pump();
  const bansList = [...ids, a.node.identity.nodeId];
  const message = new Uint8Array(2 + bansList.length * 8);
  message[0] = BANS;
  message[1] = 0; // count 0: refused
  b.removals.message(a.node.identity.nodeId, a.node.addr, message.subarray(0, 2), net.now);
  assert.equal(b.node.t.bans.size, 0);
  const ok = new Uint8Array(2 + 2 * 8);
  ok[0] = BANS;
  ok[1] = 2;
  ok.set(b.node.identity.nodeId, 2);
  ok.set(a.node.identity.nodeId, 10);
  b.removals.message(a.node.identity.nodeId, a.node.addr, ok, net.now);
  assert.equal(b.node.t.bans.size, 0, "neither itself nor its sender");
  const wrongLength = ok.slice(0, ok.length - 1);
  b.removals.message(a.node.identity.nodeId, a.node.addr, wrongLength, net.now);
  assert.equal(b.node.t.bans.size, 0);
  // Through the real path: a member that joined hears them all, in messages of at most BANS_PER_MESSAGE.
  const c = member(net, new Node("c", ip(3), 4790, a.node.t.keyring.primary.key, net.now));
  net.send(a.node, c.node, bytes("hello c"));
  net.pump();
  a.removals.memberJoined(c.node.addr, net.now);
  net.pump();
  assert.equal(c.controls.length, 2);
  assert.ok(c.controls.every((x) => x[0] === BANS && x[1] <= BANS_PER_MESSAGE));
  assert.equal(c.node.t.bans.size, ids.length + 1);
});

/** The OFFER keys (hex) `x` was sent. */
const offeredTo = (x: Member): string[] =>
  x.controls.filter((c) => c[0] === OFFER).map((c) => Buffer.from(c.subarray(13)).toString("hex"));

test("removals at once converge: two members removed by two issuers, one member removed by two; the key kept is none a removed node got", () => {
  for (const sameTarget of [false, true]) {
    const { net, m } = mesh(["a", "b", "c", "d", "e"]);
    const [a, b, c, d, e] = ["a", "b", "c", "d", "e"].map((n) => m.get(n)!);
    const all = [a, b, c, d, e];
    const byA = d;
    const byB = sameTarget ? d : e;
    const reports: RemovalReport[] = [];
    const others = (x: Member) => all.filter((y) => y !== x).map((y) => target(y.node));
    a.removals.start(byA.node.identity.nodeId, others(a), net.now, (r) => reports.push(r));
    b.removals.start(byB.node.identity.nodeId, others(b), net.now, (r) => reports.push(r));
    const kept = all.filter((x) => x !== byA && x !== byB);
    trafficUntil(net, kept, () => reports.length === 2 && !a.removals.running && !b.removals.running);
    trafficUntil(net, kept, () => net.now >= 20_000, 50, 1_000_000);
    const keys = kept.map((x) => x.node.t.keyring.list());
    for (const k of keys) assert.deepEqual(k, keys[0], `every remaining member holds the same keys (${sameTarget ? "d by a and b" : "d by a, e by b"})`);
    assert.equal(keys[0].length, 1);
    const final = Buffer.from(a.node.t.keyring.primary.key).toString("hex");
    for (const gone of new Set([byA, byB])) {
      assert.ok(!offeredTo(gone).includes(final), `${gone.node.name} never got the key kept`);
      for (const x of kept) assert.ok(x.node.t.bans.hasId(gone.node.identity.nodeId), `${x.node.name} bans ${gone.node.name}`);
    }
    for (const x of kept) {
      for (const y of kept) if (x !== y) assert.ok(x.node.t.sessions(net.now).some((s) => s.keyId === a.node.t.keyring.primary.id));
    }
  }
});

test("a removal key never committed (its removal lost, or its issuer stopped) leaves the ring after PENDING_KEY_MS", () => {
  const { net, m } = mesh(["a", "b", "c"]);
  const [a, b, c] = ["a", "b", "c"].map((n) => m.get(n)!);
  const pump = net.pump.bind(net);
  net.pump = (drop = () => false) => pump((f) => (f.from === a.node && f.data[1] === CONTROL && b.node.t.keyring.size > 1) || drop(f));
  a.removals.start(c.node.identity.nodeId, [target(b.node)], net.now, () => {}); // then a falls silent to b
  net.pump();
  assert.equal(b.node.t.keyring.size, 2, "b installed the offered key");
  const offered = b.node.t.keyring.list().find((k) => !k.primary)!.id;
  assert.ok(b.removals.pollTimeout() <= net.now + PENDING_KEY_MS);
  net.now += PENDING_KEY_MS - 1;
  b.removals.handleTimeout(net.now);
  assert.equal(b.node.t.keyring.size, 2);
  net.now += 1;
  b.removals.handleTimeout(net.now);
  assert.deepEqual(b.node.t.keyring.list().map((k) => k.id).includes(offered), false);
  assert.equal(b.node.t.keyring.size, 1);
});
