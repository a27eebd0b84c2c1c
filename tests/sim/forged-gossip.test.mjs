// Model-based fuzz of forged but well-formed gossip (issue 16): one malicious member holding the
// network key (so its datagrams reach every core) and honest ones, with real Ed25519 identities
// (identities.mjs). fast-check draws attacks: SUSPECT and DEAD about honest members at any
// incarnation, signed with the attacker's key in its own name or claimed to be another's (honest,
// the victim's, unknown), ALIVEs in their name, MAC claims on their MACs (in their name, which
// needs their signature, or in the attacker's own, signed, while the MAC's host speaks or while it is
// silent: its node then asks the host, which answers, docs/mactable.md "Silent hosts"), IP bindings of
// their hosts' addresses (in another member's name, signed by the attacker; or the owner's own claims
// replayed: an older version, or the current one pointing elsewhere). Whatever it draws:
//   - no honest member is ever dead at an honest member: one accuser is not the k independent ones
//     Lifeguard needs (docs/membership.md "Signed accusations"), and a suspicion it raises ends within
//     a nudge interval plus a probe period (SUSPECT_BOUND_MS);
//   - once the attack stops, every honest member sees every honest member alive, and maps no honest
//     member's MAC to anyone else (a member that took the owner for dead may lack it for a while), nor
//     any honest host's address to another MAC;
//   - once an honest owner's TAP sees its MAC again, every honest member maps the MAC to it again.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { gratuitousArp, macBytes } from "./bindings.mjs";
import { Cluster } from "./cluster.mjs";
import { EVENT, IN_FRAME } from "./core.mjs";
import { newIdentity, signClaim } from "./identities.mjs";

const HONEST = 6;
const EVIL = HONEST; // the malicious member's index
const PROBE_MS = 1000; // the LAN profile's probe interval, the core's default
const GOSSIP_MS = 200;
/**
 * How long an honest member may hold another suspect on the attacker's word: the victim refutes as soon
 * as the accusation reaches it (a few gossip rounds), and a member that missed the refutation's
 * broadcast nudges the suspect every half minimum suspicion timeout (suspicion_mult 4 * probe period
 * / 2 at 7 members, docs/membership.md), which answers with its ALIVE: that, plus a probe period.
 */
const SUSPICION_MIN_MS = 4 * PROBE_MS;
const SUSPECT_BOUND_MS = SUSPICION_MIN_MS / 2 + PROBE_MS;
/**
 * After the owners' next frames, how long until every honest member maps every honest MAC to its owner:
 * a member that took the owner for dead dropped its MACs, and drops the re-announcement made with the
 * refutation if it comes first; the next push-pull (30 s) or refresh brings it.
 */
const SETTLE_LIMIT_MS = 60_000;
const WIRE_VERSION = 2; // docs/wire.md: the core's datagram version
const TRAILER = 96; // a claim's key and signature
const MSG = { SUSPECT: 0x14, ALIVE: 0x15, DEAD: 0x16, MAC_UPDATE: 0x20, IP_BINDING: 0x22 };
const FROM_OWNER = 0x01;

const macOf = (i) => `02aa000000${(i + 1).toString(16).padStart(2, "0")}`;
/** A second host behind each honest member: where a replayed or forged binding could point. */
const otherMacOf = (i) => `02bb000000${(i + 1).toString(16).padStart(2, "0")}`;
/** The address of member i's host (macOf(i)), bound by its gratuitous ARP. */
const ipOf = (i) => [198, 18, 1, i + 1];
/** Each host claims its address once: its binding's version (assembly/bindings.ts starts at 1). */
const BINDING_VERSION = 1;
const mapped = (ip) => "00000000000000000000ffff" + ip.map((b) => b.toString(16).padStart(2, "0")).join("");

/** A SUSPECT or DEAD naming accuser `from`, signed by `signer` (the accuser's key only when it is the signer's). */
function accusation(type, inc, node, from, signer) {
  const m = new Uint8Array(21 + TRAILER);
  const v = new DataView(m.buffer);
  m[0] = type;
  v.setUint32(1, inc);
  v.setBigUint64(5, node);
  v.setBigUint64(13, from);
  // The signed form (accusationForm): type, 0, 0, 0, from, node, incarnation, then the trailer.
  const form = new Uint8Array(24 + TRAILER);
  const f = new DataView(form.buffer);
  form[0] = type;
  f.setBigUint64(4, from);
  f.setBigUint64(12, node);
  f.setUint32(20, inc);
  signClaim(signer, form);
  m.set(form.subarray(24), 21);
  return m;
}

