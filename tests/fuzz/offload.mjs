// The offload paths under the fuzzer: TSO frames from the TAP (segmentation, core config
// tap_vnet_hdr = 1) and the segments fed back as datagrams from a peer (coalescing toward the TAP).
// Whatever the core accepts, what it emits must be well-formed: every segment datagram a valid
// TCP/IP packet (lengths, IPv4 header checksum, TCP checksum) within the datagram bound, and every
// GSO frame it writes to the TAP consistent with its virtio-net header and valid once the kernel
// finishes its checksum. Unmutated input must round-trip: the segments, and the frame coalesced
// from them, carry the original payload.
import fc from "./fc.mjs";
import { macArb } from "./frames.mjs";
import { stubSignClaim } from "../fixtures/claims-stub.mjs";

export const VNET_HDR_LEN = 10;
const GSO_TCPV4 = 1;
const GSO_TCPV6 = 4;
const NEEDS_CSUM = 1;
const FRAME_HEADER_LEN = 3;

const fail = (msg) => { throw new Error(msg); };

/** RFC 1071 partial sum of bytes (big-endian words), folded to 16 bits. */
function sum(b, initial = 0) {
  let acc = initial;
  for (let i = 0; i < b.length; i += 2) acc += (b[i] << 8) | (i + 1 < b.length ? b[i + 1] : 0);
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return acc;
}

function pseudo(ip, v6, proto, len) {
  return v6 ? sum(ip.subarray(8, 40), (len >>> 16) + (len & 0xffff) + proto) : sum(ip.subarray(12, 20), len + proto);
}

/** Where IP and TCP sit in an Ethernet frame, or null when it is not a whole TCP/IP packet. */
function layout(f) {
  let l3 = 14;
  while (l3 + 4 <= f.length && [0x8100, 0x88a8].includes((f[l3 - 2] << 8) | f[l3 - 1]) && l3 < 22) l3 += 4;
  if (f.length < l3 + 40) return null;
  const type = (f[l3 - 2] << 8) | f[l3 - 1];
  const v6 = type === 0x86dd;
  if (!v6 && type !== 0x0800) return null;
  const ip = f.subarray(l3);
  const ipHdr = v6 ? 40 : (ip[0] & 15) * 4;
  const end = l3 + (v6 ? 40 + ((ip[4] << 8) | ip[5]) : (ip[2] << 8) | ip[3]);
  if ((v6 ? ip[6] : ip[9]) !== 6 || end > f.length) return null;
  const l4 = l3 + ipHdr;
  const tcpLen = (f[l4 + 12] >> 4) * 4;
  return { l3, l4, v6, end, tcpLen, ip };
}

/** Params of a TSO frame: IPv4/IPv6, VLAN, TCP options, flags, sizes, and an optional mutation. */
export const tsoArb = fc.record({
  v6: fc.boolean(),
  vlan: fc.boolean(),
  dst: macArb,
  optWords: fc.integer({ min: 0, max: 10 }),
  flags: fc.oneof(fc.constant(0x10), fc.constant(0x18), fc.constant(0x19), fc.constant(0x98), fc.integer({ min: 0, max: 255 })),
  payload: fc.integer({ min: 1, max: 9000 }),
  gsoSize: fc.oneof(fc.integer({ min: 1, max: 1500 }), fc.constant(1448)),
  ecn: fc.boolean(),
  seq: fc.integer({ min: 0, max: 0xffffffff }),
  id: fc.integer({ min: 0, max: 0xffff }),
  // A virtio-net field or a frame byte overwritten (the core must then refuse or emit valid packets).
  mutate: fc.option(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { freq: 3 }),
  flipSegment: fc.option(fc.nat(), { freq: 4 }), // one segment fed back with a byte changed
});

/** The TAP record (virtio-net header + frame) for `p`, and the payload it carries. */
export function tsoRecord(p) {
  const l3 = p.vlan ? 18 : 14;
  const ipHdr = p.v6 ? 40 : 20;
  const tcpLen = 20 + p.optWords * 4;
  const l4 = l3 + ipHdr;
  const len = l4 + tcpLen + p.payload;
  const rec = new Uint8Array(VNET_HDR_LEN + len);
  const h = new DataView(rec.buffer);
  rec[0] = NEEDS_CSUM;
  rec[1] = (p.v6 ? GSO_TCPV6 : GSO_TCPV4) | (p.ecn ? 0x80 : 0);
  h.setUint16(2, l4 + tcpLen, true);
  h.setUint16(4, p.gsoSize, true);
  h.setUint16(6, l4, true);
  h.setUint16(8, 16, true);
  const f = rec.subarray(VNET_HDR_LEN);
  const v = new DataView(f.buffer, f.byteOffset);
  f.set(p.dst, 0);
  f.set([0x02, 0, 0, 0, 0, 0x77], 6);
  if (p.vlan) v.setUint32(12, 0x81000064);
  v.setUint16(l3 - 2, p.v6 ? 0x86dd : 0x0800);
  if (p.v6) {
    v.setUint32(l3, 0x60000000);
    v.setUint16(l3 + 4, tcpLen + p.payload);
    f[l3 + 6] = 6;
    f[l3 + 7] = 64;
    f.set([0x20, 0x01, 0x0d, 0xb8], l3 + 8);
    f[l3 + 23] = 1;
    f.set([0x20, 0x01, 0x0d, 0xb8], l3 + 24);
    f[l3 + 39] = 2;
  } else {
    f[l3] = 0x45;
    v.setUint16(l3 + 2, ipHdr + tcpLen + p.payload);
    v.setUint16(l3 + 4, p.id);
    v.setUint16(l3 + 6, 0x4000);
    f[l3 + 8] = 64;
    f[l3 + 9] = 6;
    v.setUint32(l3 + 12, 0xc6120001);
    v.setUint32(l3 + 16, 0xc6120002);
  }
  v.setUint16(l4, 40000);
  v.setUint16(l4 + 2, 5201);
  v.setUint32(l4 + 4, p.seq);
  v.setUint32(l4 + 8, 12345);
  f[l4 + 12] = (tcpLen / 4) << 4;
  f[l4 + 13] = p.flags;
  v.setUint16(l4 + 14, 1000);
  f.fill(1, l4 + 20, l4 + tcpLen); // NOP options
  for (let k = 0; k < p.payload; k++) f[l4 + tcpLen + k] = (k * 7 + 3) & 0xff;
  v.setUint16(l4 + 16, pseudo(f.subarray(l3), p.v6, 6, tcpLen + p.payload)); // partial, as the kernel leaves it
  const payload = f.slice(l4 + tcpLen);
  if (p.mutate) rec[p.mutate.at % rec.length] = p.mutate.value;
  return { rec, payload };
}

