// Static identities in the handshake (docs/security.md "Identity"): each side proves its Ed25519 key,
// a member holding K cannot swap in another identity, and sessions follow an identity to a new address.
import assert from "node:assert/strict";
import { test } from "node:test";
import { addressKey, encodeAddress } from "../../host/net/address.ts";
import { utf8 } from "../../host/secure/bytes.ts";
import {
  CHALLENGE_LEN, HS_CHALLENGE, HS_CONFIRM, MAC_LEN, OFF_CHALLENGE_PROOF, OFF_CHALLENGE_S, OFF_CONFIRM_PROOF, OFF_CONFIRM_S,
  OFF_CONFIRM_SIG, OFF_E, OFF_N,
} from "../../host/secure/handshake.ts";
import { Identity, nodeIdOf } from "../../host/secure/identity.ts";
import { bytes, crypto, established, ip, Net, newKey, Node, pair, text } from "./harness.ts";

/** What a member holding K can do to a handshake message: rewrite any field and recompute the HMAC. */
function reprove(K: Uint8Array, m: Uint8Array, label: string, proofAt: number, ...tail: Uint8Array[]): void {
  m.set(crypto.hmacSha256(K, utf8(label), m.subarray(0, proofAt), ...tail).subarray(0, MAC_LEN), proofAt);
}

test("each side of a session knows the other's identity key, and the node id follows from it", () => {
  const { a, b } = established();
  assert.deepEqual(b.t.sessions(0)[0].identity, a.identity.publicKey);
  assert.deepEqual(a.t.sessions(0)[0].identity, b.identity.publicKey);
  assert.deepEqual(nodeIdOf(crypto, a.identity.publicKey), a.identity.nodeId);
  assert.notDeepEqual(a.identity.nodeId, b.identity.nodeId);
});

test("a challenge signed by someone else than the identity it names is refused, even with a valid proof_r", () => {
  const { net, a, b, key } = pair();
  net.send(a, b, bytes("x"));
  const [init] = net.take();
  net.deliver(init); // b answers it
  const [challenge] = net.take();
  assert.equal(challenge.data[1], HS_CHALLENGE);
  assert.equal(challenge.data.length, CHALLENGE_LEN);
  // A member (it holds K) claims to be `other`: its key in S_r, a signature it cannot make, proof_r redone.
  const other = Identity.generate(crypto);
  const forged = Uint8Array.from(challenge.data);
  forged.set(other.publicKey, OFF_CHALLENGE_S);
  // proof_r covers the initiator's N_i, E_i and S_i: all in its HS_INIT.
  reprove(key, forged, "divs resp", OFF_CHALLENGE_PROOF, init.data.subarray(OFF_N, OFF_N + 16), init.data.subarray(OFF_E, OFF_E + 32), a.identity.publicKey);
  net.send(a, b, bytes("y")); // queued behind the pending handshake: nothing sent
  assert.equal(net.take().length, 0);
  const before = a.t.counters.bad_proof;
  const r = a.t.incoming(b.key, b.addr, forged, 0);
  assert.equal(a.sent().length, 0);
  assert.equal(a.t.counters.bad_proof, before + 1);
  assert.equal(a.t.sessionCount(), 0);
  // The genuine challenge still completes the handshake.
  net.deliver(challenge);
  net.pump();
  assert.deepEqual(b.delivered.map(text), ["x", "y"]);
});

test("a member cannot put its identity on another's confirm: N_r binds S_i (bad_cookie)", () => {
  const { net, a, b, key } = pair();
  net.send(a, b, bytes("x"));
  net.deliver(net.take()[0]);
  net.deliver(net.take()[0]); // a gets the challenge, sends its confirm
  const [confirm] = net.take();
  assert.equal(confirm.data[1], HS_CONFIRM);
  const m = Identity.generate(crypto);
  const forged = Uint8Array.from(confirm.data);
  forged.set(m.publicKey, OFF_CONFIRM_S);
  const Er = (b.t as unknown as { ctx: { cookies: { current: { E: Uint8Array } } } }).ctx.cookies.current.E;
  forged.set(m.signer.sign(utf8("divs conf id"), forged.subarray(0, OFF_CONFIRM_SIG), Er, b.identity.publicKey), OFF_CONFIRM_SIG);
  reprove(key, forged, "divs conf", OFF_CONFIRM_PROOF, Er, b.identity.publicKey);
  const r = b.t.incoming(a.key, a.addr, forged, 0);
  assert.equal(r.deliver, null);
  assert.equal(b.t.counters.bad_cookie, 1);
  assert.equal(b.t.sessionCount(), 0);
  net.deliver(confirm);
  net.pump();
  assert.deepEqual(b.t.sessions(0)[0].identity, a.identity.publicKey, "the genuine confirm makes the session, with a's identity");
});

/** `a` seen from a new address (its NAT rebound, or it roamed): a's sends come from there. */
function moved(port: number) {
  const addr = new Uint8Array(18);
  encodeAddress(ip(1), port, addr);
  return { key: addressKey(ip(1), port), addr };
}

