// `dhcp_dump`: the pool's ownership and leases as output records (docs/abi.md),
// for `divs status`, `divs leases` and the simulator. Little-endian bodies:
//   OUT_DHCP_RANGE: u32 first address, u32 last address, u64 owner, u32 version, u32 0
//   OUT_DHCP_LEASE: u32 address, u8 state, u8 name length, u16 0, u64 MAC, u64 serving node,
//                   f64 ms left (negative: expired), name (bytes as the client sent them)
import { OUT_DHCP_LEASE, OUT_DHCP_RANGE } from "../abi";
import { outputReserve } from "../queue";
import { LEASE_FREE, LEASE_OFFERED } from "./leases";
import { leases, poolReady, ranges } from "./pool";

export const DUMP_RANGE_LEN: u32 = 24;
export const DUMP_LEASE_LEN: u32 = 32;

/** Writes every owned block (first page only) and leases from pool offset `from`; returns where to go on, 0 at the end. */
export function dhcpDump(from: u32, now: f64): u32 {
  if (!poolReady()) return 0;
  if (from == 0) {
    for (let b = 0; b < ranges.blocks; b++) {
      if (ranges.owner(b) == 0) continue;
      const p = outputReserve(OUT_DHCP_RANGE, DUMP_RANGE_LEN);
      if (p == 0) return 0;
      store<u32>(p, ranges.start + ranges.blockFirst(b));
      store<u32>(p + 4, ranges.start + ranges.blockEnd(b) - 1);
      store<u64>(p + 8, ranges.owner(b));
      store<u32>(p + 16, ranges.version(b));
      store<u32>(p + 20, 0);
    }
  }
  for (let off = from; off < leases.size; off++) {
    const s = leases.state(off);
    if (s == LEASE_FREE || s == LEASE_OFFERED) continue;
    const name = leases.name(off);
    const n = min(<u32>name.byteLength, 255);
    const p = outputReserve(OUT_DHCP_LEASE, DUMP_LEASE_LEN + n);
    if (p == 0) return off;
    store<u32>(p, ranges.start + off);
    store<u8>(p + 4, s);
    store<u8>(p + 5, <u8>n);
    store<u16>(p + 6, 0);
    store<u64>(p + 8, leases.mac(off));
    store<u64>(p + 16, leases.node(off));
    store<f64>(p + 24, leases.expiry(off) - now);
    memory.copy(p + DUMP_LEASE_LEN, changetype<usize>(name), n);
  }
  return 0;
}
