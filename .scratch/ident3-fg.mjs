// Model-based fuzz of forged but well-formed gossip (issue 16): one malicious member holding the
// network key (so its datagrams reach every core) and honest ones, with real Ed25519 identities
// (identities.mjs). fast-check draws attacks: SUSPECT and DEAD about honest members at any
// incarnation with any accuser, ALIVEs in their name, MAC claims on their MACs (in their name, which
// needs their signature, or in the attacker's own, signed, while the MAC's host speaks). Whatever it draws:
//   - no honest member is dead at an honest member for longer than the accusation takes to reach
//     it plus a probe period for its refutation to come back (every DEAD must be refuted);
//   - once the attack stops, every honest member sees every honest member alive, and maps no honest
//     member's MAC to anyone else (a member that took the owner for dead may lack it for a while);
//   - once an honest owner's TAP sees its MAC again, every honest member maps the MAC to it again.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "/work/main/node_modules/fast-check/lib/fast-check.js";
import { Cluster } from "/work/wt/ident3/tests/sim/cluster.mjs";
import { EVENT } from "/work/wt/ident3/tests/sim/core.mjs";
import { newIdentity, signClaim } from "/work/wt/ident3/tests/sim/identities.mjs";

const HONEST = 6;
const EVIL = HONEST; // the malicious member's index
const PROBE_MS = 1000; // the LAN profile's probe interval, the core's default
const GOSSIP_MS = 200;
/** The accusation's way to its victim (a few gossip rounds) plus one probe period for the refutation. */
const DEAD_BOUND_MS = 5 * GOSSIP_MS + PROBE_MS;
/**
 * After the owners' next frames, how long until every honest member maps every honest MAC to its owner:
 * a member that took the owner for dead dropped its MACs, and drops the re-announcement made with the
 * refutation if it comes first; the next push-pull (30 s) or refresh brings it.
 */
const SETTLE_LIMIT_MS = 60_000;
const WIRE_VERSION = 1; // docs/wire.md: the core's datagram version
const MSG = { SUSPECT: 0x14, ALIVE: 0x15, DEAD: 0x16, MAC_UPDATE: 0x20 };
const FROM_OWNER = 0x01;

const macOf = (i) => `02aa000000${(i + 1).toString(16).padStart(2, "0")}`;

