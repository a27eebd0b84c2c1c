// MAC table invariants through `macs_dump(from)` / `macs_dump_next()` (OUT_MAC
// records, layout in assembly/mactable.ts and docs/abi.md).
import { boundKey } from "./core.mjs";
import { OUT, readRecords } from "./records.mjs";

const DUMP_LEN = 32;
const DUMP_IP_LEN = 16; // then 16 bytes per bound address (assembly/bindings.ts)
const DUMP_IPS_MAX = 16;
const VLAN_MAX = 0x0fff;
const KINDS = new Set([1, 2, 3]); // local, remote, static
const REMOTE = 2;
const MAX_PAGES = 1 << 16;

const fail = (msg) => { throw new Error(`macs_dump: ${msg}`); };

/**
 * Dumps the whole table, page by page, checking every entry; returns the entry count. Every address
 * bound to another member's MAC must come from a claim of that member's the core checked the
 * signature of (`core.vouchedBindings`): forged and altered bindings never land.
 */
export function checkMacs(core, capacity) {
  const keys = new Set();
  let from = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const len = core.call("macs_dump", from);
    if (!(len >= 0 && len <= core.outputCapacity && len % 8 === 0)) fail(`returned ${len}`);
    const { records, error } = readRecords(core.output(len), len);
    if (error) fail(error);
    for (const r of records) {
      if (r.kind !== OUT.MAC || r.flags !== 0) fail(`record kind ${r.kind} flags ${r.flags} at ${r.offset}`);
      const ips = (r.body.length - DUMP_LEN) / DUMP_IP_LEN;
      if (!(Number.isInteger(ips) && ips >= 0 && ips <= DUMP_IPS_MAX)) fail(`OUT_MAC body of ${r.body.length} bytes`);
      const v = new DataView(r.body.buffer, r.body.byteOffset, DUMP_LEN);
      const mac = Buffer.from(r.body.subarray(0, 6)).toString("hex");
      const vlan = v.getUint16(6, true);
      const age = v.getFloat64(16, true);
      const kind = r.body[28];
      if (vlan > VLAN_MAX) fail(`${mac} vlan ${vlan}`);
      if (r.body[0] & 1) fail(`group MAC ${mac} in the table`);
      if (!KINDS.has(kind) || r.body[29] | r.body[30] | r.body[31]) fail(`${mac} kind bytes ${r.body.subarray(28).join(",")}`);
      if (!(Number.isFinite(age) && age >= 0)) fail(`${mac} age ${age}`);
      if (kind === REMOTE) {
        const owner = v.getBigUint64(8, true);
        for (let i = 0; i < ips; i++) {
          const ip = Buffer.from(r.body.subarray(DUMP_LEN + i * DUMP_IP_LEN, DUMP_LEN + (i + 1) * DUMP_IP_LEN)).toString("hex");
          if (!core.vouchedBindings.has(boundKey(mac, vlan, ip, owner))) fail(`${ip} bound to ${mac}/${vlan} of ${owner} without its signature`);
        }
      }
      const key = `${mac}/${vlan}`;
      if (keys.has(key)) fail(`duplicate entry ${key}`);
      keys.add(key);
    }
    from = core.call("macs_dump_next");
    if (from === 0) {
      if (keys.size > capacity) fail(`${keys.size} entries, capacity ${capacity}`);
      return keys.size;
    }
    if (records.length === 0) fail(`page at ${from} made no progress`);
  }
  fail(`more than ${MAX_PAGES} pages`);
}
