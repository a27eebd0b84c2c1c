// The core/host ABI as the hosts see it. Mirrors assembly/abi.ts; docs/abi.md is normative.

export const ABI_VERSION = 1;

export const REC_HEADER = 8;
export const REC_ALIGN = 8;

/** Underlay address: 16-byte IPv6 (IPv4 as ::ffff:a.b.c.d), then the UDP port big-endian. */
export const ADDR_LEN = 18;
/** Bodies that start with an address reserve this many bytes. */
export const ADDR_SLOT = 20;

export const IN_FRAME = 1;
export const IN_DATAGRAM = 2;
export const IN_RANDOM = 3;
export const IN_IDENTITY = 4;
export const IN_JOIN = 5;
export const IN_LEAVE = 6;
/** [addr slot][u32 LE]: a datagram of that plaintext length to that address was refused with EMSGSIZE. */
export const IN_SEND_TOO_BIG = 7;

export const OUT_FRAME = 1;
export const OUT_DATAGRAM = 2;
export const OUT_TIMER = 3;
export const OUT_EVENT = 4;
export const OUT_STAT = 5;
export const OUT_MEMBER = 6;
export const OUT_MAC = 7;
/** UTF-8 text for the log: an address conflict or a frozen binding (assembly/bindings.ts). */
export const OUT_LOG = 16;

export function alignUp(n: number): number {
  return (n + REC_ALIGN - 1) & ~(REC_ALIGN - 1);
}
