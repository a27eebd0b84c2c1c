// Network keys (docs/security.md "Keys"): several accepted keys named by key id, one primary used for
// new handshakes. Rotation: install the new key everywhere, make it primary everywhere, remove the old.
import { fromBase64, fromHex, readU32, toBase64Url, utf8 } from "./bytes.ts";
import type { CryptoProvider } from "./provider.ts";

export const KEY_LEN = 32;
const KEY_ID_LABEL = utf8("divs key id");

export interface NetworkKey {
  /** First 4 bytes of SHA-256("divs key id" || key), as a u32. */
  readonly id: number;
  readonly key: Uint8Array;
}

export function keyIdOf(crypto: CryptoProvider, key: Uint8Array): number {
  return readU32(crypto.sha256(KEY_ID_LABEL, key), 0);
}

/** Key ids print as 8 hex digits. */
export function formatKeyId(id: number): string {
  return id.toString(16).padStart(8, "0");
}

export function parseKeyId(text: string): number {
  if (!/^[0-9a-fA-F]{8}$/.test(text)) throw new Error(`not a key id: "${text}" (expected 8 hex digits)`);
  return parseInt(text, 16);
}

/** A fresh random network key (`divs keygen`). */
export function generateKey(crypto: CryptoProvider): Uint8Array {
  const key = new Uint8Array(KEY_LEN);
  crypto.randomFill(key);
  return key;
}

/** Keys print as unpadded base64url (43 characters). */
export function formatKey(key: Uint8Array): string {
  return toBase64Url(key);
}

/** Accepts base64url or base64 (43/44 characters) or hex (64 digits); throws a one-line message otherwise. */
export function parseKey(text: string): Uint8Array {
  const t = text.trim();
  const key = t.length === 2 * KEY_LEN ? fromHex(t) : fromBase64(t);
  if (!key || key.length !== KEY_LEN) {
    throw new Error("not a network key: expected 32 bytes as base64url (43 characters) or hex (64 digits)");
  }
  return key;
}

export class Keyring {
  private readonly keys = new Map<number, NetworkKey>();
  private primaryId: number;

  constructor(private readonly crypto: CryptoProvider, primary: Uint8Array) {
    this.primaryId = this.install(primary);
  }

  /** Adds a key (idempotent) and returns its id. The primary is unchanged. */
  install(key: Uint8Array): number {
    if (key.length !== KEY_LEN) throw new Error(`a network key is ${KEY_LEN} bytes, got ${key.length}`);
    const id = keyIdOf(this.crypto, key);
    const known = this.keys.get(id);
    if (known && !known.key.every((v, i) => v === key[i])) throw new Error(`key id ${formatKeyId(id)} collides`);
    if (!known) this.keys.set(id, { id, key: Uint8Array.from(key) });
    return id;
  }

  /** Makes an installed key the primary: new handshakes use it. */
  use(id: number): void {
    if (!this.keys.has(id)) throw new Error(`no key ${formatKeyId(id)} in the keyring`);
    this.primaryId = id;
  }

  /** Removes a key. Refuses the primary (make another primary first) and, so, the last key. */
  remove(id: number): void {
    if (!this.keys.has(id)) throw new Error(`no key ${formatKeyId(id)} in the keyring`);
    if (id === this.primaryId) throw new Error(`key ${formatKeyId(id)} is the primary; make another key primary first`);
    this.keys.get(id)!.key.fill(0); // sessions keep their own keys; nothing else reads it
    this.keys.delete(id);
  }

  /** Makes `id` the primary and removes every other key (`divs remove`: nothing the removed node knew stays). */
  keepOnly(id: number): void {
    this.use(id);
    for (const other of [...this.keys.keys()]) if (other !== id) this.remove(other);
  }

  get primary(): NetworkKey {
    return this.keys.get(this.primaryId)!;
  }

  get(id: number): NetworkKey | undefined {
    return this.keys.get(id);
  }

  has(id: number): boolean {
    return this.keys.has(id);
  }

  get size(): number {
    return this.keys.size;
  }

  /** For `divs key list`: ids only, never key material. */
  list(): { id: string; primary: boolean }[] {
    return [...this.keys.keys()].map((id) => ({ id: formatKeyId(id), primary: id === this.primaryId }));
  }
}

