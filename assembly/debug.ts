// The debug build's entry (build/divs-core.debug.wasm): the core's exports plus the fuzzer's codec
// round trip (tests/fuzz), which the release build (assembly/index.ts) does not carry.
import { INPUT_CAPACITY, OUTPUT_CAPACITY } from "./abi";
import { input_ptr } from "./index";
import { outputBase, outputReset } from "./queue";
import { codecRoundtrip } from "./roundtrip";

export * from "./index";

/** Decodes the message in the input region and re-encodes it into the output region; 0 when rejected. */
export function codec_roundtrip(len: u32): u32 {
  outputReset();
  return len > INPUT_CAPACITY ? 0 : codecRoundtrip(input_ptr(), len, outputBase, OUTPUT_CAPACITY);
}