function accusation(type, inc, node, from) {
  const m = new Uint8Array(21);
  const v = new DataView(m.buffer);
  m[0] = type;
  v.setUint32(1, inc);
  v.setBigUint64(5, node);
  v.setBigUint64(13, from);
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

const macBytes = (mac) => Uint8Array.from(mac.match(/../g), (h) => parseInt(h, 16));

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

const incArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant("current") },
  fc.constantFrom("next", "previous", "max", "zero"),
  fc.integer({ min: 1, max: 0x7fffffff }), // ahead by that much
);
export const attackArb = fc.record({
  kind: fc.constantFrom("suspect", "dead", "dead", "alive-signed", "alive-garbage", "mac"),
  victim: fc.integer({ min: 0, max: HONEST - 1 }),
  to: fc.integer({ min: 0, max: HONEST - 1 }),
  inc: incArb,
  accuser: fc.constantFrom("evil", "victim", "other", "random"),
  macOwner: fc.constantFrom("evil", "max", "victim"),
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

/** Runs one attack on a fresh switch; returns what the properties need. */
export function run(attacks, seed) {
  const identities = Array.from({ length: HONEST + 1 }, newIdentity);
  const deadSince = new Map();
  const deadFor = [];
  const cluster = new Cluster({
    nodes: HONEST + 1, seed, identity: (i) => identities[i],
    onEvent(t, observer, kind, subject) {
      if (observer === EVIL || subject === EVIL) return;
      const key = `${observer}>${subject}`;
      if (kind === EVENT.DEAD || kind === EVENT.LEFT) {
        if (!deadSince.has(key)) deadSince.set(key, t);
      } else if (deadSince.has(key) && (kind === EVENT.JOIN || kind === EVENT.ALIVE)) {
        deadFor.push({ key, ms: t - deadSince.get(key) });
        deadSince.delete(key);
      }
    },
  });
  cluster.start(0);
  for (let i = 1; i <= HONEST; i++) {
    cluster.run(i * 50);
    cluster.start(i, [0]);
  }
  for (let i = 0; i < HONEST; i++) cluster.frame(i, macOf(i));
  for (let t = 10_000; !settled(cluster); t += PROBE_MS) {
    assert.ok(t < 60_000, "the switch did not settle before the attack");
    cluster.run(t);
  }
  const evil = cluster.nodes[EVIL];
  for (const a of attacks) {
    cluster.run(cluster.now + a.gapMs);
    const victim = cluster.nodes[a.victim];
    const inc = incarnationOf(cluster, a.victim, a.inc);
    const accuser = { evil: evil.id, victim: victim.id, other: cluster.nodes[(a.victim + 1) % HONEST].id, random: 0x0123456789abcdefn }[a.accuser];
    let message;
    if (a.kind === "suspect" || a.kind === "dead") message = accusation(a.kind === "dead" ? MSG.DEAD : MSG.SUSPECT, inc, victim.id, accuser);
    else if (a.kind === "alive-signed") message = forgedAlive(cluster, victim.id, inc, identities[EVIL]);
    else if (a.kind === "alive-garbage") message = forgedAlive(cluster, victim.id, inc, null);
    else {
      const owner = { evil: evil.id, max: 0xffffffffffffffffn, victim: victim.id }[a.macOwner];
      message = macUpdate(macOf(a.victim), owner, inc, identities[EVIL]);
      cluster.frame(a.victim, macOf(a.victim)); // its host speaks
    }
    const datagram = new Uint8Array(1 + message.length);
    datagram[0] = WIRE_VERSION;
    datagram.set(message, 1);
    cluster.wire(EVIL, cluster.nodes[a.to].addr, { data: datagram });
  }
  if (process.env.TRACE) {
    const t0 = cluster.now;
    const watch = +process.env.TRACE;
    const recv = cluster.receive.bind(cluster);
    const mb = macBytes(macOf(1));
    cluster.receive = (n, d) => {
      const data = d.pkt.data;
      if (watch < 0 || n.i === watch) {
        for (let k = 4; k + 22 <= data.length; k++) {
          if (data[k - 4] === 0x20 && mb.every((b, j) => data[k + j] === b)) {
            const v = new DataView(data.buffer, data.byteOffset);
            console.log("rx", n.i, cluster.now - t0, "from", d.from, "owner", v.getBigUint64(k + 6).toString(16).slice(0, 4), "v", v.getUint32(k + 14), "flags", data[k - 3], "len", data.length);
          }
        }
      }
      return recv(n, d);
    };
    console.log("evil", evil.id.toString(16), "ids", cluster.nodes.slice(0, HONEST).map((n) => n.id.toString(16)).join(" "));
    for (let t = t0 - 1100; t <= t0 + 3 * PROBE_MS; t += 100) {
      if (t > cluster.now) cluster.run(t);
      const row = [];
      for (let o = 0; o < HONEST; o++) {
        const e = cluster.nodes[o].core.macs().get(`${macOf(1)}/0`);
        const st = cluster.nodes[o].core.stats();
        row.push(`${e ? e.owner.toString(16).slice(0, 4) + "v" + e.version + "k" + e.kind : "-"} c${st.mac_claim_contested ?? 0}`);
      }
      console.log(t - t0, row.join(" | "));
    }
    for (let o = 0; o < HONEST; o++) {
      const st = cluster.nodes[o].core.stats();
      console.log(o, Object.entries(st).filter(([k, v]) => /^mac_|member_|suspect|refut|broadcast/.test(k) && v).map(([k, v]) => `${k}=${v}`).join(" "));
    }
  }
  cluster.run(cluster.now + 3 * PROBE_MS);
  const afterAttack = views(cluster);
  for (let i = 0; i < HONEST; i++) cluster.frame(i, macOf(i)); // each owner's hosts speak again
  const quiet = cluster.now;
  while (!settled(cluster) && cluster.now - quiet < SETTLE_LIMIT_MS) cluster.run(cluster.now + PROBE_MS);
  return { deadFor, stillDead: [...deadSince.keys()], afterAttack, views: views(cluster), settleMs: cluster.now - quiet };
}

/** What each honest member `o` holds about each honest member `h`: alive?, and who owns h's MAC. */
function views(cluster) {
  const out = [];
  for (let o = 0; o < HONEST; o++) {
    const members = cluster.nodes[o].core.members();
    const macs = cluster.nodes[o].core.macs();
    for (let h = 0; h < HONEST; h++) {
      const m = members.find((x) => x.id === cluster.nodes[h].id);
      out.push({ o, h, alive: m?.state === 0, macOwner: macs.get(`${macOf(h)}/0`)?.owner, owner: cluster.nodes[h].id });
    }
  }
  return out;
}

function settled(cluster) {
  return views(cluster).every((v) => v.alive && v.macOwner === v.owner);
}

