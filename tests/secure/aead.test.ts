import assert from "node:assert/strict";
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, randomInt } from "node:crypto";
import { test } from "node:test";
import { ChaChaKey, open, poly1305, seal } from "../../host/secure/chacha20poly1305.ts";
import { nodeCrypto, SMALL_AEAD_MAX, SplitAeadKey } from "../../host/secure/node-crypto.ts";

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const ascii = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, "latin1"));

const SUNSCREEN = ascii("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");

/** Seals with the small-datagram module into a fresh buffer: ciphertext then tag. */
function moduleSeal(raw: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(plaintext.length + 16);
  seal(new ChaChaKey(raw), nonce, aad, plaintext, out, 0);
  return out;
}

function moduleOpen(raw: Uint8Array, nonce: Uint8Array, aad: Uint8Array, packet: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(Math.max(0, packet.length - 16));
  return open(new ChaChaKey(raw), nonce, aad, packet, 0, packet.length, out, 0) ? out : null;
}

/** node:crypto itself, as the reference: ciphertext then tag. */
function referenceSeal(raw: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const c = createCipheriv("chacha20-poly1305", raw, nonce, { authTagLength: 16 });
  c.setAAD(aad, { plaintextLength: plaintext.length });
  return Uint8Array.from(Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]));
}

function referenceOpen(raw: Uint8Array, nonce: Uint8Array, aad: Uint8Array, packet: Uint8Array): Uint8Array | null {
  const d = createDecipheriv("chacha20-poly1305", raw, nonce, { authTagLength: 16 });
  d.setAAD(aad, { plaintextLength: packet.length - 16 });
  d.setAuthTag(packet.subarray(packet.length - 16));
  const body = d.update(packet.subarray(0, packet.length - 16));
  try {
    d.final();
  } catch {
    return null;
  }
  return Uint8Array.from(body);
}

test("ChaCha20 encryption matches RFC 8439 2.4.2 (the AEAD's ciphertext starts at block counter 1)", () => {
  const key = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  const nonce = hex("000000000000004a00000000");
  const sealed = moduleSeal(key, nonce, new Uint8Array(0), SUNSCREEN);
  assert.equal(toHex(sealed.subarray(0, SUNSCREEN.length)), `
    6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b
    f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8
    07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736
    5af90bbf74a35be6b40b8eedf2785e42874d`.replace(/\s+/g, ""));
});

test("Poly1305 matches RFC 8439 2.5.2", () => {
  const key = hex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
  const tag = new Uint8Array(20);
  poly1305(key, ascii("Cryptographic Forum Research Group"), tag, 3);
  assert.equal(toHex(tag.subarray(3, 19)), "a8061dc1305136c6c22b8baf0c0127a9");
});

test("Poly1305 gets RFC 8439 A.3's carry and final-reduction cases (#5-#11) right", () => {
  // Random inputs almost never land within 5 of 2^130 - 5; these are built to.
  const zero = "00".repeat(16);
  const r1 = `01${"00".repeat(15)}`, r2 = `02${"00".repeat(15)}`, r4 = "0100000000000000" + "0400000000000000";
  const cases: [string, string, string][] = [
    [r2 + zero, "ff".repeat(16), "03000000000000000000000000000000"],
    [r2 + "ff".repeat(16), "02000000000000000000000000000000", "03000000000000000000000000000000"],
    [r1 + zero, "ff".repeat(16) + "f0" + "ff".repeat(15) + "11" + "00".repeat(15), "05000000000000000000000000000000"],
    [r1 + zero, "ff".repeat(16) + "fb" + "fe".repeat(15) + "01".repeat(16), zero],
    [r2 + zero, "fd" + "ff".repeat(15), "faffffffffffffffffffffffffffffff"],
    [r4 + zero, "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000" + zero + "01" + "00".repeat(15), "14000000000000005500000000000000"],
    [r4 + zero, "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000" + zero, "13000000000000000000000000000000"],
  ];
  cases.forEach(([key, message, want], i) => {
    const tag = new Uint8Array(16);
    poly1305(hex(key), hex(message), tag, 0);
    assert.equal(toHex(tag), want, `A.3 #${i + 5}`);
  });
});

test("the AEAD matches RFC 8439 2.8.2 and opens its own output", () => {
  const key = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  const nonce = hex("070000004041424344454647");
  const aad = hex("50515253c0c1c2c3c4c5c6c7");
  const sealed = moduleSeal(key, nonce, aad, SUNSCREEN);
  assert.equal(toHex(sealed), `
    d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
    3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
    92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
    3ff4def08e4b7a9de576d26586cec64b6116
    1ae10b594f09e26a7e902ecbd0600691`.replace(/\s+/g, ""));
  assert.deepEqual(moduleOpen(key, nonce, aad, sealed), SUNSCREEN);
});

