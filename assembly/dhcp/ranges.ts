// The pool's ownership as a CRDT (docs/dhcp.md): the pool is cut into at most
// MAX_BLOCKS equal blocks, each a token {owner, version} as in Weave Net's
// ipam/ring. A node allocates only from blocks it owns. Only the owner changes
// its token (gives it away, a higher version), except reclaiming a dead owner's
// block, which ownership.ts allows on the one side holding a quorum. Merge
// keeps the higher version; equal versions with different owners (two seeders
// that never met) keep the higher owner id and count a conflict.

export const MAX_BLOCKS: i32 = 256;

export class RangeTable {
  /** First address of the pool (host order value) and its number of addresses. */
  start: u32 = 0;
  size: u32 = 0;
  blockSize: u32 = 1;
  blocks: i32 = 0;
  owners: StaticArray<u64> = new StaticArray<u64>(MAX_BLOCKS);
  versions: StaticArray<u32> = new StaticArray<u32>(MAX_BLOCKS);
  conflicts: i32 = 0;

  /** Sets the pool to `size` addresses from `start` (1 .. 65536); every block unowned. */
  reset(start: u32, size: u32): void {
    this.start = start;
    this.size = size;
    this.blockSize = (size + <u32>MAX_BLOCKS - 1) / <u32>MAX_BLOCKS;
    this.blocks = <i32>((size + this.blockSize - 1) / this.blockSize);
    for (let i = 0; i < MAX_BLOCKS; i++) {
      unchecked(this.owners[i] = 0);
      unchecked(this.versions[i] = 0);
    }
  }

  owner(block: i32): u64 { return unchecked(this.owners[block]); }
  version(block: i32): u32 { return unchecked(this.versions[block]); }

  /** The block holding pool offset `off`. */
  blockOf(off: u32): i32 { return <i32>(off / this.blockSize); }
  /** Pool offsets [blockFirst, blockEnd) of `block`. */
  blockFirst(block: i32): u32 { return <u32>block * this.blockSize; }
  blockEnd(block: i32): u32 { return min(this.size, (<u32>block + 1) * this.blockSize); }

  /** Whether pool offset `off` lies in a block owned by `id`. */
  owns(id: u64, off: u32): bool { return off < this.size && this.owner(this.blockOf(off)) == id; }

  /** Addresses owned by `id`. */
  ownedBy(id: u64): u32 {
    let n: u32 = 0;
    for (let b = 0; b < this.blocks; b++) if (this.owner(b) == id) n += this.blockEnd(b) - this.blockFirst(b);
    return n;
  }

  /** Applies a token heard from a peer; returns whether it changed ours. */
  merge(block: i32, owner: u64, version: u32): bool {
    if (block < 0 || block >= this.blocks) return false;
    const v = this.version(block);
    const o = this.owner(block);
    if (version < v || (version == v && owner <= o)) return false;
    if (version == v && o != 0) this.conflicts++;
    unchecked(this.owners[block] = owner);
    unchecked(this.versions[block] = version);
    return true;
  }

  /** Merges the run [first, first + count) of tokens (owner, version); returns how many blocks changed. */
  mergeRun(first: i32, count: i32, owner: u64, version: u32): i32 {
    if (first < 0 || count < 0 || first >= this.blocks || count > this.blocks - first) return -1;
    let n = 0;
    for (let b = first; b < first + count; b++) if (this.merge(b, owner, version)) n++;
    return n;
  }

  /** Sets `block`'s token to `owner` one version on: a gift by its owner, a seed or a reclaim. */
  assign(block: i32, owner: u64): void {
    this.assignAt(block, owner, this.version(block) + 1);
  }

  /** Sets `block`'s token to (`owner`, `version`); the caller passes a version above the block's. */
  assignAt(block: i32, owner: u64, version: u32): void {
    unchecked(this.owners[block] = owner);
    unchecked(this.versions[block] = version);
  }

  /** Gives every block in `list` to `owner` at one common version, `step` above the highest among them,
   *  so the change travels as few runs (DHCP_RANGE carries a run of blocks with one owner and version). */
  assignAll(list: Array<i32>, owner: u64, step: u32): void {
    let top: u32 = 0;
    for (let i = 0; i < list.length; i++) top = max(top, this.version(unchecked(list[i])));
    for (let i = 0; i < list.length; i++) this.assignAt(unchecked(list[i]), owner, top + step);
  }

  /** Seeds: every unowned block becomes `id`'s. */
  seed(id: u64): void {
    for (let b = 0; b < this.blocks; b++) if (this.owner(b) == 0 && this.version(b) == 0) this.assign(b, id);
  }

  /** The end of the run from `block`: the following blocks with the same owner and version. */
  runEnd(block: i32): i32 {
    let e = block + 1;
    while (e < this.blocks && this.owner(e) == this.owner(block) && this.version(e) == this.version(block)) e++;
    return e;
  }
}
