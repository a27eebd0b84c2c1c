// Routes and relaying in the transport (docs/security.md "Relaying", docs/host.md "Routes and
// relaying"): the route table, sessions that survive a path change, the RELAY envelope end to end
// through a relay that cannot read it, and every way a relay drops an envelope, each counted.
import assert from "node:assert/strict";
import { test } from "node:test";
import { addressKey, encodeAddress } from "../../host/net/address.ts";
import { totalRejections } from "../../host/secure/counters.ts";
import { RELAY, RELAY_HEADER_LEN, relayAddr, wrapRelay } from "../../host/secure/envelope.ts";
import { DATA, DATA_OVERHEAD, HS_INIT } from "../../host/secure/handshake.ts";
import { RelayAllowances } from "../../host/secure/relay.ts";
import { ROUTE_DIRECT, ROUTE_RELAY, RouteTable } from "../../host/secure/routes.ts";
import { MemberIdentities } from "../../host/engine/member-identities.ts";
import { bytes, ip, Net, newKey, Node, text } from "./harness.ts";

const UNLIMITED = { rateLimitPerSecond: 1e9, rateLimitBurst: 1e9 };
const ANY_BUDGET = 1e9;

function addr(ipv4: number, port: number): Uint8Array {
  const a = new Uint8Array(18);
  encodeAddress(ipv4, port, a);
  return a;
}

/** A relay R, and A and B that each hold a session with R (and none with each other). */
function triangle(relayCap?: number) {
  const key = newKey();
  const net = new Net();
  const config = relayCap === undefined ? UNLIMITED : { ...UNLIMITED, relayCapBytesPerSecond: relayCap };
  const a = new Node("a", ip(1), 4790, key, 0, config);
  const b = new Node("b", ip(2), 4790, key, 0, config);
  const r = new Node("r", ip(10), 4790, key, 0, config);
  net.add(a, b, r);
  net.send(a, r, bytes("a joins"));
  net.send(b, r, bytes("b joins"));
  net.pump();
  assert.equal(r.delivered.length, 2, "A and B reach R");
  return { net, a, b, r };
}

/** A relays to B through R: A and B route each other via R, R may relay for the pair. */
function relayed(relayCap?: number) {
  const t = triangle(relayCap);
  const { a, b, r } = t;
  a.sent(a.t.setRoute(b.addr, r.addr, ROUTE_RELAY, 0));
  b.sent(b.t.setRoute(a.addr, r.addr, ROUTE_RELAY, 0));
  r.t.allowRelay(a.addr, b.addr, ANY_BUDGET, 0);
  return t;
}

test("route table: direct and relay routes, the reverse of a direct one, a direct route to the peer itself is none", () => {
  const routes = new RouteTable();
  const p = addr(ip(1), 4790);
  const endpoint = addr(ip(99), 40001);
  const relay = addr(ip(10), 4790);
  const pk = addressKey(ip(1), 4790);
  const ek = addressKey(ip(99), 40001);
  const rk = addressKey(ip(10), 4790);
  routes.set(pk, p, ek, endpoint, ROUTE_DIRECT);
  assert.equal(routes.get(pk)?.sendKey, ek);
  assert.equal(routes.directFrom(ek)?.peerKey, pk);
  routes.set(pk, p, rk, relay, ROUTE_RELAY);
  assert.equal(routes.get(pk)?.kind, ROUTE_RELAY);
  assert.equal(routes.directFrom(ek), undefined, "the old endpoint is no longer the peer's");
  assert.equal(routes.directFrom(rk), undefined, "a relay's address is not the peer's");
  routes.set(pk, p, pk, p, ROUTE_DIRECT);
  assert.equal(routes.get(pk), undefined);
  assert.equal(routes.size, 0);
});

test("relay token bucket: a burst, then the rate; the core's budget below the cap wins; 0 revokes", () => {
  const cap = 1_000_000; // bytes/s
  const relays = new RelayAllowances(cap);
  relays.set(1, 2, ANY_BUDGET, 0);
  const burst = cap / 4;
  let passed = 0;
  while (relays.take(2, 1, 1000, 0)) passed += 1000; // either order names the pair
  assert.equal(passed, burst);
  assert.equal(relays.take(1, 2, 1000, 0.5), false, "half a millisecond refills 500 bytes");
  assert.equal(relays.take(1, 2, 1000, 1), true, "a millisecond refills 1000");
  relays.set(1, 2, 100_000, 1); // the core lowers the budget: the burst is at least one largest datagram
  assert.equal(relays.pairs()[0].rate, 100_000);
  assert.equal(relays.take(1, 2, 65_535, 1000), true);
  assert.equal(relays.take(1, 2, 1, 1000), false);
  relays.set(2, 1, 0, 1000);
  assert.equal(relays.allowed(1, 2), false);
  assert.deepEqual(relays.pairs(), []);
  const never = new RelayAllowances(0); // --relay-cap 0
  never.set(1, 2, ANY_BUDGET, 0);
  assert.equal(never.allowed(1, 2), false);
});

