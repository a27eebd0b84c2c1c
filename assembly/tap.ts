// Writing a frame to our TAP: an OUT_FRAME record, after an empty virtio-net header ("nothing to
// do": the kernel checks the checksums itself) when the TAP has one.
import { OUT_FRAME } from "./abi";
import { config } from "./config";
import { outputReserve } from "./queue";
import { Stat, count } from "./stats";
import { VNET_HDR_LEN, vnetClear } from "./wire/vnet";

/** Reserves an OUT_FRAME for a `len`-byte frame and returns where the frame goes, or 0 when the output is full. */
export function tapReserve(len: u32): usize {
  const hdrLen = config.tapVnetHdr ? VNET_HDR_LEN : 0;
  const out = outputReserve(OUT_FRAME, hdrLen + len);
  if (out == 0) return 0;
  if (hdrLen != 0) vnetClear(out);
  count(Stat.FramesToTap);
  return out + hdrLen;
}

/** Writes the `len`-byte frame at `frame` to the TAP as it is. */
export function tapWrite(frame: usize, len: u32): void {
  const out = tapReserve(len);
  if (out != 0) memory.copy(out, frame, len);
}