test("the AEAD opens RFC 8439 A.5's decryption vector and seals its plaintext back to it", () => {
  const key = hex("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
  const nonce = hex("000000000102030405060708");
  const aad = hex("f33388860000000000004e91");
  const packet = hex(`
    64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2
    4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf
    332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855
    9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4
    b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e
    af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a
    0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10
    49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29
    a6ad5cb4022b02709b
    eead9d67890cbb22392336fea1851f38`);
  const plaintext = moduleOpen(key, nonce, aad, packet);
  assert.ok(plaintext !== null, "the vector did not authenticate");
  assert.equal(
    Buffer.from(plaintext).toString("utf8"),
    "Internet-Drafts are draft documents valid for a maximum of six months and may be updated, replaced, or obsoleted " +
      "by other documents at any time. It is inappropriate to use Internet-Drafts as reference material or to cite " +
      "them other than as /\u201cwork in progress./\u201d",
  );
  assert.deepEqual(moduleSeal(key, nonce, aad, plaintext), packet);
});

test("the small-datagram AEAD module and node:crypto agree byte for byte, both ways, at every length 0..3000 and any offset", () => {
  for (let length = 0; length <= 3000; length++) {
    const raw = randomBytes(32);
    const nonce = randomBytes(12);
    const aad = randomBytes(randomInt(0, 48));
    // Views at odd offsets into larger buffers, as the transport passes them.
    const plaintextOffset = randomInt(0, 8);
    const plaintext = randomBytes(plaintextOffset + length).subarray(plaintextOffset);
    const reference = referenceSeal(raw, nonce, aad, plaintext);

    const outOffset = randomInt(0, 24);
    const out = new Uint8Array(outOffset + length + 16 + 3);
    seal(new ChaChaKey(raw), nonce, aad, plaintext, out, outOffset);
    const sealed = out.subarray(outOffset, outOffset + length + 16);
    assert.ok(Buffer.from(sealed).equals(reference), `JS seal differs from node:crypto at ${length} bytes`);
    assert.deepEqual(referenceOpen(raw, nonce, aad, sealed), Uint8Array.from(plaintext), `node:crypto cannot open JS at ${length}`);

    const opened = new Uint8Array(length + 5);
    const frame = new Uint8Array(7 + reference.length + 2);
    frame.set(reference, 7);
    assert.ok(open(new ChaChaKey(raw), nonce, aad, frame, 7, 7 + reference.length, opened, 5), `JS cannot open node:crypto at ${length}`);
    assert.ok(Buffer.from(opened.subarray(5)).equals(plaintext), `JS opened the wrong plaintext at ${length} bytes`);
  }
});

test("every single-bit flip of ciphertext, tag, aad or nonce is rejected, and nothing is written", () => {
  for (const length of [0, 1, 15, 16, 63, 64, 77]) {
    const raw = randomBytes(32);
    const key = new ChaChaKey(raw);
    const nonce = randomBytes(12);
    const aad = randomBytes(14);
    const packet = moduleSeal(raw, nonce, aad, randomBytes(length));
    const out = new Uint8Array(length).fill(0xee);
    const opens = (n: Uint8Array, a: Uint8Array, p: Uint8Array) => open(key, n, a, p, 0, p.length, out, 0);
    assert.ok(opens(nonce, aad, packet), "the unflipped packet must open");
    out.fill(0xee);
    for (const [name, bytes] of [["packet", packet], ["aad", aad], ["nonce", nonce]] as const) {
      for (let i = 0; i < bytes.length; i++) {
        for (let bit = 0; bit < 8; bit++) {
          bytes[i] ^= 1 << bit;
          assert.equal(opens(nonce, aad, packet), false, `${length} bytes: ${name} byte ${i} bit ${bit} accepted`);
          bytes[i] ^= 1 << bit;
        }
      }
    }
    assert.ok(out.every((b) => b === 0xee), "a rejected packet wrote plaintext");
    assert.ok(opens(nonce, aad, packet), "the restored packet must open again");
  }
  assert.equal(open(new ChaChaKey(randomBytes(32)), randomBytes(12), new Uint8Array(0), new Uint8Array(15), 0, 15, new Uint8Array(0), 0), false);
});

test("the provider switches paths at SMALL_AEAD_MAX, and both paths interoperate across it", () => {
  const rawBulk = randomBytes(32);
  const rawSmall = randomBytes(32);
  // A key whose two halves differ shows which path ran: only that half's key opens the result.
  const marked = new SplitAeadKey(createSecretKey(rawBulk), new ChaChaKey(rawSmall));
  const nonce = randomBytes(12);
  const aad = randomBytes(14);
  for (const length of [SMALL_AEAD_MAX - 1, SMALL_AEAD_MAX, SMALL_AEAD_MAX + 1]) {
    const expectSmall = length <= SMALL_AEAD_MAX;
    const plaintext = randomBytes(length);
    const out = new Uint8Array(length + 16);
    nodeCrypto.seal(marked, nonce, aad, plaintext, out, 0);
    assert.ok(Buffer.from(out).equals(referenceSeal(expectSmall ? rawSmall : rawBulk, nonce, aad, plaintext)), `seal of ${length} took the wrong path`);
    const underSmall = referenceSeal(rawSmall, nonce, aad, plaintext);
    const underBulk = referenceSeal(rawBulk, nonce, aad, plaintext);
    assert.equal(nodeCrypto.open(marked, nonce, aad, underSmall, 0, underSmall.length) !== null, expectSmall, `open of ${length} took the wrong path`);
    assert.equal(nodeCrypto.open(marked, nonce, aad, underBulk, 0, underBulk.length) !== null, !expectSmall, `open of ${length} took the wrong path`);

    // With one real key, what either path seals the other opens, inside a larger datagram.
    const raw = randomBytes(32);
    const key = nodeCrypto.aeadKey(raw);
    const datagram = new Uint8Array(14 + length + 16);
    nodeCrypto.seal(key, nonce, aad, plaintext, datagram, 14);
    assert.deepEqual(referenceOpen(raw, nonce, aad, datagram.subarray(14)), Uint8Array.from(plaintext));
    const fromReference = new Uint8Array(14 + length + 16);
    fromReference.set(referenceSeal(raw, nonce, aad, plaintext), 14);
    const opened = nodeCrypto.open(key, nonce, aad, fromReference, 14, fromReference.length);
    assert.ok(opened !== null && Buffer.from(opened).equals(plaintext), `provider cannot open ${length} bytes`);
    fromReference[20] ^= 1;
    assert.equal(nodeCrypto.open(key, nonce, aad, fromReference, 14, fromReference.length), null, `provider opened a flipped ${length}-byte datagram`);
  }
  const key = nodeCrypto.aeadKey(rawBulk);
  assert.equal(nodeCrypto.open(key, nonce, aad, new Uint8Array(15), 0, 15), null, "shorter than a tag");
});

test("open returns a fresh plaintext each time: an earlier result survives later opens", () => {
  const raw = randomBytes(32);
  const key = nodeCrypto.aeadKey(raw);
  const nonce = randomBytes(12);
  const aad = randomBytes(14);
  const results: Uint8Array[] = [];
  const plaintexts: Uint8Array[] = [];
  for (let i = 0; i < 4; i++) {
    const plaintext = randomBytes(100);
    const packet = referenceSeal(raw, nonce, aad, plaintext);
    results.push(nodeCrypto.open(key, nonce, aad, packet, 0, packet.length)!);
    plaintexts.push(plaintext);
  }
  results.forEach((r, i) => assert.ok(Buffer.from(r).equals(plaintexts[i]), `result ${i} was overwritten`));
});

test("an AAD or a message longer than the module's buffer is refused before anything is written", () => {
  const key = new ChaChaKey(randomBytes(32));
  const nonce = randomBytes(12);
  const out = new Uint8Array(40000).fill(0xaa);
  assert.throws(() => seal(key, nonce, new Uint8Array(65), new Uint8Array(16), out, 0), RangeError);
  assert.throws(() => seal(key, nonce, new Uint8Array(16), new Uint8Array(32769), out, 0), RangeError);
  assert.throws(() => open(key, nonce, new Uint8Array(16), new Uint8Array(32769 + 16), 0, 32769 + 16, out, 0), RangeError);
  assert.ok(out.every((b) => b === 0xaa), "the output was written");
  // The longest it takes still seals and opens.
  const longest = randomBytes(32768);
  const sealed = new Uint8Array(longest.length + 16);
  seal(key, nonce, new Uint8Array(64), longest, sealed, 0);
  assert.ok(open(key, nonce, new Uint8Array(64), sealed, 0, sealed.length, out, 0));
  assert.deepEqual(out.subarray(0, longest.length), new Uint8Array(longest));
});