test("a direct route sends to the endpoint, and adopts the session made from it: no new handshake", () => {
  const key = newKey();
  const net = new Net();
  const a = new Node("a", ip(1), 4790, key, 0, UNLIMITED);
  const b = new Node("b", ip(2), 4790, key, 0, UNLIMITED);
  net.add(a, b);
  // B sits behind a NAT: A sees its datagrams from 203.0.113.2:40001, which A learns is B's endpoint.
  const natIp = ((203 << 24) | (113 << 8) | 2) >>> 0;
  const endpoint = { key: addressKey(natIp, 40001), addr: addr(natIp, 40001) };
  net.nodes.set(endpoint.key, b);
  const natted = (f: { from: Node; to: Node }) => {
    if (f.from === b) f.from = endpoint as unknown as Node;
    return false;
  };
  net.send(b, a, bytes("b joins"));
  net.pump(natted);
  assert.equal(text(a.delivered[0]), "b joins");
  assert.equal(a.t.sessions(0)[0].addrKey, endpoint.key, "before the core knows, the session is the endpoint's");

  a.sent(a.t.setRoute(b.addr, endpoint.addr, ROUTE_DIRECT, 0));
  assert.equal(a.t.sessions(0)[0].addrKey, b.key, "the session moved to B");
  const started = a.t.counters.handshakes_started;
  net.send(a, b, bytes("to b's endpoint"));
  const [f] = net.inflight;
  assert.equal(f.data[1], DATA, "sealed on the adopted session");
  net.pump(natted);
  assert.equal(text(b.delivered.at(-1)!), "to b's endpoint");
  net.post(b, b.sent(b.t.outgoing(a.key, a.addr, bytes("from the endpoint again"), net.now)));
  const [back] = net.take();
  const got = a.t.incoming(endpoint.key, endpoint.addr, back.data, net.now);
  assert.equal(text(got.deliver!), "from the endpoint again");
  assert.deepEqual(got.source, b.addr, "the core hears it from B, whose route it set");
  net.post(a, a.sent(a.t.outgoing(endpoint.key, endpoint.addr, bytes("to the endpoint by name"), net.now))); // the core probing it
  net.pump(natted);
  assert.equal(text(b.delivered.at(-1)!), "to the endpoint by name");
  assert.equal(a.t.counters.handshakes_started, started);
  assert.equal(a.t.counters.wrong_source, 0);
});

test("relayed: handshake and DATA through R, delivered as from A via R; R forwards without opening anything", () => {
  const { net, a, b, r } = relayed();
  const openedAtR = r.t.counters.data_opened;
  net.send(a, b, bytes("hello through r"));
  const [first] = net.inflight;
  assert.equal(first.to, r);
  assert.deepEqual([first.data[1], first.data[RELAY_HEADER_LEN + 1]], [RELAY, HS_INIT]);
  assert.deepEqual(relayAddr(first.data), b.addr, "addr field = final destination");
  let via: Uint8Array | null = null;
  let source: Uint8Array | null = null;
  while (net.inflight.length > 0) {
    const f = net.inflight.shift()!;
    if (f.from === r && f.to === b) assert.deepEqual(relayAddr(f.data), a.addr, "addr field = original source");
    const got = f.to.t.incoming(f.from.key, f.from.addr, f.data, net.now);
    if (f.to === b && got.deliver !== null) {
      b.delivered.push(got.deliver);
      via = got.via && Uint8Array.from(got.via);
      source = Uint8Array.from(got.source);
    }
    net.post(f.to, f.to.sent());
  }
  assert.equal(text(b.delivered.at(-1)!), "hello through r");
  assert.deepEqual(source, a.addr);
  assert.deepEqual(via, r.addr);
  assert.equal(r.t.counters.data_opened, openedAtR, "R opened nothing");
  assert.equal(r.t.counters.challenges_sent, 2, "R answered only A's and B's own handshakes with it");
  assert.ok(r.t.counters.relay_forwarded >= 4, "init, challenge, confirm, data");
  assert.ok(b.t.sessions(0).some((s) => s.addrKey === a.key), "B keys the session by A");
  assert.equal(totalRejections(r.t.counters), 0);
});

