// DiVS messages of the distributed DHCP server (docs/wire.md, docs/dhcp.md).
// Both name the pool (start, size) so a node with another pool ignores them.
//   DHCP_RANGE: type(1) pool_start(4) pool_size(4) first_block(2) blocks(2) owner(8) version(4)
//               (a run of blocks with one owner and one version)
//   DHCP_LEASE: type(1) pool_start(4) pool_size(4) offset(4) state(1) mac(6) cid(4)
//               node(8) version(4) left_ms(4) name_len(1) name(name_len)
import { getMac, getU16, getU32, getU64, putMac, putU16, putU32, putU64 } from "./bytes";

export const MSG_DHCP_RANGE: u8 = 0x50;
export const MSG_DHCP_LEASE: u8 = 0x51;

export const DMSG_POOL_START: u32 = 1;
export const DMSG_POOL_SIZE: u32 = 5;
export const RANGE_FIRST: u32 = 9;
export const RANGE_COUNT: u32 = 11;
export const RANGE_OWNER: u32 = 13;
export const RANGE_VERSION: u32 = 21;
export const RANGE_LEN: u32 = 25;
export const LEASE_OFFSET: u32 = 9;
export const LEASE_STATE: u32 = 13;
export const LEASE_MAC: u32 = 14;
export const LEASE_CID: u32 = 20;
export const LEASE_NODE: u32 = 24;
export const LEASE_VERSION: u32 = 32;
export const LEASE_LEFT_MS: u32 = 36;
export const LEASE_NAME_LEN: u32 = 40;
export const LEASE_NAME: u32 = 41;
export const LEASE_NAME_MAX: u32 = 64;
export const LEASE_MAX_LEN: u32 = LEASE_NAME + LEASE_NAME_MAX;

export class RangeToken {
  poolStart: u32 = 0;
  poolSize: u32 = 0;
  first: i32 = 0;
  count: i32 = 0;
  owner: u64 = 0;
  version: u32 = 0;
}

export class LeaseRecord {
  poolStart: u32 = 0;
  poolSize: u32 = 0;
  offset: u32 = 0;
  state: u8 = 0;
  mac: u64 = 0;
  cid: u32 = 0;
  node: u64 = 0;
  version: u32 = 0;
  leftMs: u32 = 0;
  /** The client's host name as it sent it (bytes, not checked as UTF-8). */
  name: ArrayBuffer = new ArrayBuffer(0);
}

/** Reads a DHCP_RANGE of `len` bytes at `p` into `out`; false when it is not exactly one. */
export function rangeDecode(p: usize, len: u32, out: RangeToken): bool {
  if (len != RANGE_LEN || load<u8>(p) != MSG_DHCP_RANGE) return false;
  out.poolStart = getU32(p + DMSG_POOL_START);
  out.poolSize = getU32(p + DMSG_POOL_SIZE);
  out.first = <i32>getU16(p + RANGE_FIRST);
  out.count = <i32>getU16(p + RANGE_COUNT);
  out.owner = getU64(p + RANGE_OWNER);
  out.version = getU32(p + RANGE_VERSION);
  return true;
}

/** Writes a DHCP_RANGE at `p` (room `cap`); returns RANGE_LEN, or 0 when it does not fit. */
export function rangeEncode(p: usize, cap: u32, t: RangeToken): u32 {
  if (cap < RANGE_LEN) return 0;
  store<u8>(p, MSG_DHCP_RANGE);
  putU32(p + DMSG_POOL_START, t.poolStart);
  putU32(p + DMSG_POOL_SIZE, t.poolSize);
  putU16(p + RANGE_FIRST, <u16>t.first);
  putU16(p + RANGE_COUNT, <u16>t.count);
  putU64(p + RANGE_OWNER, t.owner);
  putU32(p + RANGE_VERSION, t.version);
  return RANGE_LEN;
}

/** The length of the DHCP_LEASE at `p` within `len` bytes, or 0 when truncated or not one. */
export function leaseLength(p: usize, len: u32): u32 {
  if (len < LEASE_NAME || load<u8>(p) != MSG_DHCP_LEASE) return 0;
  const n = <u32>load<u8>(p + LEASE_NAME_LEN);
  if (n > LEASE_NAME_MAX || len < LEASE_NAME + n) return 0;
  return LEASE_NAME + n;
}

/** Reads the DHCP_LEASE at `p` (leaseLength(p, len) != 0) into `out`. */
export function leaseDecode(p: usize, out: LeaseRecord): void {
  out.poolStart = getU32(p + DMSG_POOL_START);
  out.poolSize = getU32(p + DMSG_POOL_SIZE);
  out.offset = getU32(p + LEASE_OFFSET);
  out.state = load<u8>(p + LEASE_STATE);
  out.mac = getMac(p + LEASE_MAC);
  out.cid = getU32(p + LEASE_CID);
  out.node = getU64(p + LEASE_NODE);
  out.version = getU32(p + LEASE_VERSION);
  out.leftMs = getU32(p + LEASE_LEFT_MS);
  const n = <i32>load<u8>(p + LEASE_NAME_LEN);
  out.name = new ArrayBuffer(n);
  memory.copy(changetype<usize>(out.name), p + LEASE_NAME, n);
}

/** Writes a DHCP_LEASE at `p` (room `cap`); the name is cut to LEASE_NAME_MAX bytes. Returns its length or 0. */
export function leaseEncode(p: usize, cap: u32, r: LeaseRecord): u32 {
  const n = min(<u32>r.name.byteLength, LEASE_NAME_MAX);
  if (cap < LEASE_NAME + n) return 0;
  store<u8>(p, MSG_DHCP_LEASE);
  putU32(p + DMSG_POOL_START, r.poolStart);
  putU32(p + DMSG_POOL_SIZE, r.poolSize);
  putU32(p + LEASE_OFFSET, r.offset);
  store<u8>(p + LEASE_STATE, r.state);
  putMac(p + LEASE_MAC, r.mac);
  putU32(p + LEASE_CID, r.cid);
  putU64(p + LEASE_NODE, r.node);
  putU32(p + LEASE_VERSION, r.version);
  putU32(p + LEASE_LEFT_MS, r.leftMs);
  store<u8>(p + LEASE_NAME_LEN, <u8>n);
  memory.copy(p + LEASE_NAME, changetype<usize>(r.name), n);
  return LEASE_NAME + n;
}
