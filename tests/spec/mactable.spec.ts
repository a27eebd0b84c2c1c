import { config } from "../../assembly/config";
import {
  DUMP_AGE, DUMP_KIND, DUMP_LEN, DUMP_MAC, DUMP_OWNER, DUMP_VERSION, DUMP_VLAN, MAC_LOCAL, MAC_REMOTE, age, ageTick, announced, applyRemote, dropOwner, learnLocal,
  lookup, macDump, macEntries, macFind, macReset, macSlots, slotKind,
  slotMac, slotOwner, slotSeen, slotSetSignature, slotSignature, slotSigned, slotVersion, slotVlan, takeAnnouncement,
} from "../../assembly/mactable";
import { OUT_MAC, REC_HEADER, REC_KIND, REC_LEN, alignUp } from "../../assembly/abi";
import { self } from "../../assembly/node";
import { outputBase, outputLength, outputReset } from "../../assembly/queue";
import { getMac } from "../../assembly/wire/bytes";
import { Stat, statValue } from "../../assembly/stats";

const SELF: u64 = 5;
const A: u64 = 3; // lower id than SELF
const B: u64 = 9; // higher id than SELF
const M1: u64 = 0x0200_0000_0001;
const M2: u64 = 0x0200_0000_0002;

function fresh(capacity: u32 = 65536, ageing: f64 = 300_000): void {
  self.id = SELF;
  self.now = 0;
  config.macCapacity = capacity;
  config.macAgeingMs = ageing;
  macReset();
}

function versionOf(mac: u64, vlan: u32): u32 {
  const s = macFind(mac, vlan);
  return s < 0 ? 0 : slotVersion(s);
}

function kindOf(mac: u64, vlan: u32): u8 {
  const s = macFind(mac, vlan);
  return s < 0 ? 0 : slotKind(s);
}

/** Age until a call removes nothing: a call that removes nothing has examined every slot. */
function ageFully(now: f64): void {
  while (age(now, macSlots()) > 0) {}
}

describe("learnLocal", () => {
  beforeEach(() => { fresh(); });

  it("learns a new MAC as ours at version 1 and only refreshes it afterwards", () => {
    const learned = statValue(Stat.MacLearned);
    expect(learnLocal(M1, 0, 10)).toBe(true);
    expect(lookup(M1, 0)).toBe(SELF);
    expect(versionOf(M1, 0)).toBe(1);
    expect(kindOf(M1, 0)).toBe(MAC_LOCAL);
    expect(learnLocal(M1, 0, 20)).toBe(false);
    expect(versionOf(M1, 0)).toBe(1);
    expect(slotSeen(macFind(M1, 0))).toBe(20);
    expect(statValue(Stat.MacLearned) - learned).toBe(1);
  });

  it("keeps VLANs apart", () => {
    learnLocal(M1, 10, 0);
    expect(lookup(M1, 10)).toBe(SELF);
    expect(lookup(M1, 0)).toBe(0);
    expect(lookup(M1, 11)).toBe(0);
    applyRemote(M1, 0, B, 1, 0);
    expect(lookup(M1, 0)).toBe(B);
    expect(lookup(M1, 10)).toBe(SELF);
  });

  it("moves a MAC owned by another node here with the next version", () => {
    applyRemote(M1, 0, B, 7, 0);
    const moved = statValue(Stat.MacMoved);
    expect(learnLocal(M1, 0, 5)).toBe(true);
    expect(lookup(M1, 0)).toBe(SELF);
    expect(versionOf(M1, 0)).toBe(8);
    expect(statValue(Stat.MacMoved) - moved).toBe(1);
  });

  it("queues new and moved MACs for announcement, skipping ones no longer ours", () => {
    learnLocal(M1, 0, 0);
    learnLocal(M1, 0, 1); // refresh: not announced again
    learnLocal(M2, 3, 1);
    applyRemote(M2, 3, B, 5, 2); // taken away before the gossip layer drained it
    expect(takeAnnouncement()).toBe(true);
    expect(announced.mac).toBe(M1);
    expect(announced.vlan).toBe(0);
    expect(announced.owner).toBe(SELF);
    expect(announced.version).toBe(1);
    expect(takeAnnouncement()).toBe(false);
    learnLocal(M2, 3, 3); // moves back
    expect(takeAnnouncement()).toBe(true);
    expect(announced.mac).toBe(M2);
    expect(announced.vlan).toBe(3);
    expect(announced.version).toBe(6);
  });

  it("bounds the announcement queue and counts the overflow", () => {
    const overflow = statValue(Stat.MacAnnounceOverflow);
    for (let i: u64 = 0; i < 1100; i++) learnLocal(0x0200_0000_0000 + i + 1, 0, 0);
    expect(statValue(Stat.MacAnnounceOverflow) - overflow).toBe(76);
    let taken = 0;
    while (takeAnnouncement()) taken++;
    expect(taken).toBe(1024);
  });
});

