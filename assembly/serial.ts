// Serial-number arithmetic (RFC 1982) on u32 counters that may wrap: incarnations, MAC and IP
// binding versions. `a` is newer than `b` when it is less than 2^31 steps ahead of it, so no value
// is newer than every other: a claim pushed to 0xFFFFFFFF is beaten by the next one (0 or 1).

/** `a` is newer than `b`. */
// @ts-ignore: decorator
@inline export function serialNewer(a: u32, b: u32): bool { return <i32>(a - b) > 0; }

/** The version after `v`, skipping 0 (0 means "no version" in the tables). */
// @ts-ignore: decorator
@inline export function nextVersion(v: u32): u32 { return v == u32.MAX_VALUE ? 1 : v + 1; }