/** An ALIVE naming `id` at `inc` from the evil node's address, its claim signed by `signer` (not `id`'s owner) or garbage. */
function forgedAlive(cluster, id, inc, signer) {
  const name = new TextEncoder().encode("evil");
  const m = new Uint8Array(1 + 4 + 8 + 18 + 2 + 4 + 1 + name.length + 96);
  const v = new DataView(m.buffer);
  m[0] = MSG.ALIVE;
  v.setUint32(1, inc);
  v.setBigUint64(5, id);
  m.set(cluster.nodes[EVIL].addr, 13);
  v.setUint16(31, 2);
  m[37] = name.length;
  m.set(name, 38);
  if (signer) signClaim(signer, m.subarray(1));
  else m.fill(0x5a, m.length - 96);
  return m;
}


/** A MAC_UPDATE (assembly/wire/macmsg.ts) claiming `mac` for `owner`, its key and signature `signer`'s. */
function macUpdate(mac, owner, version, signer) {
  const m = new Uint8Array(22 + 96);
  const v = new DataView(m.buffer);
  m[0] = MSG.MAC_UPDATE;
  m[1] = FROM_OWNER;
  m.set(macBytes(mac), 4);
  v.setBigUint64(10, owner);
  v.setUint32(18, version);
  // The signed form (macClaimForm): type, 0, vlan, owner, mac, version, then the trailer.
  const form = new Uint8Array(22 + 96);
  const f = new DataView(form.buffer);
  form[0] = MSG.MAC_UPDATE;
  f.setBigUint64(4, owner);
  form.set(macBytes(mac), 12);
  f.setUint32(18, version);
  signClaim(signer, form);
  m.set(form.subarray(22), 22);
  return m;
}


/** An IP_BINDING (assembly/wire/bindmsg.ts) of `ip` to `mac` in `owner`'s name, its key and signature `signer`'s. */
function ipBinding(ip, mac, owner, version, signer) {
  const m = new Uint8Array(26 + TRAILER);
  const v = new DataView(m.buffer);
  m[0] = MSG.IP_BINDING;
  m.set(macBytes(mac), 4);
  v.setBigUint64(10, owner);
  v.setUint32(18, version);
  m.set(ip, 22);
  // The signed form (bindClaimForm): type, flags, vlan, owner, mac, version, address, then the trailer.
  const form = new Uint8Array(26 + TRAILER);
  const f = new DataView(form.buffer);
  form[0] = MSG.IP_BINDING;
  f.setBigUint64(4, owner);
  form.set(macBytes(mac), 12);
  f.setUint32(18, version);
  form.set(ip, 22);
  signClaim(signer, form);
  m.set(form.subarray(26), 26);
  return m;
}

const incArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant("current") },
  fc.constantFrom("next", "previous", "max", "zero"),
  fc.integer({ min: 1, max: 0x7fffffff }), // ahead by that much
);
export const attackArb = fc.record({
  kind: fc.constantFrom("suspect", "dead", "dead", "alive-signed", "alive-garbage", "mac", "mac-silent", "binding"),
  victim: fc.integer({ min: 0, max: HONEST - 1 }),
  to: fc.integer({ min: 0, max: HONEST - 1 }),
  inc: incArb,
  accuser: fc.constantFrom("evil", "victim", "other", "random"),
  macOwner: fc.constantFrom("evil", "max", "victim"),
  // "other": the victim's address bound to another member's host in that member's name, signed by the
  // attacker; "replay-older", "replay-current": the victim's own signed claim binding its address to its
  // other host, at an older version or at its current one (claims it once made, sent again).
  binding: fc.constantFrom("other", "replay-older", "replay-current"),
  gapMs: fc.integer({ min: 0, max: 1500 }),
});

function incarnationOf(cluster, victim, choice) {
  const self = cluster.nodes[victim].core.members().find((m) => m.id === cluster.nodes[victim].id);
  const cur = self.incarnation;
  if (choice === "current") return cur;
  if (choice === "next") return (cur + 1) >>> 0;
  if (choice === "previous") return (cur - 1) >>> 0;
  if (choice === "max") return 0xffffffff;
  if (choice === "zero") return 0;
  return (cur + choice) >>> 0;
}

/**
 * Host `i`'s answer to a frame its node wrote to the TAP, or null: a live host answers an ARP request
 * for its address sent to its MAC (the probe a node sends when a claim takes a silent host's MAC).
 */