describe("applyRemote", () => {
  beforeEach(() => { fresh(); });

  it("takes a higher version and ignores a lower one", () => {
    expect(applyRemote(M1, 0, A, 2, 0)).toBe(true);
    expect(applyRemote(M1, 0, B, 3, 0)).toBe(true);
    expect(lookup(M1, 0)).toBe(B);
    const stale = statValue(Stat.MacRemoteStale);
    expect(applyRemote(M1, 0, A, 2, 0)).toBe(false);
    expect(lookup(M1, 0)).toBe(B);
    expect(versionOf(M1, 0)).toBe(3);
    expect(statValue(Stat.MacRemoteStale) - stale).toBe(1);
  });

  it("breaks version ties towards the higher owner id, in either arrival order", () => {
    applyRemote(M1, 0, A, 4, 0);
    expect(applyRemote(M1, 0, B, 4, 0)).toBe(true);
    applyRemote(M2, 0, B, 4, 0);
    expect(applyRemote(M2, 0, A, 4, 0)).toBe(false);
    expect(lookup(M1, 0)).toBe(B);
    expect(lookup(M2, 0)).toBe(B);
  });

  it("refreshes on the same owner and version", () => {
    applyRemote(M1, 0, B, 1, 100);
    expect(applyRemote(M1, 0, B, 1, 900)).toBe(false);
    expect(slotSeen(macFind(M1, 0))).toBe(900);
  });

  it("takes one of our MACs only by the version rule", () => {
    learnLocal(M1, 0, 0); // ours, version 1
    expect(applyRemote(M1, 0, A, 1, 0)).toBe(false); // tie, lower owner: stays ours
    expect(lookup(M1, 0)).toBe(SELF);
    const away = statValue(Stat.MacMovedAway);
    expect(applyRemote(M1, 0, B, 1, 0)).toBe(true); // tie, higher owner: moves away
    expect(lookup(M1, 0)).toBe(B);
    expect(kindOf(M1, 0)).toBe(MAC_REMOTE);
    expect(statValue(Stat.MacMovedAway) - away).toBe(1);
    learnLocal(M1, 0, 1); // seen here again: moves back, version 2 beats B's 1
    expect(lookup(M1, 0)).toBe(SELF);
    expect(versionOf(M1, 0)).toBe(2);
    expect(applyRemote(M1, 0, B, 1, 2)).toBe(false);
  });

  it("moves a MAC at the maximum version here at version 1: newer in serial order, never 0 (an invalid claim)", () => {
    applyRemote(M1, 0, B, u32.MAX_VALUE, 0);
    learnLocal(M1, 0, 1);
    expect(kindOf(M1, 0)).toBe(MAC_LOCAL);
    expect(versionOf(M1, 0)).toBe(1);
  });

  it("takes an update naming this node only as a higher version of a MAC behind our TAP", () => {
    expect(applyRemote(M1, 0, SELF, 4, 0)).toBe(false); // a claim we no longer make
    expect(lookup(M1, 0)).toBe(0);
    learnLocal(M1, 0, 1);
    expect(applyRemote(M1, 0, SELF, 4, 2)).toBe(true);
    expect(kindOf(M1, 0)).toBe(MAC_LOCAL);
    expect(versionOf(M1, 0)).toBe(4);
    expect(slotSeen(macFind(M1, 0))).toBe(1); // seen on TAP, not refreshed by the echo
    expect(applyRemote(M1, 0, SELF, 3, 3)).toBe(false);
    expect(versionOf(M1, 0)).toBe(4);
  });
});

