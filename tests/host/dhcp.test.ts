// `divs up --dhcp*` flags to core config keys, and dhcp_dump records to leases, on a real core.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { OUT_DHCP_SAVE } from "../../host/core/abi.ts";
import { Core } from "../../host/core/core.ts";
import { claimCrypto } from "../../host/secure/claims.ts";
import { Identity } from "../../host/secure/identity.ts";
import { nodeCrypto } from "../../host/secure/node-crypto.ts";
import { decodeDhcpState, dhcpSaver, encodeDhcpState } from "../../host/state/dhcp-state.ts";
import type { StateStore } from "../../host/state/state-dir.ts";
import { DHCP_KEYS, type DhcpState, decodeDhcpRecord, dhcpConfig } from "../../host/engine/dhcp.ts";
import { DivsError } from "../../host/base/errors.ts";

const base = { leaseS: 600, prefixLen: 24, tapMtu: 1400, seed: true };

test("--dhcp START-END becomes the pool's start and size, with the options", () => {
  const c = dhcpConfig({ ...base, pool: "198.18.0.100-198.18.0.199", router: "198.18.0.1", dns: "198.18.0.2,198.18.0.3" });
  assert.equal(c.get(DHCP_KEYS.poolStart), 0xc6120064);
  assert.equal(c.get(DHCP_KEYS.poolSize), 100);
  assert.equal(c.get(DHCP_KEYS.router), 0xc6120001);
  assert.equal(c.get(DHCP_KEYS.dns2), 0xc6120003);
  assert.equal(c.get(DHCP_KEYS.mtu), 1400);
  assert.equal(c.get(DHCP_KEYS.seed), 1);
});

test("bad pools and addresses are usage errors", () => {
  for (const pool of ["198.18.0.100", "198.18.0.199-198.18.0.100", "198.18.0.1-198.19.0.1", "198.18.0.300-198.18.0.301"]) {
    assert.throws(() => dhcpConfig({ ...base, pool }), DivsError, pool);
  }
  assert.throws(() => dhcpConfig({ ...base, pool: "198.18.0.100-198.18.0.101", dns: "1.1.1.1,2.2.2.2,3.3.3.3" }), DivsError);
});

test("a seeded core dumps its ranges, owned by itself", async () => {
  const core = await Core.load(readFileSync("build/divs-core.wasm"));
  core.useClaims(claimCrypto(nodeCrypto, Identity.generate(nodeCrypto)));
  for (const [k, v] of dhcpConfig({ ...base, pool: "198.18.0.100-198.18.0.109" })) assert.ok(core.configSet(k, v), `key ${k}`);
  const id = new Uint8Array(8);
  id[0] = 7; // node id 7, little-endian
  core.pushIdentity(id, new Uint8Array(18), "n");
  core.process(1000, () => {});
  const state: DhcpState = { ranges: [], leases: [] };
  core.dhcp((kind, body) => decodeDhcpRecord(kind, body, state));
  assert.equal(state.ranges.reduce((n, r) => n + r.size, 0), 10);
  assert.ok(state.ranges.every((r) => r.owner === "0000000000000007"));
  assert.equal(state.ranges[0].first, "198.18.0.100");
});

test("a seeded core's saved state restores into a new core under another id, which re-owns the pool", async () => {
  const load = async (idByte: number) => {
    const core = await Core.load(readFileSync("build/divs-core.wasm"));
    core.useClaims(claimCrypto(nodeCrypto, Identity.generate(nodeCrypto)));
    for (const [k, v] of dhcpConfig({ ...base, pool: "198.18.0.100-198.18.0.109" })) core.configSet(k, v);
    const id = new Uint8Array(8);
    id[0] = idByte;
    core.pushIdentity(id, new Uint8Array(18), "n");
    return core;
  };
  const first = await load(7);
  let asked = false;
  first.process(1000, (kind) => (asked ||= kind === OUT_DHCP_SAVE));
  assert.ok(asked, "seeding the pool is a change to keep: OUT_DHCP_SAVE");
  const file = encodeDhcpState(first.dhcpState(), 5_000);
  const saved = decodeDhcpState(file, 65_000);
  assert.ok(typeof saved !== "string", String(saved));
  assert.equal(saved.elapsedMs, 60_000);

  const second = await load(9);
  second.configSet(DHCP_KEYS.seed, 0); // it joined once: no seed of its own
  for (const chunk of saved.chunks) second.pushDhcpRestore(saved.elapsedMs, chunk);
  second.process(1000, () => {});
  const state: DhcpState = { ranges: [], leases: [] };
  second.dhcp((kind, body) => decodeDhcpRecord(kind, body, state));
  assert.equal(state.ranges.reduce((n, r) => n + r.size, 0), 10);
  assert.ok(state.ranges.every((r) => r.owner === "0000000000000009"), JSON.stringify(state.ranges));
});

test("a state file of another format or cut short is refused with a reason", () => {
  const file = encodeDhcpState([new Uint8Array(12)], 1000);
  assert.match(String(decodeDhcpState(file.subarray(0, file.length - 1), 2000)), /truncated/);
  const other = file.slice();
  other[8] = 2;
  assert.match(String(decodeDhcpState(other, 2000)), /format 2/);
  assert.match(String(decodeDhcpState(new TextEncoder().encode("hello"), 2000)), /not a DiVS DHCP state file/);
  const back = decodeDhcpState(file, 500); // the clock went back: no time elapsed
  assert.ok(typeof back !== "string" && back.elapsedMs === 0 && back.chunks[0].length === 12);
});

test("a failing state write is logged once until a write succeeds again", () => {
  const warnings: string[] = [];
  let full = true;
  const written: Uint8Array[] = [];
  const store: StateStore = {
    dir: "/s", read: () => null,
    write: (_name, bytes) => { if (full) throw new Error("ENOSPC"); written.push(bytes); },
  };
  const save = dhcpSaver(store, { info: () => {}, warn: (m) => warnings.push(m) });
  save([new Uint8Array(8)]);
  save([new Uint8Array(8)]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /cannot save the DHCP state in \/s: ENOSPC/);
  full = false;
  save([new Uint8Array(8)]);
  assert.equal(written.length, 1);
  full = true;
  save([new Uint8Array(8)]);
  assert.equal(warnings.length, 2);
});
