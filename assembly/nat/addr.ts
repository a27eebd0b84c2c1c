// Underlay addresses (ADDR_LEN bytes) as owned values, compared and hashed by content.
import { ADDR_LEN } from "../abi";

export type Addr = StaticArray<u8>;

export function addrCopy(p: usize): Addr {
  const a = new StaticArray<u8>(ADDR_LEN);
  memory.copy(changetype<usize>(a), p, ADDR_LEN);
  return a;
}

// @ts-ignore: decorator
@inline export function addrPtr(a: Addr): usize { return changetype<usize>(a); }

export function addrEq(a: usize, b: usize): bool {
  return memory.compare(a, b, ADDR_LEN) == 0;
}

/** FNV-1a over the address bytes: a map key (entries keep the bytes and compare them). */
export function addrHash(p: usize): u64 {
  let h: u64 = 0xcbf29ce484222325;
  for (let i: u32 = 0; i < ADDR_LEN; i++) h = (h ^ <u64>load<u8>(p + i)) * 0x100000001b3;
  return h;
}

/** Same host (the 16 address bytes), any port. */
export function sameHost(a: usize, b: usize): bool {
  return memory.compare(a, b, 16) == 0;
}

/** The unspecified address (all zero): what an absent slot holds. */
export function addrIsZero(p: usize): bool {
  for (let i: u32 = 0; i < ADDR_LEN; i++) if (load<u8>(p + i) != 0) return false;
  return true;
}
