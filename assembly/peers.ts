// The alive remote members the data plane forwards to, by node id, with their
// underlay address. Membership keeps it current; forwarding only reads it.
// Each peer's path MTU (assembly/pmtu.ts) and path (assembly/nat/paths.ts, which registers with
// onPeerUp / onPeerGone: it sits above membership) live and die with its entry here.
import { ADDR_LEN } from "./abi";
import { pmtuForget, pmtuRestart, pmtuTrack } from "./pmtu";

const MAX_PEERS: i32 = 65536;

// Set by the path layer; nothing to do until it is there.
let upHook: (id: u64, addr: usize) => void = (id: u64, addr: usize): void => {};
let goneHook: (id: u64) => void = (id: u64): void => {};

/** Sets `fn` to run when a peer comes up at `addr`, or an alive peer's address changes. */
export function onPeerUp(fn: (id: u64, addr: usize) => void): void { upHook = fn; }

/** Sets `fn` to run when a peer is removed. */
export function onPeerGone(fn: (id: u64) => void): void { goneHook = fn; }

const ids = new Array<u64>();
const addrs = new Array<usize>(); // heap blocks of ADDR_LEN bytes, reused

export function peerCount(): i32 { return ids.length; }
export function peerId(i: i32): u64 { return unchecked(ids[i]); }
export function peerAddr(i: i32): usize { return unchecked(addrs[i]); }

/** Index of `id`, or -1. Linear: peer counts are small next to frame rates, see docs/architecture.md. */
export function peerIndex(id: u64): i32 {
  for (let i = 0, n = ids.length; i < n; i++) if (unchecked(ids[i]) == id) return i;
  return -1;
}

/** Address of alive peer `id`, or 0 when it is not an alive peer. */
export function peerAddrById(id: u64): usize {
  const i = peerIndex(id);
  return i < 0 ? 0 : unchecked(addrs[i]);
}

/** Add or update a peer; returns false when the set is full. */
export function peerUpsert(id: u64, addr: usize): bool {
  const i = peerIndex(id);
  if (i < 0) {
    if (ids.length >= MAX_PEERS) return false;
    const block = heap.alloc(ADDR_LEN);
    memory.copy(block, addr, ADDR_LEN);
    ids.push(id);
    addrs.push(block);
    pmtuTrack(block);
    upHook(id, addr);
    return true;
  }
  const block = unchecked(addrs[i]);
  if (memory.compare(block, addr, ADDR_LEN) == 0) return true;
  memory.copy(block, addr, ADDR_LEN);
  pmtuRestart(block);
  upHook(id, addr);
  return true;
}

/** Remove a peer (swap with the last); returns whether it was there. */
export function peerRemove(id: u64): bool {
  const i = peerIndex(id);
  if (i < 0) return false;
  const last = ids.length - 1;
  const freed = unchecked(addrs[i]);
  unchecked(ids[i] = ids[last]);
  unchecked(addrs[i] = addrs[last]);
  ids.pop();
  addrs.pop();
  pmtuForget(freed);
  heap.free(freed);
  goneHook(id);
  return true;
}
