// Byte-level mutations (flip, insert, delete, truncate, splice) as a fast-check
// arbitrary of operations, applied to seeds chosen at run time: positions are
// drawn as integers and taken modulo the seed's length, so one generated
// mutation applies to any seed, including datagrams the core emitted earlier.
import fc from "./fc.mjs";

const at = fc.nat();

const opArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("flip"), at, bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("set"), at, byte: fc.constantFrom(0, 1, 0x7f, 0x80, 0xff) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("insert"), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete"), at, n: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("truncate"), at }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("splice"), at, from: fc.nat(), other: fc.nat() }) },
);

export const mutationArb = fc.array(opArb, { minLength: 1, maxLength: 4 });

/** Applies `ops` to a copy of `seed`; `pick(i)` returns another seed for splices. */
export function mutate(seed, ops, pick) {
  let b = Uint8Array.from(seed);
  for (const m of ops) {
    const i = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.op) {
      case "flip":
        if (b.length) b[i % b.length] ^= 1 << m.bit;
        break;
      case "set":
        if (b.length) b[i % b.length] = m.byte;
        break;
      case "insert":
        b = Uint8Array.from([...b.subarray(0, i), ...m.bytes, ...b.subarray(i)]);
        break;
      case "delete":
        b = Uint8Array.from([...b.subarray(0, i), ...b.subarray(i + m.n)]);
        break;
      case "truncate":
        b = b.slice(0, i);
        break;
      case "splice": {
        const other = pick(m.other);
        const from = other.length === 0 ? 0 : m.from % other.length;
        b = Uint8Array.from([...b.subarray(0, i), ...other.subarray(from)]);
        break;
      }
    }
  }
  return b;
}
