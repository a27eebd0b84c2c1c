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
export const frameArb = fc
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
