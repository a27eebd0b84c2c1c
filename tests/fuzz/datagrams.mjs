// DiVS datagram arbitraries (docs/wire.md): a version byte, then one message
// or a COMPOUND of length-prefixed messages. Membership (0x10-0x1f) and
// MAC_UPDATE (0x20) bodies here are random; valid ones come from the corpus of
// datagrams the core itself emits, which the runner mutates and feeds back.
// PMTU_PROBE (0x30) and PMTU_ACK (0x31) come whole, short, or with sizes that lie;
// path messages (0x40-0x48) whole (ids from small pools, node 1 is the fuzzed
// node), with counts that lie, cut short or with bytes after; DHCP_RANGE and
// DHCP_LEASE (0x50, 0x51) for the fuzzed core's pool or another, sometimes cut.
import fc from "./fc.mjs";
import { IP_POOL, frameArb, macArb } from "./frames.mjs";
import { WIRE_VERSION, concat } from "./records.mjs";
import { stubSignClaim } from "../fixtures/claims-stub.mjs";

export const MSG = {
  FRAME: 0x01, COMPOUND: 0x02, MEMBERSHIP_FIRST: 0x10, MEMBERSHIP_LAST: 0x1f, MAC_UPDATE: 0x20, IP_BINDING: 0x22, IP_BINDING_UNSIGNED: 0x21, PMTU_PROBE: 0x30, PMTU_ACK: 0x31,
  PATH_PING: 0x40, PATH_PONG: 0x41, OBSERVED: 0x42, CANDIDATES: 0x43, RENDEZVOUS: 0x44, RELAY_REQUEST: 0x45, RELAY_OK: 0x46, PATHS_QUERY: 0x47, PATHS_REPORT: 0x48,
  DHCP_RANGE: 0x50, DHCP_LEASE: 0x51,
};

const bodyArb = fc.uint8Array({ maxLength: 120 });

const frameMsgArb = fc
  .tuple(fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 255 })), frameArb)
  .map(([reserved, frame]) => concat([MSG.FRAME, reserved], frame));

const typedMsgArb = (type) => bodyArb.map((body) => concat([type], body));

/**
 * MAC_UPDATE (assembly/wire/macmsg.ts): u8 type, u8 flags, u16 vlan, mac(6),
 * u64 owner, u32 version, key(32), signature(64). Owners and versions come from small pools (owner 1
 * is the fuzzed node itself) so claims collide: moves, ties, stale versions. Most are signed as
 * their owner with the stand-in signatures (tests/fixtures/claims-stub.mjs), the rest garbled.
 */
const macUpdateArb = fc
  .record({
    flags: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 255 })),
    vlan: fc.oneof(fc.constantFrom(0, 1, 100, 0x0fff), fc.integer({ min: 0, max: 0xffff })),
    mac: macArb,
    owner: fc.oneof(fc.constantFrom(0n, 1n, 2n, 3n, 4n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
    version: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant(0xffffffff), fc.integer({ min: 0, max: 0xffffffff })),
    signed: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, fc.constant(false)),
    extra: fc.option(fc.uint8Array({ minLength: 1, maxLength: 8 }), { freq: 8 }),
  })
  .map(({ flags, vlan, mac, owner, version, signed, extra }) => {
    const m = new Uint8Array(118);
    const v = new DataView(m.buffer);
    m[0] = MSG.MAC_UPDATE;
    m[1] = flags;
    v.setUint16(2, vlan);
    m.set(mac, 4);
    v.setBigUint64(10, owner);
    v.setUint32(18, version);
    if (signed) m.set(macClaimSignature(vlan, owner, mac, version), 22);
    else m.fill(0x5a, 22);
    return extra ? concat(m, extra) : m;
  });

/** The stand-in key and signature of a MAC claim's signed form (macClaimForm: type, 0, vlan, owner, mac, version). */
function macClaimSignature(vlan, owner, mac, version) {
  const region = new Uint8Array(22 + 96);
  const v = new DataView(region.buffer);
  region[0] = MSG.MAC_UPDATE;
  v.setUint16(2, vlan);
  v.setBigUint64(4, owner);
  region.set(mac, 12);
  v.setUint32(18, version);
  stubSignClaim(region);
  return region.subarray(22);
}

