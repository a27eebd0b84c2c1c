// The core/host ABI as the hosts see it. Mirrors assembly/abi.ts; docs/abi.md is normative.

export const ABI_VERSION = 2;

export const REC_HEADER = 8;
export const REC_ALIGN = 8;

/** Bodies that start with an address reserve this many bytes. */
export const ADDR_SLOT = 20;
/** OUT_DATAGRAM: the u16 LE after the destination address (the slot's last 2 bytes, its padding) holds flags. */
export const DATAGRAM_FLAGS = ADDR_SLOT - 2;
/** Send to the destination address itself, not along the route the core gave for it (a probe of that address). */
export const DATAGRAM_UNROUTED = 1;

export const IN_FRAME = 1;
export const IN_DATAGRAM = 2;
export const IN_RANDOM = 3;
export const IN_IDENTITY = 4;
export const IN_JOIN = 5;
export const IN_LEAVE = 6;
/** [addr slot][u32 LE]: a datagram of that plaintext length to that address was refused with EMSGSIZE. */
export const IN_SEND_TOO_BIG = 7;
/** Address slots (20 bytes each, as many as fit the body): this node's local interface addresses with its UDP port. */
export const IN_CANDIDATES = 8;
/** [addr slot original source][addr slot relay][plaintext]: a datagram that arrived through a relay. */
export const IN_DATAGRAM_VIA = 9;
/** [u64 node id][u32 seq]: `divs ping`, answered by OUT_PONG. */
export const IN_PING = 10;
/** [f64 LE ms since saved][an OUT_DHCP_STATE body]: a saved DHCP state given back at start (host/state/dhcp-state.ts). */
export const IN_DHCP_RESTORE = 11;
/** [6-byte MAC][u16 0][host name UTF-8]: a lease for the node's own TAP (`--address dhcp`), answered by OUT_DHCP_ADDRESS. */
export const IN_DHCP_SELF = 12;
/** [u64 node id][u32 seq][u16 start]: ask that member for its paths from `start` on, answered by OUT_PATHS_REPORT. */
export const IN_PATHS_QUERY = 13;
/** [u64 LE node id]: a member removed from the switch (`divs remove`): dead here for good. */
export const IN_BAN = 14;

export const OUT_FRAME = 1;
export const OUT_DATAGRAM = 2;
export const OUT_TIMER = 3;
export const OUT_EVENT = 4;
export const OUT_STAT = 5;
export const OUT_MEMBER = 6;
export const OUT_MAC = 7;
/** [addr slot peer][addr slot send to][u8 kind 1 direct 2 relay] (host/core/path-records.ts). */
export const OUT_ROUTE = 8;
/** [addr slot a][addr slot b][u32 bytes/s, 0 revokes]. */
export const OUT_RELAY_ALLOW = 9;
/** [u64 node id][u32 seq][u32 0][f64 rtt ms][u8 path kind][3 x u8 0][addr slot endpoint or relay]. */
export const OUT_PONG = 10;
/** paths_dump: [u64 node id][u8 kind][u8 stage][u16 0][addr slot endpoint][addr slot relay][f64 rtt ms or -1][u32 sent without reply]. */
export const OUT_PATH = 11;
/** self_dump: [u8 nat guess][u8 count][u16 0][count x addr slot observed]. */
export const OUT_SELF = 12;
/** dhcp_dump: one owned run of the DHCP pool (host/engine/dhcp.ts). */
export const OUT_DHCP_RANGE = 13;
/** dhcp_dump: one lease (host/engine/dhcp.ts). */
export const OUT_DHCP_LEASE = 14;
/** UTF-8 text for the log: an address conflict or a frozen binding (assembly/bindings.ts). */
export const OUT_LOG = 16;
/** Empty: the DHCP state to keep changed; after this drain call dhcp_save and write it (host/state/dhcp-state.ts). */
export const OUT_DHCP_SAVE = 17;
/** dhcp_save: [u64 saving node id][DHCP_RANGE and DHCP_LEASE messages], at most 60 KB. */
export const OUT_DHCP_STATE = 18;
/** Answers IN_DHCP_SELF: [u32 LE address, 0: none now][u32 LE prefix length][u32 LE lease s]. */
export const OUT_DHCP_ADDRESS = 19;
/** A member's answer to IN_PATHS_QUERY (host/core/path-records.ts). */
export const OUT_PATHS_REPORT = 20;

export function alignUp(n: number): number {
  return (n + REC_ALIGN - 1) & ~(REC_ALIGN - 1);
}