describe("ageing", () => {
  beforeEach(() => { fresh(65536, 10_000); });

  it("removes local entries not seen and remote entries not refreshed for macAgeingMs", () => {
    learnLocal(M1, 0, 0);
    applyRemote(M2, 0, B, 1, 0);
    learnLocal(M1, 0, 5_000);
    applyRemote(M2, 0, B, 1, 6_000);
    ageFully(9_999);
    expect(macEntries()).toBe(2);
    const aged = statValue(Stat.MacAged);
    ageFully(15_000);
    expect(lookup(M1, 0)).toBe(0);
    expect(lookup(M2, 0)).toBe(B); // refreshed at 6 s: ages at 16 s
    ageFully(16_000);
    expect(lookup(M2, 0)).toBe(0);
    expect(statValue(Stat.MacAged) - aged).toBe(2);
  });

  it("does bounded work per call and keeps every survivor reachable", () => {
    fresh(512, 10_000);
    for (let i: u64 = 1; i <= 300; i++) {
      learnLocal(0x0200_0000_0000 + i, <u32>(i % 3), i & 1 ? 0 : 20_000);
    }
    let removed = 0;
    let calls = 0;
    while (removed < 150) {
      const r = age(25_000, 7);
      expect(r).toBeLessThanOrEqual(7);
      removed += r;
      calls++;
      for (let i: u64 = 2; i <= 300; i += 2) expect(lookup(0x0200_0000_0000 + i, <u32>(i % 3))).toBe(SELF);
    }
    expect(removed).toBe(150);
    expect(calls).toBeGreaterThan(20);
    expect(macEntries()).toBe(150);
  });

  it("ageTick sweeps the whole table within macAgeingMs of calls", () => {
    for (let i: u64 = 1; i <= 50; i++) learnLocal(0x0200_0000_0000 + i, 0, 0);
    let t: f64 = 0;
    while (t < 20_000) {
      t += 100;
      ageTick(t);
    }
    expect(macEntries()).toBe(0);
  });
});

describe("capacity", () => {
  it("learns no more than macCapacity entries and counts the rest", () => {
    fresh(16);
    const full = statValue(Stat.MacTableFull);
    let learned = 0;
    for (let i: u64 = 1; i <= 20; i++) if (learnLocal(0x0200_0000_0000 + i, 0, 0)) learned++;
    expect(learned).toBe(16);
    expect(macEntries()).toBe(16);
    expect(lookup(0x0200_0000_0000 + 20, 0)).toBe(0);
    expect(applyRemote(0x0200_0000_0000 + 21, 0, B, 1, 0)).toBe(false);
    expect(statValue(Stat.MacTableFull) - full).toBe(5);
    // Known entries still change when full.
    expect(applyRemote(0x0200_0000_0001, 0, B, 2, 0)).toBe(true);
  });

  it("grows when the capacity is raised after creation and stops inserts when lowered", () => {
    fresh(16);
    for (let i: u64 = 1; i <= 16; i++) learnLocal(0x0200_0000_0000 + i, 0, 0);
    config.macCapacity = 100;
    for (let i: u64 = 17; i <= 100; i++) expect(learnLocal(0x0200_0000_0000 + i, 0, 0)).toBe(true);
    for (let i: u64 = 1; i <= 100; i++) expect(lookup(0x0200_0000_0000 + i, 0)).toBe(SELF);
    config.macCapacity = 50;
    expect(learnLocal(0x0200_0000_0000 + 101, 0, 0)).toBe(false);
    expect(macEntries()).toBe(100);
  });

  it("holds what was learnt, not the capacity: starts at 1024 slots and doubles past half full", () => {
    fresh(65536);
    expect(macSlots()).toBe(1024);
    for (let i: u64 = 1; i <= 512; i++) learnLocal(0x0200_0000_0000 + i, 0, 0);
    expect(macSlots()).toBe(1024);
    learnLocal(0x0200_0000_0000 + 513, 0, 0);
    expect(macSlots()).toBe(2048);
    for (let i: u64 = 514; i <= 3000; i++) applyRemote(0x0200_0000_0000 + i, 0, B, 1, 0);
    expect(macSlots()).toBe(8192);
    for (let i: u64 = 1; i <= 3000; i++) expect(lookup(0x0200_0000_0000 + i, 0)).toBe(i <= 513 ? SELF : B);
  });
});

const sig = heap.alloc(64);
/** A stand-in signature for entry i at `version`: 32 bytes of i, 32 of i + version. */
function sigFor(i: u32, version: u32): usize {
  for (let b = 0; b < 64; b++) store<u8>(sig + b, <u8>(b < 32 ? i : i + version));
  return sig;
}
function holdsSig(mac: u64, i: u32, version: u32): bool {
  const s = macFind(mac, 0);
  return s >= 0 && slotSigned(s) && memory.compare(slotSignature(s), sigFor(i, version), 64) == 0;
}