/**
 * A segment datagram the core emitted for a TSO frame: a TCP/IP packet that fits, with valid checksums
 * when `checksums` (an unmutated input: a mutated one may have become a plain frame, which a switch passes
 * on as it came); returns its payload and seq.
 */
export function checkSegment(dg, maxDatagram, checksums) {
  if (dg.length > maxDatagram) fail(`segment datagram of ${dg.length} bytes > ${maxDatagram}`);
  if (dg[1] !== 0x01 || dg[2] !== 0) fail(`segment datagram type 0x${dg[1].toString(16)} flags ${dg[2]}`);
  const f = dg.subarray(FRAME_HEADER_LEN);
  const l = layout(f);
  if (!l) fail("segment datagram does not hold a TCP/IP packet");
  if (l.end !== f.length) fail(`segment IP length ${l.end} != frame ${f.length}`);
  const tcp = f.subarray(l.l4, l.end);
  if (checksums && !l.v6 && sum(l.ip.subarray(0, l.l4 - l.l3)) !== 0xffff) fail("segment IPv4 header checksum wrong");
  if (checksums && sum(tcp, pseudo(l.ip, l.v6, 6, tcp.length)) !== 0xffff) fail("segment TCP checksum wrong");
  const v = new DataView(tcp.buffer, tcp.byteOffset);
  return { seq: v.getUint32(4), flags: tcp[13], payload: tcp.subarray(l.tcpLen) };
}

/** A frame the core wrote to the TAP with a GSO header: consistent, and valid once its checksum is finished. */
export function checkGsoFrame(body) {
  const h = new DataView(body.buffer, body.byteOffset);
  const f = body.slice(VNET_HDR_LEN);
  const l = layout(f);
  if (!l) fail("GSO frame to the TAP holds no TCP/IP packet");
  const [flags, type, hdrLen, gsoSize, csumStart, csumOffset] =
    [body[0], body[1], h.getUint16(2, true), h.getUint16(4, true), h.getUint16(6, true), h.getUint16(8, true)];
  if (flags !== NEEDS_CSUM || type !== (l.v6 ? GSO_TCPV6 : GSO_TCPV4)) fail(`GSO frame flags ${flags} type ${type}`);
  if (hdrLen !== l.l4 + l.tcpLen || csumStart !== l.l4 || csumOffset !== 16) fail(`GSO frame offsets ${hdrLen} ${csumStart} ${csumOffset}`);
  if (l.end !== f.length || gsoSize === 0 || gsoSize >= l.end - hdrLen) fail(`GSO frame gso_size ${gsoSize}, ${l.end - hdrLen} bytes of payload`);
  if (!l.v6 && sum(l.ip.subarray(0, l.l4 - l.l3)) !== 0xffff) fail("GSO frame IPv4 header checksum wrong");
  const tcp = f.subarray(l.l4, l.end);
  // The field holds the pseudo-header sum; the kernel completes it over the segment.
  if (((tcp[16] << 8) | tcp[17]) !== pseudo(l.ip, l.v6, 6, tcp.length)) fail("GSO frame checksum field is not the pseudo-header sum");
  const final = ~sum(tcp) & 0xffff;
  tcp[16] = final >> 8;
  tcp[17] = final & 0xff;
  if (sum(tcp, pseudo(l.ip, l.v6, 6, tcp.length)) !== 0xffff) fail("GSO frame TCP checksum wrong once finished");
  return tcp.subarray(l.tcpLen);
}

/**
 * An ALIVE datagram (docs/wire.md member info): node `id` at the 20-byte address slot `slot`, so the
 * fuzzed core has a peer to send segments to, its claim signed (tests/fixtures/claims-stub.mjs). Incarnation `inc` must grow to outrank a suspicion.
 */
export function aliveDatagram(id, slot, inc) {
  const name = new TextEncoder().encode(`seg${id}`);
  const dg = new Uint8Array(2 + 4 + 8 + 18 + 2 + 4 + 1 + name.length + 96);
  const v = new DataView(dg.buffer);
  dg[0] = 1; // wire version
  dg[1] = 0x15; // ALIVE
  v.setUint32(2, inc);
  v.setBigUint64(6, BigInt(id));
  dg.set(slot.subarray(0, 18), 14);
  v.setUint16(32, 2); // protocol version
  dg[38] = name.length;
  dg.set(name, 39);
  stubSignClaim(dg.subarray(2)); // the claim trailer, as the fuzzed core's stand-in signatures check it
  return dg;
}

export const equalBytes = (a, b) => a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