/**
 * IP_BINDING (assembly/wire/bindmsg.ts): u8 type, u8 flags (0x01 router, 0x02 IPv6), u16 vlan,
 * mac(6), u64 owner, u32 version, address (4 or 16), key(32), signature(64). Addresses, owners and
 * versions from small pools so claims collide (moves, conflicts, stale versions); the flag and length
 * sometimes disagree. Most are signed as their owner (the stand-in); the rest are forged: garbled, a
 * field changed after signing (another MAC, owner or address under the owner's signature), or the
 * retired unsigned form (type 0x21). Replays come from the corpus: the core's own claims fed back.
 */
const ipBindingArb = fc
  .record({
    flags: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0, 1, 2, 3) }, fc.integer({ min: 0, max: 255 })),
    vlan: fc.oneof(fc.constantFrom(0, 100), fc.integer({ min: 0, max: 0xffff })),
    mac: macArb,
    owner: fc.oneof(fc.constantFrom(0n, 1n, 2n, 3n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
    version: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 0xffffffff })),
    addr: fc.oneof(fc.constantFrom(...IP_POOL), fc.uint8Array({ minLength: 16, maxLength: 16 })),
    forgery: fc.oneof({ weight: 6, arbitrary: fc.constant("none") }, fc.constantFrom("garbled", "mac", "owner", "addr", "unsigned")),
    cut: fc.option(fc.integer({ min: 0, max: 134 }), { freq: 6 }),
  })
  .map(({ flags, vlan, mac, owner, version, addr, forgery, cut }) => {
    const addrLen = (flags & 2) ? 16 : 4;
    const m = new Uint8Array(22 + addrLen + 96);
    const v = new DataView(m.buffer);
    m[0] = MSG.IP_BINDING;
    m[1] = flags;
    v.setUint16(2, vlan);
    m.set(mac, 4);
    v.setBigUint64(10, owner);
    v.setUint32(18, version);
    m.set(addr.subarray(0, addrLen), 22);
    if (forgery === "garbled") m.fill(0x5a, 22 + addrLen);
    else m.set(bindClaimSignature(flags, vlan, owner, mac, version, addr.subarray(0, addrLen)), 22 + addrLen);
    if (forgery === "mac") m[9] ^= 0x10;
    if (forgery === "owner") v.setBigUint64(10, owner ^ 2n);
    if (forgery === "addr") m[22 + addrLen - 1] ^= 1;
    const sent = forgery === "unsigned" ? concat([MSG.IP_BINDING_UNSIGNED], m.subarray(1, 22 + addrLen)) : m;
    return cut === null ? sent : sent.subarray(0, Math.min(cut, sent.length));
  });

/** The stand-in key and signature of a binding's signed form (bindClaimForm: IPv6 padded to 102 bytes). */
function bindClaimSignature(flags, vlan, owner, mac, version, addr) {
  const formLen = addr.length === 16 ? 102 : 26;
  const region = new Uint8Array(formLen + 96);
  const v = new DataView(region.buffer);
  region[0] = MSG.IP_BINDING;
  region[1] = flags & 3;
  v.setUint16(2, vlan);
  v.setBigUint64(4, owner);
  region.set(mac, 12);
  v.setUint32(18, version);
  region.set(addr, 22);
  stubSignClaim(region);
  return region.subarray(formLen);
}

/** PMTU_PROBE: u8 type, u32 seq, zero padding (the probed size is the datagram's length). */
const pmtuProbeArb = fc
  .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 1500 })))
  .map(([seq, pad]) => {
    const m = new Uint8Array(5 + pad);
    m[0] = MSG.PMTU_PROBE;
    new DataView(m.buffer).setUint32(1, seq);
    return m;
  });

/** PMTU_ACK: u8 type, u32 seq, u16 size; sequence numbers small so some answer a probe in flight. */
const pmtuAckArb = fc
  .tuple(fc.integer({ min: 0, max: 8 }), fc.oneof(fc.constantFrom(1202, 1400, 1440), fc.integer({ min: 0, max: 0xffff })), fc.nat(7))
  .map(([seq, size, keep]) => {
    const m = new Uint8Array(7);
    const v = new DataView(m.buffer);
    m[0] = MSG.PMTU_ACK;
    v.setUint32(1, seq);
    v.setUint16(5, size);
    return m.subarray(0, keep === 0 ? 7 : keep);
  });

const idArb = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0n, 1n, 2n, 3n, 4n) }, fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
const addr18Arb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(1, 2, 3, 4).map((i) => Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 19, 0, i, 0x12, 0xc0)) },
  fc.uint8Array({ minLength: 18, maxLength: 18 }),
);
const be = (bits, v) => { const b = new Uint8Array(bits / 8); const d = new DataView(b.buffer); bits === 64 ? d.setBigUint64(0, v) : bits === 32 ? d.setUint32(0, v) : d.setUint8(0, v); return b; };
const addrListArb = fc.array(addr18Arb, { maxLength: 9 });
const u32Arb = fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 0xffffffff }));