test("a path change (relay -> direct -> relay) keeps the session: no handshake, nothing lost", () => {
  const { net, a, b } = relayed();
  net.send(a, b, bytes("relayed"));
  net.pump();
  const started = a.t.counters.handshakes_started + b.t.counters.handshakes_started;
  a.sent(a.t.setRoute(b.addr, b.addr, ROUTE_DIRECT, 0)); // punched: straight to B's address (no route)
  net.send(a, b, bytes("direct"));
  assert.equal(net.inflight[0].to, b);
  net.pump();
  a.sent(a.t.setRoute(b.addr, net.nodes.get(addressKey(ip(10), 4790))!.addr, ROUTE_RELAY, 0));
  net.send(a, b, bytes("relayed again"));
  net.send(b, a, bytes("back"));
  net.pump();
  assert.deepEqual(b.delivered.slice(-3).map(text), ["relayed", "direct", "relayed again"]);
  assert.equal(text(a.delivered.at(-1)!), "back");
  assert.equal(a.t.counters.handshakes_started + b.t.counters.handshakes_started, started);
});

test("an unrouted datagram (the core probing a relayed peer's own address) goes there on the session, unwrapped; the rest stays relayed", () => {
  const { net, a, b, r } = relayed();
  net.send(a, b, bytes("relayed"));
  net.pump();
  const started = a.t.counters.handshakes_started + b.t.counters.handshakes_started;
  const [probe] = net.post(a, a.sent(a.t.outgoing(b.key, b.addr, bytes("probe"), net.now, true)));
  assert.equal(probe.to, b, "straight to B's address");
  assert.equal(probe.data[1], DATA, "sealed on the session, no envelope");
  const [frame] = net.post(a, a.sent(a.t.outgoing(b.key, b.addr, bytes("frame"), net.now)));
  assert.equal(frame.to, r, "what is not a probe keeps the relay route");
  net.pump();
  assert.deepEqual(b.delivered.slice(-2).map(text), ["probe", "frame"]);
  assert.equal(a.t.counters.handshakes_started + b.t.counters.handshakes_started, started);
  assert.equal(totalRejections(b.t.counters), 0);
});

test("R drops and counts: truncated, from a non-member, for a non-member, for a pair not allowed, over the cap, revoked", () => {
  const { net, a, b, r } = relayed(100_000); // 100 kB/s: the burst is one largest datagram
  net.send(a, b, bytes("up"));
  net.pump();
  const inner = new Uint8Array(DATA_OVERHEAD + 100);
  inner[0] = 1;
  inner[1] = DATA;
  const before = { ...r.t.counters };
  const drop = (from: { key: number; addr: Uint8Array }, packet: Uint8Array) => {
    const got = r.t.incoming(from.key, from.addr, packet, net.now);
    assert.equal(r.sent().length, 0);
    assert.equal(got.deliver, null);
  };
  // Truncated: the header, or less.
  drop(a, wrapRelay(b.addr, new Uint8Array(0)));
  drop(a, wrapRelay(b.addr, new Uint8Array(0)).subarray(0, 7));
  assert.equal(r.t.counters.bad_length, before.bad_length + 2);
  // From an address without a session with R (a stranger, or A's address forged from elsewhere).
  const stranger = { key: addressKey(ip(66), 4790), addr: addr(ip(66), 4790) };
  drop(stranger, wrapRelay(b.addr, inner));
  // For an address that holds no session with R, even where the core allowed the pair; an IPv6 one.
  const ghost = addr(ip(77), 4790);
  r.t.allowRelay(a.addr, ghost, ANY_BUDGET, net.now);
  drop(a, wrapRelay(ghost, inner));
  const v6 = new Uint8Array(18).fill(0x20);
  r.t.allowRelay(a.addr, v6, ANY_BUDGET, net.now);
  drop(a, wrapRelay(v6, inner));
  assert.equal(r.t.counters.relay_dropped_not_member, before.relay_dropped_not_member + 3);
  // A forged addr field the core never allowed: not relayed, and not taken as R's own either.
  drop(a, wrapRelay(addr(ip(78), 4790), inner));
  assert.equal(r.t.counters.relay_dropped_not_allowed, before.relay_dropped_not_allowed + 1);
  // For a member pair R was not allowed to relay: C is a member of R's, but the core allowed A<->B only.
  const c = new Node("c", ip(3), 4790, a.t.keyring.primary.key, 0, UNLIMITED);
  net.add(c);
  net.send(c, r, bytes("c joins"));
  net.pump();
  drop(a, wrapRelay(c.addr, inner));
  assert.equal(r.t.counters.relay_dropped_not_allowed, before.relay_dropped_not_allowed + 2);
  // Over the cap: the burst (65535 bytes) passes, then nothing until it refills.
  const big = wrapRelay(b.addr, new Uint8Array(20_000).fill(1));
  big[RELAY_HEADER_LEN] = 1;
  big[RELAY_HEADER_LEN + 1] = DATA;
  const forwarded = r.t.counters.relay_forwarded;
  for (let i = 0; i < 4; i++) {
    const out = r.sent(r.t.incoming(a.key, a.addr, big, net.now));
    if (i < 3) {
      assert.equal(out.length, 1);
      assert.equal(out[0].data.length, big.length, "forwarded exactly as long as received: no amplification");
      assert.equal(out[0].addrKey, b.key);
    } else {
      assert.equal(out.length, 0);
    }
  }
  assert.equal(r.t.counters.relay_forwarded, forwarded + 3);
  assert.equal(r.t.counters.relay_dropped_cap, before.relay_dropped_cap + 1);
  // Revoked: the core's 0 budget.
  r.t.allowRelay(b.addr, a.addr, 0, net.now);
  net.now += 10_000;
  drop(a, wrapRelay(b.addr, inner));
  assert.equal(r.t.counters.relay_dropped_not_allowed, before.relay_dropped_not_allowed + 3);
  assert.equal(r.t.counters.relay_bytes, before.relay_bytes + 3 * big.length);
});

