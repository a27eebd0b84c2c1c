import { mixEntropy, nextBelow, nextU32 } from "../../assembly/prng";

describe("prng", () => {
  it("is deterministic for the same entropy and stays in range", () => {
    const buf = heap.alloc(4);
    store<u32>(buf, 0xdeadbeef);
    mixEntropy(buf, 4);
    const a = nextU32();
    for (let i = 0; i < 1000; i++) expect(nextBelow(7)).toBeLessThan(7);
    expect(a).not.toBe(nextU32());
  });
});
