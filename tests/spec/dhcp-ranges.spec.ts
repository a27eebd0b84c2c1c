import { LEASE_BOUND, LeaseTable, NO_NAME } from "../../assembly/dhcp/leases";
import { Absences, View, hasQuorum, leaseCap, rebalance } from "../../assembly/dhcp/ownership";
import { RangeTable } from "../../assembly/dhcp/ranges";

describe("dhcp: range tokens", () => {
  it("cuts the pool into at most 256 blocks covering it exactly", () => {
    const t = new RangeTable();
    t.reset(1000, 100);
    expect(t.blocks).toBe(100);
    t.reset(1000, 1000);
    expect(t.blockSize).toBe(4);
    expect(t.blocks).toBe(250);
    expect(t.blockEnd(249)).toBe(1000);
  });

  it("merges by version; equal versions keep the higher owner and count a conflict", () => {
    const t = new RangeTable();
    t.reset(0, 16);
    expect(t.merge(3, 7, 1)).toBe(true);
    expect(t.merge(3, 9, 0)).toBe(false);
    expect(t.merge(3, 5, 1)).toBe(false);
    expect(t.conflicts).toBe(0);
    expect(t.merge(3, 9, 1)).toBe(true);
    expect(t.conflicts).toBe(1);
    expect(t.merge(3, 2, 2)).toBe(true);
    expect(t.owner(3)).toBe(2);
    expect(t.merge(99, 2, 9)).toBe(false);
  });

  it("seeds only unowned blocks", () => {
    const t = new RangeTable();
    t.reset(0, 8);
    t.merge(0, 5, 3);
    t.seed(1);
    expect(t.owner(0)).toBe(5);
    expect(t.ownedBy(1)).toBe(7);
  });
});

