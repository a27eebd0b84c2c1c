// A recorded core trace: the calls into the core's exports, in order, with what they returned.
//   header  "DIVSTRC1"
//   entry   u8 tag, then
//     tag 1 (instance): u32 id                                — a fresh instance of the module
//     tag 2 (call):     u32 instance, u8 export name length, name, u8 argc, argc x f64,
//                       u32 input length, input bytes (INPUT_READERS: the input region),
//                       f64 result, u32 output length, output bytes (OUTPUT_FILLERS: the output region)
// Any runtime can replay it (replay.mjs) and compare each result and output byte for byte.
const MAGIC = "DIVSTRC1";
const TAG_INSTANCE = 1;
const TAG_CALL = 2;
/** Exports that read their first argument's worth of bytes from the input region. */
export const INPUT_READERS = new Set(["process", "codec_roundtrip"]);
/** Exports that return the length of what they wrote into the output region. */
export const OUTPUT_FILLERS = new Set(["process", "stats_dump", "members_dump", "macs_dump", "codec_roundtrip"]);

export class TraceWriter {
  chunks = [new TextEncoder().encode(MAGIC)];
  size = MAGIC.length;

  #push(bytes) {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  #u32(v) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.#push(b);
  }

  #f64(v) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, Number(v), true);
    this.#push(b);
  }

  #bytes(b) {
    this.#u32(b ? b.length : 0);
    if (b && b.length) this.#push(b.slice());
  }

  instance(id) {
    this.#push(Uint8Array.of(TAG_INSTANCE));
    this.#u32(id);
  }

  call(instance, name, args, input, result, output) {
    this.#push(Uint8Array.of(TAG_CALL));
    this.#u32(instance);
    const n = new TextEncoder().encode(name);
    this.#push(Uint8Array.of(n.length));
    this.#push(n);
    this.#push(Uint8Array.of(args.length));
    for (const a of args) this.#f64(a);
    this.#bytes(input);
    this.#f64(result ?? 0);
    this.#bytes(output);
  }

  finish() {
    const all = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      all.set(c, o);
      o += c.length;
    }
    return all;
  }
}

/** Yields {tag: "instance", id} and {tag: "call", instance, name, args, input, result, output}. */
export function* readTrace(bytes) {
  if (new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) throw new Error("not a DiVS core trace");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = MAGIC.length;
  const u32 = () => ((o += 4), view.getUint32(o - 4, true));
  const f64 = () => ((o += 8), view.getFloat64(o - 8, true));
  const u8 = () => bytes[o++];
  const take = (n) => ((o += n), bytes.subarray(o - n, o));
  while (o < bytes.length) {
    const tag = u8();
    if (tag === TAG_INSTANCE) {
      yield { tag: "instance", id: u32() };
    } else if (tag === TAG_CALL) {
      const instance = u32();
      const name = new TextDecoder().decode(take(u8()));
      const args = [];
      for (let n = u8(); n > 0; n--) args.push(f64());
      const input = take(u32());
      const result = f64();
      const output = take(u32());
      yield { tag: "call", instance, name, args, input, result, output };
    } else {
      throw new Error(`bad trace tag ${tag} at ${o - 1}`);
    }
  }
}