test("a handshake waiting on a dead path goes out at once on the new route", () => {
  const { net, a, b, r } = triangle();
  r.t.allowRelay(a.addr, b.addr, ANY_BUDGET, 0);
  b.sent(b.t.setRoute(a.addr, r.addr, ROUTE_RELAY, 0));
  net.send(a, b, bytes("queued behind the handshake"));
  net.take(); // the direct path is dead: the HS_INIT is lost
  net.now = 5_000;
  net.tick();
  net.take(); // so are its retransmits
  const sent = a.sent(a.t.setRoute(b.addr, r.addr, ROUTE_RELAY, net.now));
  assert.equal(sent.length, 1, "the HS_INIT again, now");
  assert.equal(sent[0].addrKey, r.key);
  net.post(a, sent);
  net.pump();
  assert.equal(text(b.delivered.at(-1)!), "queued behind the handshake");
});

test("an endpoint drops an envelope from a relay it does not route through, unless it is DATA on a session it holds", () => {
  const { net, a, b, r } = triangle();
  r.t.allowRelay(a.addr, b.addr, ANY_BUDGET, 0);
  a.sent(a.t.setRoute(b.addr, r.addr, ROUTE_RELAY, 0));
  // B has no route to A via R: A's relayed handshake is not taken (R cannot pose as A to B).
  net.send(a, b, bytes("first contact"));
  net.pump();
  assert.equal(b.delivered.filter((d) => text(d) === "first contact").length, 0);
  assert.ok(b.t.counters.relay_dropped_not_allowed > 0);
  // Once A and B hold a session (made directly), DATA through R is taken without a route at B.
  a.sent(a.t.setRoute(b.addr, b.addr, ROUTE_DIRECT, 0));
  net.now += 30_000; // past the handshake's timeout
  net.tick();
  net.pump();
  net.send(a, b, bytes("direct first"));
  net.pump();
  assert.equal(text(b.delivered.at(-1)!), "direct first");
  a.sent(a.t.setRoute(b.addr, r.addr, ROUTE_RELAY, 0));
  net.send(a, b, bytes("then relayed"));
  net.pump();
  assert.equal(text(b.delivered.at(-1)!), "then relayed");
  assert.ok(b.t.counters.relay_received >= 1);
});

test("a member that roamed and then moves to where it roamed: no route is left for its old address", () => {
  const { net, a, r } = triangle();
  const members = new MemberIdentities(r.t);
  members.event(memberEvent(1, a, a.addr), net.now);
  // A's NAT rebinds: R sees A's DATA from a new port and routes A's address there (peer_roamed).
  const rebound = { key: addressKey(ip(1), 40002), addr: addr(ip(1), 40002) };
  net.nodes.set(rebound.key, a);
  net.post(a, a.sent(a.t.outgoing(r.key, r.addr, bytes("from the new port"), net.now)));
  const [first] = net.take();
  assert.deepEqual(r.t.incoming(rebound.key, rebound.addr, first.data, net.now).source, a.addr);
  assert.equal(r.t.counters.peer_roamed, 1);
  // A adopts that address as its own; R's core had no route for A, so it removes none.
  net.post(r, r.sent(members.event(memberEvent(2, a, rebound.addr), net.now)));
  assert.deepEqual(r.t.routeList(), [], "the roaming's route went with the move");
  net.post(a, a.sent(a.t.outgoing(r.key, r.addr, bytes("as the member at the new port"), net.now)));
  const [second] = net.take();
  const got = r.t.incoming(rebound.key, rebound.addr, second.data, net.now);
  assert.equal(text(got.deliver!), "as the member at the new port");
  assert.deepEqual(got.source, rebound.addr);
  assert.equal(r.t.counters.peer_roamed, 1, "not a roam any more: the member is there");
});

