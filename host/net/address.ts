// Underlay addresses: "a.b.c.d:port" and "[v6]:port" <-> the core's 18-byte form (16-byte IPv6, IPv4
// as ::ffff:a.b.c.d, then the port big-endian), and a key per address so hot paths index caches
// without building strings for IPv4 (a number: ipv4 * 65536 + port) and with one for IPv6 (its text).

/** The core's address form (docs/abi.md): 16-byte IPv6 (IPv4 as ::ffff:a.b.c.d), then the UDP port big-endian. */
export const ADDR_LEN = 18;

export interface HostPort {
  /** Canonical text: dotted IPv4, or compressed IPv6 (RFC 5952) without brackets. */
  host: string;
  port: number;
}

/** The transport's address key: a number for IPv4, the "[v6]:port" text for IPv6. */
export type AddressKey = number | string;

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

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

/** Parses IPv6 text ("::", "2001:db8::1", "64:ff9b::198.18.0.1") into 16 bytes, or null. No zone ids. */
export function parseIpv6(text: string): Uint8Array | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const fields = part.split(":");
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      if (i === fields.length - 1 && f.includes(".")) { // an embedded IPv4 address ends the text
        const v4 = parseIpv4(f);
        if (v4 < 0) return null;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (HEX_GROUP.test(f)) {
        out.push(parseInt(f, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 255;
  });
  return out;
}

/** An IPv4 or IPv6 host as the core's 16 address bytes (IPv4 mapped), or null. */
export function parseIp(text: string): Uint8Array | null {
  const v4 = parseIpv4(text);
  if (v4 < 0) return parseIpv6(text);
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  new DataView(out.buffer).setUint32(12, v4, false);
  return out;
}

/** The 16 address bytes at `offset` as text: dotted for IPv4-mapped, else RFC 5952 (longest zero run as "::"). */
export function formatIp(b: Uint8Array, offset = 0): string {
  if (isMappedIpv4(b, offset)) return `${b[offset + 12]}.${b[offset + 13]}.${b[offset + 14]}.${b[offset + 15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[offset + i] << 8) | b[offset + i + 1]);
  let bestAt = -1;
  let bestLength = 1; // a single zero group is not shortened
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestAt = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16)).join(":");
  if (bestAt < 0) return hex(0, 8);
  return `${hex(0, bestAt)}::${hex(bestAt + bestLength, 8)}`;
}

/** True when `host` (canonical HostPort text) is an IPv6 address, not IPv4. */
export function isIpv6Host(host: string): boolean {
  return host.includes(":");
}

/**
 * Parses "a.b.c.d:port", "[v6]:port", or, with a default port, "a.b.c.d", "[v6]" and a bare "v6"
 * (port 0..65535); the host comes back canonical. Throws with a one-line message otherwise.
 */
export function parseHostPort(text: string, defaultPort?: number): HostPort {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) throw new Error(`missing "]" in "${text}" (expected [v6]:port)`);
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) throw new Error(`bad text after "]" in "${text}" (expected [v6]:port)`);
    portText = rest === "" ? undefined : rest.slice(1);
    if (parseIpv6(host) === null) throw new Error(`not an IPv6 address: "${host}" (expected [v6]:port)`);
  } else if (text.indexOf(":") !== text.lastIndexOf(":")) {
    host = text; // several colons and no brackets: a bare IPv6 address, no port
    if (parseIpv6(host) === null) throw new Error(`not an address: "${text}" (expected a.b.c.d:port or [v6]:port)`);
  } else {
    const colon = text.lastIndexOf(":");
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
    if (parseIpv4(host) < 0) throw new Error(`not an IP address: "${host}" (expected a.b.c.d:port or [v6]:port)`);
  }
  const port = portText === undefined ? defaultPort : portText === "" ? NaN : Number(portText);
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`bad port in "${text}"`);
  }
  return { host: formatIp(parseIp(host)!), port };
}

export function formatHostPort(hp: HostPort): string {
  return isIpv6Host(hp.host) ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
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

/** The 18-byte form of a parsed host and port (IPv4 or IPv6). */
export function addressBytes(hp: HostPort): Uint8Array {
  const ip = parseIp(hp.host);
  if (ip === null) throw new Error(`not an IP address: "${hp.host}"`);
  const out = new Uint8Array(ADDR_LEN);
  out.set(ip);
  out[16] = (hp.port >>> 8) & 255;
  out[17] = hp.port & 255;
  return out;
}

/** True when the 16 address bytes at `offset` are an IPv4-mapped IPv6 address. */
export function isMappedIpv4(b: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < 10; i++) if (b[offset + i] !== 0) return false;
  return b[offset + 10] === 0xff && b[offset + 11] === 0xff;
}

// The last IPv6 key made: datagrams come in runs from one peer, so its text is built once per run.
const lastIpv6 = new Uint8Array(ADDR_LEN);
let lastIpv6Key = formatAddress(lastIpv6);

/** Key of the 18-byte address at `offset`: a number for IPv4-mapped, the "[v6]:port" text otherwise. */
export function keyOfAddress(b: Uint8Array, offset = 0): AddressKey {
  if (!isMappedIpv4(b, offset)) {
    for (let i = 0; i < ADDR_LEN; i++) {
      if (lastIpv6[i] !== b[offset + i]) {
        lastIpv6.set(b.subarray(offset, offset + ADDR_LEN));
        lastIpv6Key = formatAddress(b, offset);
        break;
      }
    }
    return lastIpv6Key;
  }
  const ip = ((b[offset + 12] << 24) | (b[offset + 13] << 16) | (b[offset + 14] << 8) | b[offset + 15]) >>> 0;
  return addressKey(ip, (b[offset + 16] << 8) | b[offset + 17]);
}

/** The IPv4 host and port a numeric key names (an IPv6 key is its own text). */
export function hostPortOfKey(key: number): HostPort {
  return { host: formatIpv4(Math.floor(key / 65536)), port: key % 65536 };
}

/** Human form of an 18-byte address: "a.b.c.d:port" for IPv4, "[v6]:port" otherwise. */
export function formatAddress(b: Uint8Array, offset = 0): string {
  return formatHostPort({ host: formatIp(b, offset), port: (b[offset + 16] << 8) | b[offset + 17] });
}