describe("signatures", () => {
  it("stay with their entries through removals (cluster shifts), re-claims and a rehash, and records are reused", () => {
    fresh(64);
    for (let i: u32 = 0; i < 40; i++) {
      applyRemote(M1 + i, 0, i % 2 == 0 ? A : B, 1, 0);
      slotSetSignature(macFind(M1 + i, 0), sigFor(i, 1));
    }
    expect(dropOwner(A)).toBe(20); // every other entry: shifts the survivors' clusters
    for (let i: u32 = 1; i < 40; i += 2) expect(holdsSig(M1 + i, i, 1)).toBe(true);
    applyRemote(M1 + 1, 0, B, 2, 0); // a new claim: the old signature no longer applies
    expect(slotSigned(macFind(M1 + 1, 0))).toBe(false);
    for (let i: u32 = 0; i < 40; i += 2) { // the freed records are taken again
      applyRemote(M1 + 100 + i, 0, A, 3, 0);
      slotSetSignature(macFind(M1 + 100 + i, 0), sigFor(i + 100, 3));
    }
    const slots = macSlots();
    config.macCapacity = 1024;
    for (let i: u32 = 0; i < 500; i++) applyRemote(M2 + 0x1000 + i, 0, A, 1, 0); // past half full: a rehash
    expect(macSlots()).toBeGreaterThan(slots);
    for (let i: u32 = 3; i < 40; i += 2) expect(holdsSig(M1 + i, i, 1)).toBe(true);
    for (let i: u32 = 0; i < 40; i += 2) expect(holdsSig(M1 + 100 + i, i + 100, 3)).toBe(true);
    expect(slotSigned(macFind(M2 + 0x1000, 0))).toBe(false);
  });
});

describe("dump", () => {
  it("pages OUT_MAC records through a full output region, each entry exactly once", () => {
    fresh(32768);
    const n: u32 = 30000; // more than one output region holds
    for (let i: u32 = 0; i < n; i++) {
      if (i % 2 == 0) learnLocal(0x0200_0000_0000 + <u64>i, i % 4096, 100);
      else applyRemote(0x0200_0000_0000 + <u64>i, i % 4096, 1000 + <u64>i, i, 100);
    }
    const seenMac = new StaticArray<u8>(n);
    let pages = 0;
    let records: u32 = 0;
    let from = 0;
    do {
      outputReset();
      from = macDump(from, 250);
      pages++;
      let off: u32 = 0;
      while (off < outputLength()) {
        const rec = outputBase + off;
        if (load<u16>(rec + REC_KIND) != OUT_MAC || load<u32>(rec + REC_LEN) != DUMP_LEN) { expect(off).toBe(u32.MAX_VALUE); break; }
        const body = rec + REC_HEADER;
        const i = <u32>(getMac(body + DUMP_MAC) - 0x0200_0000_0000);
        if (i >= n || seenMac[i] != 0) { expect(i).toBe(u32.MAX_VALUE); break; }
        seenMac[i] = 1;
        records++;
        const ok = load<u16>(body + DUMP_VLAN) == i % 4096 && load<f64>(body + DUMP_AGE) == 150 &&
          (i % 2 == 0
            ? load<u64>(body + DUMP_OWNER) == SELF && load<u32>(body + DUMP_VERSION) == 1 && load<u8>(body + DUMP_KIND) == MAC_LOCAL
            : load<u64>(body + DUMP_OWNER) == 1000 + <u64>i && load<u32>(body + DUMP_VERSION) == i && load<u8>(body + DUMP_KIND) == MAC_REMOTE);
        if (!ok) { expect(i).toBe(u32.MAX_VALUE); break; }
        off += alignUp(REC_HEADER + DUMP_LEN);
      }
    } while (from != 0);
    expect(records).toBe(n);
    expect(pages).toBeGreaterThan(1);
  });
});

describe("dropOwner", () => {
  it("removes exactly the learnt entries of that owner", () => {
    fresh(256);
    for (let i: u64 = 1; i <= 200; i++) {
      const owner: u64 = i % 4 == 0 ? SELF : 10 + (i % 4);
      if (owner == SELF) learnLocal(0x0200_0000_0000 + i, 0, 0);
      else applyRemote(0x0200_0000_0000 + i, 0, owner, 1, 0);
    }
    const dropped = statValue(Stat.MacDroppedOwner);
    expect(dropOwner(11)).toBe(50);
    expect(statValue(Stat.MacDroppedOwner) - dropped).toBe(50);
    for (let i: u64 = 1; i <= 200; i++) {
      const owner: u64 = i % 4 == 0 ? SELF : 10 + (i % 4);
      expect(lookup(0x0200_0000_0000 + i, 0)).toBe(owner == 11 ? 0 : owner);
    }
    expect(dropOwner(11)).toBe(0);
  });
});

// A reference model: the same rules over a Map, compared after every operation.
class ModelEntry {
  constructor(public owner: u64, public version: u32, public seen: f64, public kind: u8) {}
}

let rng: u32 = 0x12345678;
function rand(n: u32): u32 {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng % n;
}

