// Which member an underlay address belongs to: its own (member) address, and
// every other address a member was authenticated at (a PATH_PING, PING or
// push-pull from there naming its id). Datagrams from an alias are handled as
// from the member's address, so replies follow the member's route.
import { Stat, count } from "../stats";
import { Addr, addrCopy, addrEq, addrHash, addrPtr } from "./addr";

const MAX_ALIASES: i32 = 16384;

class Alias {
  constructor(readonly addr: Addr, public id: u64) {}
}

const byHash = new Map<u64, Alias>();

/** Records that `addr` is member `id`'s (replacing any earlier owner). */
export function aliasSet(addr: usize, id: u64): void {
  const h = addrHash(addr);
  if (byHash.has(h)) {
    const a = byHash.get(h);
    if (addrEq(addrPtr(a.addr), addr)) { a.id = id; return; }
  }
  if (byHash.size >= MAX_ALIASES) { count(Stat.PathAliasesFull); return; }
  byHash.set(h, new Alias(addrCopy(addr), id));
}

/** The member `addr` belongs to, 0 when unknown. */
export function aliasLookup(addr: usize): u64 {
  const h = addrHash(addr);
  if (!byHash.has(h)) return 0;
  const a = byHash.get(h);
  return addrEq(addrPtr(a.addr), addr) ? a.id : 0;
}

/** Forgets every address of member `id`. */
export function aliasForget(id: u64): void {
  const keys = byHash.keys();
  for (let i = 0; i < keys.length; i++) {
    const k = unchecked(keys[i]);
    if (byHash.get(k).id == id) byHash.delete(k);
  }
}
