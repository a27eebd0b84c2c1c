// This node's identity and the clock as last told by the host.
import { ADDR_LEN } from "./abi";

export class Self {
  id: u64 = 0;
  readonly addr: usize = heap.alloc(ADDR_LEN);
  name: string = "";
  /** Milliseconds, monotonic, from the host's latest `process` call. */
  now: f64 = 0;
}

export const self = new Self();