/** Path messages (assembly/wire/nat.ts), whole; `natMessageArb` also cuts or extends them. */
const wholeNatArb = fc.oneof(
  fc.tuple(u32Arb, idArb, idArb).map(([s, a, b]) => concat([MSG.PATH_PING], be(32, s), be(64, a), be(64, b))),
  fc.tuple(u32Arb, idArb, addr18Arb).map(([s, a, x]) => concat([MSG.PATH_PONG], be(32, s), be(64, a), x)),
  addr18Arb.map((x) => concat([MSG.OBSERVED], x)),
  fc.tuple(idArb, u32Arb, fc.integer({ min: 0, max: 4 }), addrListArb, fc.nat(2))
    .map(([id, v, nat, xs, lie]) => concat([MSG.CANDIDATES], be(64, id), be(32, v), [nat, xs.length + lie], ...xs)),
  fc.tuple(idArb, fc.integer({ min: 0, max: 2 }), addrListArb, fc.nat(2))
    .map(([id, f, xs, lie]) => concat([MSG.RENDEZVOUS], be(64, id), [f, xs.length + lie], ...xs)),
  idArb.map((id) => concat([MSG.RELAY_REQUEST], be(64, id))),
  fc.tuple(idArb, fc.integer({ min: 0, max: 2 })).map(([id, g]) => concat([MSG.RELAY_OK], be(64, id), [g])),
  fc.tuple(u32Arb, fc.integer({ min: 0, max: 0xffff })).map(([s, start]) => concat([MSG.PATHS_QUERY], be(32, s), [start >> 8, start & 0xff])),
  fc.tuple(u32Arb, fc.nat(0xffff), fc.array(fc.tuple(idArb, fc.integer({ min: 0, max: 3 }), idArb, u32Arb), { maxLength: 6 }), fc.nat(2))
    .map(([s, total, entries, lie]) => concat([MSG.PATHS_REPORT], be(32, s), [total >> 8, total & 0xff, 0, 0, entries.length + lie],
      ...entries.map(([peer, kind, relay, rtt]) => concat(be(64, peer), [kind], be(64, relay), be(32, rtt))))),
);

export const natMessageArb = fc
  .tuple(wholeNatArb, fc.option(fc.oneof(fc.nat(40).map((n) => -n - 1), fc.integer({ min: 1, max: 4 })), { freq: 5 }))
  .map(([m, skew]) => (skew === null ? m : skew < 0 ? m.subarray(0, Math.max(0, m.length + skew)) : concat(m, new Uint8Array(skew))));
/** DHCP_RANGE and DHCP_LEASE for the fuzzed core's pool (or another), fields random, sometimes cut. */
const dhcpMsgArb = fc
  .record({
    lease: fc.boolean(),
    pool: fc.oneof({ weight: 6, arbitrary: fc.constant([0xc6120064, 16]) }, fc.tuple(fc.nat(), fc.nat())),
    a: fc.integer({ min: 0, max: 0xffff }), b: fc.integer({ min: 0, max: 0xffff }), c: fc.integer({ min: 0, max: 255 }),
    v: fc.nat(), left: fc.nat(), name: fc.uint8Array({ maxLength: 70 }), cut: fc.option(fc.nat(120), { freq: 5 }),
  })
  .map(({ lease, pool, a, b, c, v, left, name, cut }) => {
    const m = new Uint8Array(lease ? 41 + name.length : 25);
    const d = new DataView(m.buffer);
    m[0] = lease ? MSG.DHCP_LEASE : MSG.DHCP_RANGE;
    d.setUint32(1, pool[0] >>> 0); d.setUint32(5, pool[1] >>> 0);
    if (lease) {
      d.setUint32(9, a % 20); m[13] = c % 6; d.setUint16(14, b); d.setUint32(32, v); d.setUint32(36, left);
      m[40] = name.length; m.set(name, 41);
    } else {
      d.setUint16(9, a % 20); d.setUint16(11, b % 20); d.setUint32(13, c); d.setUint32(21, v);
    }
    return cut === null ? m : m.subarray(0, Math.min(cut, m.length));
  });

/**
 * ALIVE (docs/wire.md member info) about a member from the small id pool, its claim signed with the
 * stand-in signatures the fuzzed core checks (tests/fixtures/claims-stub.mjs), sometimes broken after.
 */