test("DATA from a new address opens as the peer's, replies follow it, and no handshake is redone (NAT rebinding)", () => {
  const { net, a, b } = established();
  const started = a.t.counters.handshakes_started + b.t.counters.handshakes_started;
  const to = moved(5000);
  net.send(a, b, bytes("after the move"));
  const [sealed] = net.take();
  const r = b.t.incoming(to.key, to.addr, sealed.data, 0);
  assert.equal(text(r.deliver!), "after the move");
  assert.deepEqual(r.source, a.addr, "the core keeps knowing the peer by its address");
  assert.equal(b.t.counters.peer_roamed, 1);
  assert.equal(b.t.incoming(a.key, a.addr, sealed.data, 0).deliver, null, "the same datagram again is a replay");
  const replies = b.sent(b.t.outgoing(a.key, a.addr, bytes("back"), 0));
  assert.equal(replies.length, 1);
  assert.equal(replies[0].addrKey, to.key, "b now sends to where a is");
  assert.equal(text(a.t.incoming(b.key, b.addr, replies[0].data, 0).deliver!), "back");
  assert.equal(a.t.counters.handshakes_started + b.t.counters.handshakes_started, started);
});

test("DATA that fails authentication from a new address moves nothing", () => {
  const { net, a, b } = established();
  const to = moved(5001);
  net.send(a, b, bytes("x"));
  const [sealed] = net.take();
  const broken = Uint8Array.from(sealed.data);
  broken[broken.length - 1] ^= 1;
  assert.equal(b.t.incoming(to.key, to.addr, broken, 0).deliver, null);
  assert.equal(b.t.counters.decrypt_failed, 1);
  assert.equal(b.t.counters.peer_roamed, 0);
  assert.equal(b.sent(b.t.outgoing(a.key, a.addr, bytes("back"), 0))[0].addrKey, a.key);
});

test("a handshake from a new address with a known identity joins that peer's sessions", () => {
  const { net, a, b } = established();
  // a restarts its transport behind a new port, same identity (same node): b's peer for a stays the one the core knows.
  const a2 = new Node("a2", ip(1), 5002, net.nodes.get(a.key)!.t.keyring.primary.key, 0, {}, a.identity);
  net.add(a2);
  net.send(a2, b, bytes("from the new port"));
  net.pump();
  assert.deepEqual(b.delivered.map(text), ["hello", "from the new port"]);
  assert.equal(b.t.counters.peer_roamed, 1);
  const info = b.t.sessions(0);
  assert.ok(info.every((s) => s.addrKey === a.key), "every session is a's, under the address the core knows");
  assert.equal(b.sent(b.t.outgoing(a.key, a.addr, bytes("back"), 0))[0].addrKey, a2.key);
});

test("a handshake must prove the identity of the member the core knows at that address (wrong_identity)", () => {
  // Initiator side: a expects another node at b's address; b's challenge proves b: refused.
  let { net, a, b } = pair();
  a.t.expectIdentity(b.addr, Identity.generate(crypto).nodeId);
  net.send(a, b, bytes("x"));
  net.pump();
  assert.equal(a.t.counters.wrong_identity, 1);
  assert.equal(a.t.sessionCount(), 0);
  assert.deepEqual(b.delivered, []);
  // Responder side: b expects another node at a's address; a's confirm proves a: refused.
  ({ net, a, b } = pair());
  b.t.expectIdentity(a.addr, Identity.generate(crypto).nodeId);
  net.send(a, b, bytes("x"));
  net.pump();
  assert.equal(b.t.counters.wrong_identity, 1);
  assert.equal(b.t.sessionCount(), 0);
  // The right ids, and then none expected: sessions come up.
  ({ net, a, b } = pair());
  a.t.expectIdentity(b.addr, b.identity.nodeId);
  b.t.expectIdentity(a.addr, a.identity.nodeId);
  net.send(a, b, bytes("x"));
  net.pump();
  assert.deepEqual(b.delivered.map(text), ["x"]);
  assert.equal(a.t.counters.wrong_identity + b.t.counters.wrong_identity, 0);
});

test("a node proving this node's own identity (one state directory, two nodes) is refused both ways, counted as own_identity", () => {
  const key = newKey();
  const net = new Net();
  const a = new Node("a", ip(1), 4789, key, net.now);
  const twin = new Node("twin", ip(2), 4789, key, net.now, {}, a.identity);
  net.add(a, twin);
  // The twin's HS_INIT reaches a: refused before any challenge.
  net.send(twin, a, bytes("hello"));
  net.pump();
  assert.equal(a.t.counters.own_identity, 1);
  assert.equal(a.t.sessionCount(), 0);
  assert.equal(twin.t.sessionCount(), 0);
  // a reaching out: the twin refuses a's HS_INIT in turn (its own identity again).
  net.send(a, twin, bytes("hello"));
  net.pump();
  assert.equal(twin.t.counters.own_identity, 1);
  assert.equal(a.t.sessionCount(), 0);
  assert.deepEqual(a.delivered, []);
  assert.deepEqual(twin.delivered, []);
});
