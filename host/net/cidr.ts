// IPv4 CIDR for the TAP address ("198.18.0.1/24").
import { parseIpv4 } from "./address.ts";
import { usageError } from "../base/errors.ts";

export interface Cidr {
  address: string;
  prefix: number;
}

export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  const prefix = slash < 0 ? NaN : Number(text.slice(slash + 1));
  if (parseIpv4(address) < 0 || !Number.isInteger(prefix) || prefix < 1 || prefix > 32) {
    throw usageError(`bad CIDR "${text}": expected an IPv4 address with a prefix length, like 198.18.0.1/24`);
  }
  return { address, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${c.address}/${c.prefix}`;
}