function hostAnswer(i, f) {
  if (i >= HONEST || f.length < 42 || f[12] !== 0x08 || f[13] !== 0x06 || f[21] !== 1) return null;
  const mac = macBytes(macOf(i));
  const ip = ipOf(i);
  if (!mac.every((b, k) => f[k] === b) || !ip.every((b, k) => f[38 + k] === b)) return null;
  const r = new Uint8Array(42);
  r.set(f.subarray(6, 12), 0);
  r.set(mac, 6);
  r.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2], 12);
  r.set(mac, 22);
  r.set(ip, 28);
  r.set(f.subarray(22, 32), 32); // the asker's MAC and address
  return r;
}

/** Runs one attack on a fresh switch; returns what the properties need. */
export function run(attacks, seed) {
  const identities = Array.from({ length: HONEST + 1 }, newIdentity);
  const deadSince = new Map();
  const deadFor = [];
  const suspectSince = new Map();
  const suspectFor = [];
  const answers = [];
  const cluster = new Cluster({
    nodes: HONEST + 1, seed, identity: (i) => identities[i],
    onFrame(t, node, frame) {
      const answer = hostAnswer(node, frame);
      if (answer) answers.push([node, answer]);
    },
    onEvent(t, observer, kind, subject) {
      if (observer === EVIL || subject === EVIL) return;
      const key = `${observer}>${subject}`;
      if (kind === EVENT.DEAD || kind === EVENT.LEFT) {
        if (!deadSince.has(key)) deadSince.set(key, t);
      } else if (deadSince.has(key) && (kind === EVENT.JOIN || kind === EVENT.ALIVE)) {
        deadFor.push({ key, ms: t - deadSince.get(key) });
        deadSince.delete(key);
      }
      if (kind === EVENT.SUSPECT) {
        if (!suspectSince.has(key)) suspectSince.set(key, t);
      } else if (suspectSince.has(key)) {
        suspectFor.push({ key, ms: t - suspectSince.get(key) });
        suspectSince.delete(key);
      }
    },
  });
  cluster.start(0);
  for (let i = 1; i <= HONEST; i++) {
    cluster.run(i * 50);
    cluster.start(i, [0]);
  }
  for (let i = 0; i < HONEST; i++) {
    cluster.input(i, IN_FRAME, [gratuitousArp(macOf(i), ipOf(i))]);
    cluster.frame(i, otherMacOf(i));
  }
  for (let t = 10_000; !settled(cluster); t += PROBE_MS) {
    assert.ok(t < 60_000, "the switch did not settle before the attack");
    cluster.run(t);
  }
  /** Runs to `t` in small steps, the hosts answering what their nodes asked in between (a host answers at once). */
  const runTo = (t) => {
    while (cluster.now < t) {
      cluster.run(Math.min(t, cluster.now + 20));
      for (const [node, frame] of answers.splice(0)) cluster.input(node, IN_FRAME, [frame]);
    }
  };
  const evil = cluster.nodes[EVIL];
  for (const a of attacks) {
    runTo(cluster.now + a.gapMs);
    const victim = cluster.nodes[a.victim];
    const inc = incarnationOf(cluster, a.victim, a.inc);
    const accuser = { evil: evil.id, victim: victim.id, other: cluster.nodes[(a.victim + 1) % HONEST].id, random: 0x0123456789abcdefn }[a.accuser];
    let message;
    if (a.kind === "suspect" || a.kind === "dead") message = accusation(a.kind === "dead" ? MSG.DEAD : MSG.SUSPECT, inc, victim.id, accuser, identities[EVIL]);
    else if (a.kind === "alive-signed") message = forgedAlive(cluster, victim.id, inc, identities[EVIL]);
    else if (a.kind === "alive-garbage") message = forgedAlive(cluster, victim.id, inc, null);
    else if (a.kind === "binding") {
      const other = (a.victim + 1) % HONEST;
      if (a.binding === "other") message = ipBinding(ipOf(a.victim), macOf(other), cluster.nodes[other].id, inc, identities[EVIL]);
      else {
        const version = a.binding === "replay-current" ? BINDING_VERSION : (BINDING_VERSION - 1 - (inc & 0xffff)) >>> 0;
        message = ipBinding(ipOf(a.victim), otherMacOf(a.victim), victim.id, version, identities[a.victim]);
      }
    } else {
      const owner = { evil: evil.id, max: 0xffffffffffffffffn, victim: victim.id }[a.macOwner];
      message = macUpdate(macOf(a.victim), owner, inc, identities[EVIL]);
      if (a.kind === "mac") cluster.frame(a.victim, macOf(a.victim)); // its host speaks; "mac-silent": it only answers
    }
    const datagram = new Uint8Array(1 + message.length);
    datagram[0] = WIRE_VERSION;
    datagram.set(message, 1);
    cluster.wire(EVIL, cluster.nodes[a.to].addr, { data: datagram });
  }
  runTo(cluster.now + 3 * PROBE_MS);
  const afterAttack = views(cluster);
  for (let i = 0; i < HONEST; i++) {
    cluster.frame(i, macOf(i)); // each owner's hosts speak again
    cluster.frame(i, otherMacOf(i));
  }
  const quiet = cluster.now;
  while (!settled(cluster) && cluster.now - quiet < SETTLE_LIMIT_MS) cluster.run(cluster.now + PROBE_MS);
  return {
    deadFor, stillDead: [...deadSince.keys()], suspectFor, stillSuspect: [...suspectSince.keys()], afterAttack,
    views: views(cluster), settleMs: cluster.now - quiet,
  };
}

