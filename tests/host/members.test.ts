// OUT_MEMBER records as `divs members` shows them: the path MTU at offset 20 becomes the underlay
// IP MTU (datagram + 30 sealing + UDP 8 + IPv4 20 or IPv6 40), "-" and null where there is none; the
// path columns come from paths_dump (host/engine/control.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ADDR_SLOT } from "../../host/core/abi.ts";
import { decodeMember } from "../../host/core/records.ts";
import { formatMembers } from "../../host/cli/format.ts";

const SELF_ID = "0000000000000001";

/** An OUT_MEMBER body (assembly/membership/membership.ts MEMBER_*) for member `id` at `addr` (18 bytes). */
function memberRecord(id: number, maxDatagram: number, addr: number[], name: string): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const b = new Uint8Array(32 + ADDR_SLOT + nameBytes.length);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(id), true);
  v.setUint32(8, 3, true);
  v.setUint32(20, maxDatagram, true);
  b.set(addr, 32);
  b.set(nameBytes, 32 + ADDR_SLOT);
  return b;
}

const V4 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 2, 0x12, 0xb6];
const V6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x12, 0xb6];

test("decodeMember turns the path MTU into the underlay IP MTU for IPv4 and IPv6 peers", () => {
  const v4 = decodeMember(memberRecord(2, 1440, V4, "b"), SELF_ID);
  assert.equal(v4.maxDatagram, 1440);
  assert.equal(v4.pmtu, 1440 + 30 + 28);
  const v6 = decodeMember(memberRecord(3, 1202, V6, "c"), SELF_ID);
  assert.equal(v6.pmtu, 1280);
  const self = decodeMember(memberRecord(1, 0, V4, "a"), SELF_ID);
  assert.equal(self.pmtu, null);
});

test("divs members shows PMTU, PATH, ENDPOINT and RTT columns, '-' for self", () => {
  const none = { path: null, via: null, endpoint: null, rtt_ms: null };
  const table = formatMembers([
    { ...decodeMember(memberRecord(1, 0, V4, "a"), SELF_ID), ...none },
    { ...decodeMember(memberRecord(2, 1440, V4, "b"), SELF_ID), path: "direct", via: null, endpoint: "203.0.113.2:40001", rtt_ms: 0.42 },
    { ...decodeMember(memberRecord(3, 1420, V4, "c"), SELF_ID), path: "relay", via: "pub", endpoint: "203.0.113.10:7946", rtt_ms: 0.9 },
    { ...decodeMember(memberRecord(4, 1440, V4, "d"), SELF_ID), path: "unknown", via: null, endpoint: null, rtt_ms: null },
  ]);
  const [header, self, direct, relayed, unknown] = table.split("\n");
  assert.match(header, /PMTU\s+PATH\s+ENDPOINT\s+RTT$/);
  assert.match(self, /\s-\s+-\s+-\s+-$/);
  assert.match(direct, /\s1498\s+direct\s+203\.0\.113\.2:40001\s+0\.4 ms$/);
  assert.match(relayed, /\srelay via pub\s+203\.0\.113\.10:7946\s+0\.9 ms$/);
  assert.match(unknown, /\sunknown\s+-\s+-$/);
});
