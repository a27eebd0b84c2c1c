// Ethernet frame arbitraries and the golden frames mutations start from.
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "./fc.mjs";
import { readPcap } from "../fixtures/pcap.mjs";
import { ipv4, requestFrame } from "../fixtures/dhcp-frames.mjs";
import { concat } from "./records.mjs";

const hex = (s) => Uint8Array.from(s.replace(/[^0-9a-f]/gi, "").match(/../g), (b) => parseInt(b, 16));

/** A few MACs used over and over, so the table sees repeats, moves and collisions. */
export const MAC_POOL = [
  "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03", "52:54:00:12:34:56",
  "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "33:33:00:00:00:01",
].map(hex);

export const macArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...MAC_POOL) },
  { weight: 3, arbitrary: fc.uint8Array({ minLength: 6, maxLength: 6 }).map((m) => (m[0] &= 0xfe, m)) }, // unicast
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 6, maxLength: 6 }).map((m) => (m[0] |= 0x01, m)) }, // group
);

const u16be = (v) => Uint8Array.of(v >> 8, v & 0xff);

const tagArb = fc.record({
  tpid: fc.oneof(fc.constantFrom(0x8100, 0x88a8), fc.integer({ min: 0, max: 0xffff })),
  tci: fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0, 1, 0x0fff, 0xefff)),
});

export const ETHERTYPES = [0x0800, 0x0806, 0x86dd, 0x8100, 0x88a8];

/** A structured Ethernet frame: MACs, 0-3 tags, ethertype, payload, sometimes truncated. */
const plainFrameArb = fc
  .record({
    dst: macArb,
    src: macArb,
    tags: fc.array(tagArb, { maxLength: 3 }),
    ethertype: fc.oneof(fc.constantFrom(...ETHERTYPES), fc.integer({ min: 0, max: 0xffff })),
    payload: fc.oneof(
      { weight: 4, arbitrary: fc.uint8Array({ maxLength: 100 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 1600 }).map((n) => new Uint8Array(n).fill(0xa5)) },
    ),
    cut: fc.option(fc.integer({ min: 0, max: 40 }), { freq: 5 }),
  })
  .map(({ dst, src, tags, ethertype, payload, cut }) => {
    const frame = concat(dst, src, ...tags.flatMap((t) => [u16be(t.tpid), u16be(t.tci)]), u16be(ethertype), payload);
    return cut === null ? frame : frame.subarray(0, Math.min(cut, frame.length));
  });

/** Hand-built frames: broadcast ARP request, ICMP echo, 802.1Q and QinQ tagged, IPv6 NS. */
export const HAND_FRAMES = [
  hex(`ffffffffffff 020000000001 0806 0001 0800 06 04 0001 020000000001 c6120001 000000000000 c6120002`),
  hex(`020000000002 020000000001 0800 4500001c0001000040019a0bc6120001c6120002 0800f7ff00000000`),
  hex(`020000000002 020000000001 8100 0064 0800 4500001c0001000040019a0bc6120001c6120002 0800f7ff00000000`),
  hex(`ffffffffffff 020000000001 88a8 00c8 8100 0064 0806 0001 0800 06 04 0001 020000000001 c6120001 000000000000 c6120002`),
  hex(`3333ff000002 020000000001 86dd 6000000000203aff fe800000000000000000000000000001 ff0200000000000000000001ff000002
       8700 0000 00000000 fe800000000000000000000000000002 0101020000000001`),
];

/** DHCP requests to the fuzzed core's pool (run.mjs configures 198.18.0.100, 16 addresses):
 *  DISCOVER, REQUEST selecting, renewal, RELEASE, DECLINE, INFORM. */
const DHCP_MAC = [2, 0, 0, 0, 0, 1];
const POOL = (k) => ipv4(`198.18.0.${100 + k}`);
export const DHCP_FRAMES = [
  requestFrame(DHCP_MAC, 1, { xid: 1 }),
  requestFrame(DHCP_MAC, 3, { xid: 2, requested: POOL(1), serverId: POOL(0) }),
  requestFrame(DHCP_MAC, 3, { xid: 3, ciaddr: POOL(1), dstIp: POOL(0) }),
  requestFrame(DHCP_MAC, 7, { xid: 4, ciaddr: POOL(1), dstIp: POOL(0) }),
  requestFrame(DHCP_MAC, 4, { xid: 5, requested: POOL(2), serverId: POOL(0) }),
  requestFrame(DHCP_MAC, 8, { xid: 6, ciaddr: POOL(3), dstIp: POOL(0) }),
];

/** Frames captured from a real TAP (tests/fixtures/*.pcap). */
export function fixtureFrames() {
  const dir = fileURLToPath(new URL("../fixtures/", import.meta.url));
  return readdirSync(dir).filter((n) => n.endsWith(".pcap")).sort().flatMap((n) => readPcap(dir + n));
}

