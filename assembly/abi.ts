// The core/host ABI: record queues in linear memory. docs/abi.md is the
// normative description; keep the two in step.
//
// The host writes input records into the input region and calls
// `process(len, now)`; the core clears the output region, handles every
// input record in order, runs what is due at `now`, and appends output
// records which the host drains before its next call.

export const ABI_VERSION: u32 = 2;

// Every record: u16 kind, u16 flags, u32 body length, body, padding to 8.
export const REC_KIND: u32 = 0;
export const REC_FLAGS: u32 = 2;
export const REC_LEN: u32 = 4;
export const REC_HEADER: u32 = 8;
export const REC_ALIGN: u32 = 8;

// Underlay address: 16-byte IPv6 (IPv4 as ::ffff:a.b.c.d), u16 port big-endian.
export const ADDR_LEN: u32 = 18;
// Bodies that start with an address reserve this many bytes so what follows is 4-aligned.
export const ADDR_SLOT: u32 = 20;
// OUT_DATAGRAM's u16 after the destination address (the slot's padding): flags for the host.
export const DATAGRAM_FLAGS: u32 = ADDR_LEN;
/** Send to the destination address itself, not along the route the core gave for it (a probe of that address). */
export const DATAGRAM_UNROUTED: u16 = 1;

// Input kinds (host -> core).
export const IN_FRAME: u16 = 1; // Ethernet frame read from TAP
export const IN_DATAGRAM: u16 = 2; // [addr slot][DiVS datagram] received from a peer
export const IN_RANDOM: u16 = 3; // bytes to mix into the core's PRNG
export const IN_IDENTITY: u16 = 4; // [node id u64 LE][addr slot][name utf8]
export const IN_JOIN: u16 = 5; // [addr slot]: a seed to join through
export const IN_LEAVE: u16 = 6; // empty: leave gracefully
export const IN_SEND_TOO_BIG: u16 = 7; // [addr slot][u32 plaintext datagram length the socket refused (EMSGSIZE)]
export const IN_CANDIDATES: u16 = 8; // n x [addr slot]: this node's local interface addresses with its UDP port
export const IN_DATAGRAM_VIA: u16 = 9; // [addr slot original source][addr slot relay][DiVS datagram]: arrived relayed
export const IN_PING: u16 = 10; // [u64 node id][u32 seq]: `divs ping`, answered by OUT_PONG
export const IN_DHCP_RESTORE: u16 = 11; // [f64 ms since saved][an OUT_DHCP_STATE body]: assembly/dhcp/persist.ts
export const IN_DHCP_SELF: u16 = 12; // [6-byte MAC][u16 0][host name]: a lease for the node's own TAP (--address dhcp)
export const IN_PATHS_QUERY: u16 = 13; // [u64 node id][u32 seq][u16 start]: ask a member for its paths, answered by OUT_PATHS_REPORT
export const IN_BAN: u16 = 14; // [u64 node id]: a member removed from the switch (`divs remove`), dead for good

// Output kinds (core -> host).
export const OUT_FRAME: u16 = 1; // Ethernet frame to write to TAP
export const OUT_DATAGRAM: u16 = 2; // [addr slot][DiVS datagram] to send
export const OUT_TIMER: u16 = 3; // f64: call process() again no later than this time (ms)
export const OUT_EVENT: u16 = 4; // see events.ts
export const OUT_STAT: u16 = 5; // dump: [f64 value][name utf8]
export const OUT_MEMBER: u16 = 6; // dump: see membership dump
export const OUT_MAC: u16 = 7; // dump: see mactable dump (then the MAC's IP bindings)
export const OUT_ROUTE: u16 = 8; // [addr slot peer][addr slot send to][u8 kind 1 direct 2 relay], assembly/nat/route.ts
export const OUT_RELAY_ALLOW: u16 = 9; // [addr slot a][addr slot b][u32 bytes/s, 0 revokes]
export const OUT_PONG: u16 = 10; // see assembly/nat/ping.ts
export const OUT_PATH: u16 = 11; // dump: see paths dump
export const OUT_SELF: u16 = 12; // dump: see self dump
export const OUT_DHCP_RANGE: u16 = 13; // dump: see assembly/dhcp/dump.ts
export const OUT_DHCP_LEASE: u16 = 14; // dump: see assembly/dhcp/dump.ts
export const OUT_LOG: u16 = 16; // UTF-8 text for the host's log (an address conflict, a frozen binding)
export const OUT_DHCP_SAVE: u16 = 17; // empty: the DHCP state to keep changed, call dhcp_save after this drain
export const OUT_DHCP_STATE: u16 = 18; // dhcp_save: [u64 saving node id][DHCP_RANGE and DHCP_LEASE messages]
export const OUT_DHCP_ADDRESS: u16 = 19; // answers IN_DHCP_SELF: [u32 address, 0: none now][u32 prefix length][u32 lease s]
export const OUT_PATHS_REPORT: u16 = 20; // [u64 reporter][u32 seq][u16 total][u16 start][u32 count][entries]: see assembly/nat/report.ts

export const INPUT_CAPACITY: u32 = 256 * 1024;
export const OUTPUT_CAPACITY: u32 = 1024 * 1024;

export function alignUp(n: u32): u32 {
  return (n + REC_ALIGN - 1) & ~(REC_ALIGN - 1);
}