const signedAliveArb = fc
  .record({ inc: u32Arb, id: idArb, addr: addr18Arb, name: fc.uint8Array({ maxLength: 70 }), flip: fc.option(fc.nat(300), { freq: 4 }) })
  .map(({ inc, id, addr, name, flip }) => {
    const m = concat([0x15], be(32, inc), be(64, id), addr, [0, 2, 0, 0, 0, 0, name.length], name, new Uint8Array(96));
    stubSignClaim(m.subarray(1));
    if (flip !== null) m[1 + (flip % (m.length - 1))] ^= 1;
    return m;
  });

/**
 * SUSPECT or DEAD (docs/wire.md) about and by members from the small id pool (node 1 is the fuzzed
 * node), signed as their accuser with the stand-in over the signed form (type, 0, 0, 0, from, node,
 * incarnation), sometimes broken after: the fuzz reaches Lifeguard's confirmations and deaths.
 */
const signedAccusationArb = fc
  .record({ dead: fc.boolean(), inc: u32Arb, node: idArb, from: idArb, flip: fc.option(fc.nat(120), { freq: 4 }) })
  .map(({ dead, inc, node, from, flip }) => {
    const type = dead ? 0x16 : 0x14;
    const form = concat([type, 0, 0, 0], be(64, from), be(64, node), be(32, inc), new Uint8Array(96));
    stubSignClaim(form);
    const m = concat([type], be(32, inc), be(64, node), be(64, from), form.subarray(24));
    if (flip !== null) m[flip % m.length] ^= 1;
    return m;
  });

/** One message that is not a compound. */
export const leafMessageArb = fc.oneof(
  { weight: 3, arbitrary: frameMsgArb },
  { weight: 3, arbitrary: fc.integer({ min: MSG.MEMBERSHIP_FIRST, max: MSG.MEMBERSHIP_LAST }).chain(typedMsgArb) },
  { weight: 1, arbitrary: typedMsgArb(MSG.MAC_UPDATE) },
  { weight: 2, arbitrary: signedAliveArb },
  { weight: 2, arbitrary: signedAccusationArb },
  { weight: 3, arbitrary: macUpdateArb },
  { weight: 2, arbitrary: ipBindingArb },
  { weight: 1, arbitrary: pmtuProbeArb },
  { weight: 1, arbitrary: pmtuAckArb },
  { weight: 3, arbitrary: natMessageArb },
  { weight: 1, arbitrary: dhcpMsgArb },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }).chain(typedMsgArb) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4 }) },
);

/** A COMPOUND message: count, reserved, items; the count and item lengths sometimes lie. */
export const compoundArb = fc
  .record({
    items: fc.array(leafMessageArb, { maxLength: 8 }),
    count: fc.option(fc.integer({ min: 0, max: 255 }), { freq: 6 }),
    reserved: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 255 })),
    lenSkew: fc.option(fc.integer({ min: -3, max: 3 }), { freq: 6 }),
    trailing: fc.option(fc.uint8Array({ minLength: 1, maxLength: 8 }), { freq: 6 }),
  })
  .map(({ items, count, reserved, lenSkew, trailing }) => {
    const parts = [Uint8Array.of(MSG.COMPOUND, count ?? items.length, reserved)];
    items.forEach((m, i) => {
      const n = Math.max(0, m.length + (i === items.length - 1 && lenSkew !== null ? lenSkew : 0));
      parts.push(Uint8Array.of(n >> 8, n & 0xff), m);
    });
    if (trailing) parts.push(trailing);
    return concat(...parts);
  });

export const messageArb = fc.oneof({ weight: 3, arbitrary: leafMessageArb }, { weight: 1, arbitrary: compoundArb });

/** A datagram: mostly the current wire version, sometimes another; sometimes pure garbage. */
export const datagramArb = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(fc.oneof({ weight: 8, arbitrary: fc.constant(WIRE_VERSION) }, fc.integer({ min: 0, max: 255 })), messageArb)
      .map(([v, m]) => concat([v], m)),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
);

/** The messages of an emitted datagram: the lone message, or each compound item. */
export function splitDatagram(dg) {
  if (dg.length < 2) return [];
  const msg = dg.subarray(1);
  if (msg[0] !== MSG.COMPOUND) return [msg];
  const items = [msg];
  let off = 3;
  for (let i = 0; i < msg[1] && off + 2 <= msg.length; i++) {
    const n = (msg[off] << 8) | msg[off + 1];
    items.push(msg.subarray(off + 2, off + 2 + n));
    off += 2 + n;
  }
  return items;
}