/** What each honest member `o` holds about each honest member `h`: alive?, who owns h's MAC, where h's host's address is bound. */
function views(cluster) {
  const out = [];
  for (let o = 0; o < HONEST; o++) {
    const members = cluster.nodes[o].core.members();
    const macs = cluster.nodes[o].core.macs();
    for (let h = 0; h < HONEST; h++) {
      const m = members.find((x) => x.id === cluster.nodes[h].id);
      const boundTo = [...macs].find(([, e]) => e.ips.includes(mapped(ipOf(h))))?.[0];
      out.push({ o, h, alive: m?.state === 0, macOwner: macs.get(`${macOf(h)}/0`)?.owner, owner: cluster.nodes[h].id, boundTo });
    }
  }
  return out;
}

/** Every honest member alive, mapping every honest MAC to its owner and every honest host's address to its MAC. */
function settled(cluster) {
  return views(cluster).every((v) => v.alive && v.macOwner === v.owner && v.boundTo === `${macOf(v.h)}/0`);
}

test("forged gossip from a member with the network key: no honest member is made dead or loses its MAC", () => {
  let worst = 0;
  let settleWorst = 0;
  fc.assert(
    fc.property(fc.array(attackArb, { minLength: 1, maxLength: 25 }), fc.integer({ min: 1, max: 1 << 30 }), (attacks, seed) => {
      const r = run(attacks, seed);
      assert.deepEqual(r.deadFor, [], "an honest member was dead at an honest member");
      assert.deepEqual(r.stillDead, [], "honest members still dead after the attack");
      for (const d of r.suspectFor) {
        worst = Math.max(worst, d.ms);
        assert.ok(d.ms <= SUSPECT_BOUND_MS, `${d.key}: suspect for ${d.ms} ms (bound ${SUSPECT_BOUND_MS} ms)`);
      }
      assert.deepEqual(r.stillSuspect, [], "honest members still suspect after the attack");
      for (const v of r.afterAttack) {
        if (v.macOwner !== undefined) assert.equal(v.macOwner, v.owner, `after the attack node ${v.o} maps node ${v.h}'s MAC to ${v.macOwner.toString(16)}`);
        if (v.boundTo !== undefined) assert.equal(v.boundTo, `${macOf(v.h)}/0`, `after the attack node ${v.o} binds node ${v.h}'s host's address to ${v.boundTo}`);
      }
      settleWorst = Math.max(settleWorst, r.settleMs);
      for (const v of r.views) {
        assert.ok(v.alive, `node ${v.o} does not see node ${v.h} alive`);
        assert.equal(v.macOwner, v.owner, `node ${v.o} maps node ${v.h}'s MAC to ${v.macOwner?.toString(16)}`);
        assert.equal(v.boundTo, `${macOf(v.h)}/0`, `node ${v.o} binds node ${v.h}'s host's address to ${v.boundTo}`);
      }
    }),
    { numRuns: 25, seed: 16 },
  );
  console.error(`forged gossip: no honest member dead anywhere; the longest one stayed suspect: ${worst} ms (bound ${SUSPECT_BOUND_MS} ms); ` +
    `every MAC back with its owner within ${settleWorst} ms of the owner's next frame`);
});