/**
 * Addresses ARP/ND frames and IP_BINDING messages draw from, so claims repeat, move and conflict.
 * 16 bytes each; an IPv4 use takes the first 4 (198.18.0.x).
 */
export const IP_POOL = [1, 2, 3, 4].map((x) => Uint8Array.of(198, 18, 0, x, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, x))
  .concat([Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), new Uint8Array(16)]);

/** The ICMPv6 checksum of `icmp` between `src` and `dst` (RFC 4443 2.3), computed here independently. */
function icmpv6Checksum(src, dst, icmp) {
  const pseudo = concat(src, dst, Uint8Array.of(0, 0, icmp.length >> 8, icmp.length & 0xff, 0, 0, 0, 58), icmp, new Uint8Array(icmp.length & 1));
  let sum = 0;
  for (let i = 0; i < pseudo.length; i += 2) sum += (pseudo[i] << 8) | pseudo[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const vlanTag = (vlan) => (vlan < 0 ? new Uint8Array(0) : concat(u16be(0x8100), u16be(vlan)));
const ipArb = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...IP_POOL) }, fc.uint8Array({ minLength: 16, maxLength: 16 }));
const vlanArb = fc.constantFrom(-1, -1, 0, 100);

/** ARP requests, replies, probes and gratuitous ARP over a small pool of MACs and addresses; sometimes cut. */
export const arpFrameArb = fc
  .record({
    dst: fc.oneof(fc.constant(MAC_POOL[5]), macArb), src: macArb, sha: fc.option(macArb, { freq: 4 }), vlan: vlanArb,
    op: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(1, 2) }, fc.integer({ min: 0, max: 0xffff })),
    spa: ipArb, tpa: ipArb, probe: fc.boolean(), cut: fc.option(fc.integer({ min: 0, max: 46 }), { freq: 6 }),
  })
  .map(({ dst, src, sha, vlan, op, spa, tpa, probe, cut }) => {
    const arp = concat(u16be(1), u16be(0x0800), Uint8Array.of(6, 4), u16be(op), sha ?? src,
      probe ? new Uint8Array(4) : spa.subarray(0, 4), new Uint8Array(6), tpa.subarray(0, 4));
    const frame = concat(dst, src, vlanTag(vlan), u16be(0x0806), arp);
    return cut === null ? frame : frame.subarray(0, cut);
  });

/** Neighbor Solicitations and Advertisements with link-layer options, mostly with a valid checksum. */
export const ndFrameArb = fc
  .record({
    src: macArb, vlan: vlanArb, na: fc.boolean(), flags: fc.constantFrom(0, 0x20, 0x40, 0x60, 0x80, 0xe0),
    from: fc.oneof(ipArb, fc.constant(new Uint8Array(16))), target: ipArb,
    options: fc.array(fc.record({ type: fc.integer({ min: 0, max: 3 }), units: fc.integer({ min: 0, max: 3 }) }), { maxLength: 3 }),
    hop: fc.oneof({ weight: 6, arbitrary: fc.constant(255) }, fc.integer({ min: 0, max: 254 })),
    badSum: fc.integer({ min: 0, max: 4 }).map((n) => n === 0), cut: fc.option(fc.integer({ min: 0, max: 100 }), { freq: 8 }),
  })
  .map(({ src, vlan, na, flags, from, target, options, hop, badSum, cut }) => {
    const opts = concat(...options.map(({ type, units }) => {
      const o = new Uint8Array(Math.max(units, 1) * 8);
      o[0] = type;
      o[1] = units;
      o.set(src, 2);
      return o;
    }));
    const icmp = concat(Uint8Array.of(na ? 136 : 135, 0, 0, 0, na ? flags : 0, 0, 0, 0), target, opts);
    const dstIp = na ? Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)
      : Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, target[13], target[14], target[15]);
    const sum = icmpv6Checksum(from, dstIp, icmp) ^ (badSum ? 1 : 0);
    icmp[2] = sum >> 8;
    icmp[3] = sum & 0xff;
    const ip6 = concat(Uint8Array.of(0x60, 0, 0, 0), u16be(icmp.length), Uint8Array.of(58, hop), from, dstIp, icmp);
    const frame = concat(Uint8Array.of(0x33, 0x33, ...dstIp.subarray(12)), src, vlanTag(vlan), u16be(0x86dd), ip6);
    return cut === null ? frame : frame.subarray(0, cut);
  });

/** A frame from the TAP or a peer: structured, or ARP/ND over pooled MACs and addresses (bindings, answers). */
export const frameArb = fc.oneof({ weight: 4, arbitrary: plainFrameArb }, { weight: 1, arbitrary: arpFrameArb }, { weight: 1, arbitrary: ndFrameArb });