function key(mac: u64, vlan: u32): u64 { return (<u64>vlan << 48) | mac; }

function modelInsertable(model: Map<u64, ModelEntry>, k: u64): bool {
  return model.has(k) || <u32>model.size < config.macCapacity;
}

/** Number of keys on which the table and the model disagree (expectations are slow: count first). */
function mismatches(model: Map<u64, ModelEntry>, macs: u32, vlans: u32): i32 {
  let bad = 0;
  for (let m: u32 = 0; m < macs; m++) {
    for (let v: u32 = 0; v < vlans; v++) {
      const mac = 0x0200_0000_0000 + <u64>m * 0x1_0001;
      const k = key(mac, v);
      const s = macFind(mac, v);
      if (model.has(k)) {
        const e = model.get(k);
        if (s < 0 || slotOwner(s) != e.owner || slotVersion(s) != e.version || slotKind(s) != e.kind) bad++;
        else if (slotMac(s) != mac || slotVlan(s) != v || lookup(mac, v) != e.owner) bad++;
      } else if (s >= 0 || lookup(mac, v) != 0) {
        bad++;
      }
    }
  }
  return bad;
}

function modelRun(capacity: u32, macs: u32, vlans: u32, steps: i32): void {
  fresh(capacity, 1000);
  const model = new Map<u64, ModelEntry>();
  let now: f64 = 0;
  for (let step = 0; step < steps; step++) {
    now += <f64>rand(50);
    const mac = 0x0200_0000_0000 + <u64>rand(macs) * 0x1_0001;
    const vlan = rand(vlans);
    const k = key(mac, vlan);
    const owner: u64 = rand(4) == 0 ? SELF : <u64>(1 + rand(8)) * 2; // even ids: 2..16, SELF is 5
    const version: u32 = rand(4) + 1;
    const op = rand(100);
    if (op < 40) {
      learnLocal(mac, vlan, now);
      if (model.has(k)) {
        const e = model.get(k);
        if (e.kind == MAC_LOCAL) e.seen = now;
        else if (e.kind == MAC_REMOTE) { e.owner = SELF; e.version++; e.seen = now; e.kind = MAC_LOCAL; }
      } else if (modelInsertable(model, k)) {
        model.set(k, new ModelEntry(SELF, 1, now, MAC_LOCAL));
      }
    } else if (op < 80) {
      applyRemote(mac, vlan, owner, version, now);
      const kind = MAC_REMOTE;
      if (owner == SELF) {
        // Our own claim: only a higher version of a MAC behind our TAP.
        if (model.has(k) && model.get(k).kind == MAC_LOCAL && version > model.get(k).version) model.get(k).version = version;
      } else if (model.has(k)) {
        const e = model.get(k);
        if (version == e.version && owner == e.owner) {
          e.seen = now;
        } else if (version > e.version || (version == e.version && owner > e.owner)) {
          e.owner = owner; e.version = version; e.seen = now; e.kind = kind;
        }
      } else if (modelInsertable(model, k)) {
        model.set(k, new ModelEntry(owner, version, now, kind));
      }
    } else if (op < 85) {
      const victim: u64 = <u64>(1 + rand(8)) * 2;
      dropOwner(victim);
      const ks = model.keys();
      for (let i = 0; i < ks.length; i++) {
        const e = model.get(ks[i]);
        if (e.owner == victim) model.delete(ks[i]);
      }
    } else if (op < 90) {
      ageFully(now);
      const ks = model.keys();
      for (let i = 0; i < ks.length; i++) {
        const e = model.get(ks[i]);
        if (e.seen <= now - config.macAgeingMs) model.delete(ks[i]);
      }
    } else {
      age(now, 1 + <i32>rand(8)); // partial sweeps: only survivors are checked below
      const ks = model.keys();
      for (let i = 0; i < ks.length; i++) {
        const kk = ks[i];
        if (lookup(kk & 0xffff_ffff_ffff, <u32>(kk >> 48)) == 0) {
          expect(model.get(kk).seen <= now - config.macAgeingMs).toBe(true);
          model.delete(kk);
        }
      }
    }
    expect(mismatches(model, macs, vlans)).toBe(0);
    expect(<i32>macEntries()).toBe(model.size);
    expect(macEntries()).toBeLessThanOrEqual(config.macCapacity);
  }
}

describe("random operation sequences agree with a reference model", () => {
  it("with room to spare", () => { modelRun(256, 40, 3, 3000); });
  it("at the capacity limit", () => { modelRun(32, 30, 3, 3000); });
  it("with a tiny, crowded table", () => { modelRun(16, 8, 3, 3000); });
});
