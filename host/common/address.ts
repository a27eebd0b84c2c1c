// Underlay addresses: "a.b.c.d:port" <-> the core's 18-byte form (IPv4-mapped IPv6, port big-endian),
// and a numeric key (ipv4 * 65536 + port) so hot paths index caches without building strings.
import { ADDR_LEN } from "./abi.ts";

export interface HostPort {
  host: string;
  port: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses dotted IPv4 into a u32, or returns -1. */
export function parseIpv4(text: string): number {
  const m = IPV4.exec(text);
  if (!m) return -1;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) return -1;
    v = v * 256 + octet;
  }
  return v;
}

export function formatIpv4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Parses "a.b.c.d:port" (port 1..65535); throws with a one-line message otherwise. */
export function parseHostPort(text: string, defaultPort?: number): HostPort {
  const colon = text.lastIndexOf(":");
  const host = colon < 0 ? text : text.slice(0, colon);
  const portText = colon < 0 ? undefined : text.slice(colon + 1);
  if (parseIpv4(host) < 0) throw new Error(`not an IPv4 address: "${host}" (expected a.b.c.d:port)`);
  const port = portText === undefined ? defaultPort : Number(portText);
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`bad port in "${text}"`);
  }
  return { host, port };
}

export function formatHostPort(hp: HostPort): string {
  return `${hp.host}:${hp.port}`;
}

/** Numeric key for an IPv4 host and port: exact in a double (48 bits). */
export function addressKey(ipv4: number, port: number): number {
  return ipv4 * 65536 + port;
}

/** Writes the 18-byte form of an IPv4 address and port into `out` at `offset`. */
export function encodeAddress(ipv4: number, port: number, out: Uint8Array, offset = 0): void {
  out.fill(0, offset, offset + 10);
  out[offset + 10] = 0xff;
  out[offset + 11] = 0xff;
  out[offset + 12] = (ipv4 >>> 24) & 255;
  out[offset + 13] = (ipv4 >>> 16) & 255;
  out[offset + 14] = (ipv4 >>> 8) & 255;
  out[offset + 15] = ipv4 & 255;
  out[offset + 16] = (port >>> 8) & 255;
  out[offset + 17] = port & 255;
}

export function addressBytes(hp: HostPort): Uint8Array {
  const out = new Uint8Array(ADDR_LEN);
  encodeAddress(parseIpv4(hp.host), hp.port, out);
  return out;
}

/** True when the 16 address bytes at `offset` are an IPv4-mapped IPv6 address. */
export function isMappedIpv4(b: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < 10; i++) if (b[offset + i] !== 0) return false;
  return b[offset + 10] === 0xff && b[offset + 11] === 0xff;
}

/** Key of the 18-byte address at `offset` (IPv4-mapped only; -1 otherwise). */
export function keyOfAddress(b: Uint8Array, offset = 0): number {
  if (!isMappedIpv4(b, offset)) return -1;
  const ip = ((b[offset + 12] << 24) | (b[offset + 13] << 16) | (b[offset + 14] << 8) | b[offset + 15]) >>> 0;
  return addressKey(ip, (b[offset + 16] << 8) | b[offset + 17]);
}

export function hostPortOfKey(key: number): HostPort {
  return { host: formatIpv4(Math.floor(key / 65536)), port: key % 65536 };
}

/** Human form of an 18-byte address: "a.b.c.d:port" for IPv4, "[v6]:port" otherwise. */
export function formatAddress(b: Uint8Array, offset = 0): string {
  const port = (b[offset + 16] << 8) | b[offset + 17];
  if (isMappedIpv4(b, offset)) {
    return `${b[offset + 12]}.${b[offset + 13]}.${b[offset + 14]}.${b[offset + 15]}:${port}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[offset + i] << 8) | b[offset + i + 1]).toString(16));
  return `[${groups.join(":")}]:${port}`;
}
