// `divs up --dhcp*` flags to core config keys, and dhcp_dump records to leases, on a real core.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Core } from "../../host/common/core.ts";
import { claimCrypto } from "../../host/common/secure/claims.ts";
import { Identity } from "../../host/common/secure/identity.ts";
import { nodeCrypto } from "../../host/common/secure/node-crypto.ts";
import { DHCP_KEYS, type DhcpState, decodeDhcpRecord, dhcpConfig } from "../../host/common/dhcp.ts";
import { DivsError } from "../../host/common/errors.ts";

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