describe("dhcp: ownership rules", () => {
  it("a member owning nothing gets half the free blocks of the richest live owner", () => {
    const t = new RangeTable();
    t.reset(0, 64);
    t.seed(1);
    const l = new LeaseTable();
    l.reset(64);
    const abs = new Absences();
    const v = new View();
    v.self = 1; v.live = [2]; v.now = 0;
    const changed = new Array<i32>();
    rebalance(t, l, abs, v, 1000, changed);
    expect(changed.length).toBe(32);
    expect(t.ownedBy(2)).toBe(32);
    // Node 2 is not the richest: it gives nothing.
    const v2 = new View();
    v2.self = 2; v2.live = [1, 3]; v2.now = 0;
    changed.length = 0;
    rebalance(t, l, new Absences(), v2, 1000, changed);
    expect(changed.length).toBe(0);
  });

  it("a block with a held address is never given away", () => {
    const t = new RangeTable();
    t.reset(0, 2);
    t.seed(1);
    const l = new LeaseTable();
    l.reset(2);
    l.set(0, LEASE_BOUND, 0xaa, 0, 5000, 1, NO_NAME);
    const v = new View();
    v.self = 1; v.live = [2];
    const changed = new Array<i32>();
    rebalance(t, l, new Absences(), v, 1000, changed);
    expect(changed.length).toBe(0);
  });

  it("a member whose every address is held gets a share too; one with a free address does not", () => {
    const t = new RangeTable();
    t.reset(0, 16); // blocks of one address; offset 0 is the server identifier
    t.seed(1);
    const l = new LeaseTable();
    l.reset(16);
    const first = new Array<i32>();
    const v = new View();
    v.self = 1; v.live = [2]; v.now = 0;
    rebalance(t, l, new Absences(), v, 1000, first);
    expect(t.ownedBy(2)).toBe(8); // blocks 8..15
    for (let off: u32 = 8; off < 15; off++) l.set(off, LEASE_BOUND, 0xaa + off, 0, 5000, 2, NO_NAME);
    const changed = new Array<i32>();
    rebalance(t, l, new Absences(), v, 1000, changed);
    expect(changed.length).toBe(0); // node 2 still has offset 15 free
    l.set(15, LEASE_BOUND, 0xbb, 0, 5000, 2, NO_NAME);
    rebalance(t, l, new Absences(), v, 1000, changed);
    expect(changed.length).toBe(4); // half of node 1's 8 free blocks
    expect(t.ownedBy(2)).toBe(12);
  });

  it("reclaims an absent owner's blocks only after the bound, its leases expired, with a quorum", () => {
    const t = new RangeTable();
    t.reset(0, 30);
    for (let b = 0; b < 10; b++) t.assign(b, 1);
    for (let b = 10; b < 20; b++) t.assign(b, 2);
    for (let b = 20; b < 30; b++) t.assign(b, 3);
    const l = new LeaseTable();
    l.reset(30);
    l.set(25, LEASE_BOUND, 0xbb, 0, 1500, 3, NO_NAME);
    const abs = new Absences();
    const v = new View();
    v.self = 1; v.live = [2]; v.now = 0;
    const changed = new Array<i32>();
    rebalance(t, l, abs, v, 1000, changed); // node 3 absent from now on
    expect(changed.length).toBe(0);
    v.now = 1200; // bound passed; the block of lease 25 waits for it
    rebalance(t, l, abs, v, 1000, changed);
    expect(changed.length).toBe(9);
    expect(t.owner(25)).toBe(3);
    v.now = 1600;
    rebalance(t, l, abs, v, 1000, changed);
    expect(changed.length).toBe(10);
    expect(t.ownedBy(1)).toBe(20);
    expect(t.version(25)).toBe(3); // +2 over the absent owner's own +1
    // Node 2 is live but not the smallest id: never reclaims.
    const t2 = new RangeTable();
    t2.reset(0, 3);
    t2.assign(0, 1); t2.assign(1, 2); t2.assign(2, 3);
    const v2 = new View();
    v2.self = 2; v2.live = [1]; v2.now = 0;
    const abs2 = new Absences();
    changed.length = 0;
    rebalance(t2, new LeaseTable(), abs2, v2, 1000, changed);
    v2.now = 5000;
    rebalance(t2, new LeaseTable(), abs2, v2, 1000, changed);
    expect(changed.length).toBe(0);
  });

  it("a minority has no quorum, caps its leases and changes nothing", () => {
    const t = new RangeTable();
    t.reset(0, 5);
    for (let b = 0; b < 5; b++) t.assign(b, <u64>(b + 1));
    const v = new View();
    v.self = 1; v.live = [2]; v.now = 100;
    expect(hasQuorum(t, v)).toBe(false);
    const abs = new Absences();
    const changed = new Array<i32>();
    rebalance(t, new LeaseTable(), abs, v, 1000, changed);
    expect(abs.outnumberedAt).toBe(100);
    expect(leaseCap(abs, 1000)).toBe(600);
    v.now = 100_000;
    rebalance(t, new LeaseTable(), abs, v, 1000, changed);
    expect(changed.length).toBe(0);
    v.live = [2, 3];
    rebalance(t, new LeaseTable(), abs, v, 1000, changed);
    expect(leaseCap(abs, 1000)).toBe(Infinity);
  });

  it("an even split: nobody has a quorum, nobody reclaims, nobody's leases are capped", () => {
    const t = new RangeTable();
    t.reset(0, 4);
    t.assign(0, 1); t.assign(1, 1); t.assign(2, 2); t.assign(3, 2);
    const v = new View();
    v.self = 1; v.live = []; v.now = 0;
    const abs = new Absences();
    const changed = new Array<i32>();
    rebalance(t, new LeaseTable(), abs, v, 1000, changed);
    v.now = 1_000_000;
    rebalance(t, new LeaseTable(), abs, v, 1000, changed);
    expect(changed.length).toBe(0);
    expect(abs.quorum).toBe(false);
    expect(leaseCap(abs, 1000)).toBe(Infinity);
  });
});