/** An OUT_EVENT body (docs/abi.md): `kind` 1 join, 2 update; the member `node` at `at`. */
function memberEvent(kind: number, node: Node, at: Uint8Array): Uint8Array {
  const body = new Uint8Array(36);
  body[0] = kind;
  body.set(node.identity.nodeId, 8);
  body.set(at, 16);
  return body;
}

test("a member that moves to its NAT mapping takes its sessions along: named by its new address, relayed under its new grant", () => {
  // R is public; A sits behind a symmetric NAT, joins with its private address and later adopts the
  // mapping R sees it at (docs/nat.md "Observed addresses"); B reaches R directly.
  const { net, a, b, r } = triangle();
  const natIp = ((203 << 24) | (113 << 8) | 4) >>> 0;
  const mapping = { key: addressKey(natIp, 55691), addr: addr(natIp, 55691) };
  net.nodes.set(mapping.key, a);
  const natted = (f: { from: Node }) => {
    if (f.from === a) f.from = mapping as unknown as Node;
    return false;
  };
  const members = new MemberIdentities(r.t);
  // R's core: A joins at its private address, reached at its mapping (the session made from the
  // mapping moves to A's address); B joins.
  net.send(a, r, bytes("a from its mapping"));
  net.pump(natted);
  members.event(memberEvent(1, a, a.addr), net.now);
  members.event(memberEvent(1, b, b.addr), net.now);
  net.post(r, r.sent(r.t.setRoute(a.addr, mapping.addr, ROUTE_DIRECT, net.now)));
  net.pump(natted);
  assert.ok(r.t.sessions(net.now).every((s) => s.addrKey !== mapping.key), "A's sessions are under its member address");
  // A adopts its mapping (a new incarnation): R's core drops the old address's route, then the update.
  net.post(r, r.sent(r.t.setRoute(a.addr, a.addr, ROUTE_DIRECT, net.now)));
  net.post(r, r.sent(members.event(memberEvent(2, a, mapping.addr), net.now)));
  net.pump(natted);
  const started = r.t.counters.handshakes_started;

  // A's next datagram to R, from its mapping: the core hears it from A's member address now.
  net.post(a, a.sent(a.t.outgoing(r.key, r.addr, bytes("a after the move"), net.now)));
  const [moved] = net.take();
  const got = r.t.incoming(mapping.key, mapping.addr, moved.data, net.now);
  assert.equal(text(got.deliver!), "a after the move");
  assert.deepEqual(got.source, mapping.addr, "named by its new member address, not the old one");
  // R answers A at its member address on the session it has: no handshake.
  net.post(r, r.sent(r.t.outgoing(mapping.key, mapping.addr, bytes("r to a"), net.now)));
  net.pump(natted);
  assert.equal(text(a.delivered.at(-1)!), "r to a");
  assert.equal(r.t.counters.handshakes_started, started, "the sessions moved with A");

  // The core grants relaying between A's and B's member addresses; A and B route each other via R.
  r.t.allowRelay(mapping.addr, b.addr, ANY_BUDGET, net.now);
  a.sent(a.t.setRoute(b.addr, r.addr, ROUTE_RELAY, net.now));
  b.sent(b.t.setRoute(mapping.addr, r.addr, ROUTE_RELAY, net.now));
  net.send(a, b, bytes("a to b through r"));
  net.pump(natted);
  net.post(b, b.sent(b.t.outgoing(mapping.key, mapping.addr, bytes("b to a through r"), net.now)));
  net.pump(natted);
  assert.equal(text(b.delivered.at(-1)!), "a to b through r");
  assert.equal(text(a.delivered.at(-1)!), "b to a through r");
  assert.equal(r.t.counters.relay_dropped_not_allowed + r.t.counters.relay_dropped_not_member, 0);
  assert.equal(r.t.counters.wrong_source, 0);
  assert.deepEqual(r.t.routeList(), [], "no route left for either of A's addresses");
});
