// `divs remove` (docs/security.md "Removing a node"): bans a member's identity switch-wide and moves the
// remaining members to a new network key in the keyring's two steps (install everywhere, then make it
// primary and drop every other key everywhere), so the removed node keeps nothing that still works.
// The messages travel as CONTROL on the sessions between the issuer and each member: sealed under keys
// bound to both identities, so only the member a session was made with reads the new key, and never
// sent to the removed identity, whose sessions are dropped first. Sans-IO like the transport: fed
// messages and time, it acts through RemovalHost.
import { readU32, writeU32 } from "./bytes.ts";
import { NODE_ID_LEN } from "./identity.ts";
import { formatKeyId, generateKey, KEY_LEN, type Keyring } from "./keyring.ts";
import type { CryptoProvider } from "./provider.ts";

// Every message: u8 kind, banned node id[8], u32 new key id; an OFFER then carries the new key.
export const OFFER = 1; // issuer -> member: ban this id, install this key
export const INSTALLED = 2; // member -> issuer: done
export const COMMIT = 3; // issuer -> member: make the new key primary, drop every other key
export const DONE = 4; // member -> issuer: done
const OFF_KIND = 0;
const OFF_BANNED = 1;
const OFF_KEY_ID = OFF_BANNED + NODE_ID_LEN; // 9
const OFF_KEY = OFF_KEY_ID + 4; // 13
export const REPLY_LEN = OFF_KEY; // 13: INSTALLED, COMMIT, DONE
export const OFFER_LEN = OFF_KEY + KEY_LEN; // 45

/** Each step is sent again this often (ms) to members that have not answered: a lost message costs this much. */
export const REMOVAL_RETRY_MS = 250;
/**
 * How long (ms) each step waits for every member to answer. Members still silent then are reported as
 * missed: a member that never installed the key is cut off when the others drop the old one (it needs
 * a new invitation), which a removal must accept rather than wait for forever.
 */
export const REMOVAL_STEP_MS = 5_000;

/** A remaining member the issuer moves to the new key. */
export interface RemovalTarget {
  /** Node id, 8 bytes. */
  id: Uint8Array;
  name: string;
  /** Its member address (18 bytes, docs/abi.md). */
  addr: Uint8Array;
}

export interface RemovalHost {
  /** Bans the identity with this node id here (transport, core, state directory); idempotent. */
  ban(nodeId: Uint8Array): void;
  /** The keyring dropped keys: sessions made with them are replaced now. */
  keysChanged(): void;
  /** Sends a CONTROL message to the member at `addr` (18 bytes); without a session it starts one. */
  send(addr: Uint8Array, message: Uint8Array): void;
}

export interface RemovalReport {
  /** The new primary key's id. */
  keyId: string;
  /** Names of the members that installed the new key and made it primary. */
  moved: string[];
  /** Names of the members that did not answer a step in time. */
  missed: string[];
}

interface Member {
  target: RemovalTarget;
  installed: boolean;
  done: boolean;
}

interface Run {
  banned: Uint8Array;
  key: Uint8Array;
  keyId: number;
  members: Member[];
  committed: boolean;
  stepDeadline: number;
  nextSend: number;
  finish(report: RemovalReport): void;
}

const sameId = (a: Uint8Array, b: Uint8Array): boolean => a.every((v, i) => v === b[i]);

export class Removals {
  private run: Run | null = null;
  /** Offers and commits handled as a member, for `divs status`. */
  handled = 0;

  constructor(
    private readonly crypto: CryptoProvider,
    private readonly keyring: Keyring,
    private readonly selfId: Uint8Array,
    private readonly host: RemovalHost,
  ) {}

  get running(): boolean {
    return this.run !== null;
  }

  /**
   * Removes the member with node id `banned`: bans it here, then moves `targets` (every other member
   * to keep) to a fresh key. `finish` runs once the last step is answered or timed out.
   */
  start(banned: Uint8Array, targets: RemovalTarget[], now: number, finish: (report: RemovalReport) => void): void {
    if (this.run !== null) throw new Error("a removal is under way on this node; try again when it is done");
    if (sameId(banned, this.selfId)) throw new Error("a node cannot remove itself; run divs remove on another member");
    const key = generateKey(this.crypto);
    const keyId = this.keyring.install(key);
    this.host.ban(banned);
    this.run = {
      banned: Uint8Array.from(banned), key, keyId, committed: false, stepDeadline: now + REMOVAL_STEP_MS, nextSend: now, finish,
      members: targets.filter((t) => !sameId(t.id, banned) && !sameId(t.id, this.selfId)).map((target) => ({ target, installed: false, done: false })),
    };
    this.tick(now);
  }

  /** The time (ms) by which tick() must run next. */
  nextTimer(): number {
    return this.run?.nextSend ?? Infinity;
  }

  /** Sends what is due and moves to the next step once every member answered or the step timed out. */
  tick(now: number): void {
    const run = this.run;
    if (run === null || now < run.nextSend) return;
    const waiting = run.members.filter((m) => (run.committed ? m.installed && !m.done : !m.installed));
    if (waiting.length > 0 && now < run.stepDeadline) {
      for (const m of waiting) this.sendStep(run, m.target.addr);
      run.nextSend = now + REMOVAL_RETRY_MS;
      return;
    }
    if (!run.committed) {
      run.committed = true;
      this.commit(run.keyId);
      run.stepDeadline = now + REMOVAL_STEP_MS;
      run.nextSend = now;
      this.tick(now);
      return;
    }
    this.run = null;
    run.key.fill(0);
    run.finish({
      keyId: formatKeyId(run.keyId),
      moved: run.members.filter((m) => m.done).map((m) => m.target.name),
      missed: run.members.filter((m) => !m.done).map((m) => m.target.name),
    });
  }

  /**
   * A CONTROL message from the member whose node id is `from`, at `fromAddr`. Any member may issue a
   * removal (membership is holding the network key, docs/security.md "Threat model"); malformed
   * messages, and offers to ban ourselves, are ignored.
   */
  message(from: Uint8Array, fromAddr: Uint8Array, m: Uint8Array, now: number): void {
    if (m.length < REPLY_LEN) return;
    const banned = m.subarray(OFF_BANNED, OFF_BANNED + NODE_ID_LEN);
    const keyId = readU32(m, OFF_KEY_ID);
    switch (m[OFF_KIND]) {
      case OFFER:
        if (m.length !== OFFER_LEN || sameId(banned, this.selfId) || sameId(banned, from)) return;
        this.host.ban(banned);
        try {
          if (this.keyring.install(m.subarray(OFF_KEY, OFF_KEY + KEY_LEN)) !== keyId) return;
        } catch {
          return; // a key id collision: no answer, the issuer reports us missed
        }
        this.handled++;
        this.host.send(fromAddr, encode(INSTALLED, banned, keyId));
        return;
      case COMMIT:
        if (!this.keyring.has(keyId)) return; // never installed: the issuer did not count us in
        this.commit(keyId);
        this.handled++;
        this.host.send(fromAddr, encode(DONE, banned, keyId));
        return;
      case INSTALLED:
      case DONE:
        this.answer(from, banned, keyId, m[OFF_KIND] === DONE, now);
    }
  }

  private answer(from: Uint8Array, banned: Uint8Array, keyId: number, done: boolean, now: number): void {
    const run = this.run;
    if (run === null || run.keyId !== keyId || !sameId(run.banned, banned)) return;
    const member = run.members.find((m) => sameId(m.target.id, from));
    if (member === undefined) return;
    if (done) member.done = true;
    else member.installed = true;
    if (run.members.every((m) => (run.committed ? m.done || !m.installed : m.installed))) {
      run.nextSend = now; // every answer is in: the next step goes now
      this.tick(now);
    }
  }

  /** The new key becomes the only one: the removed node holds none that still works. */
  private commit(keyId: number): void {
    this.keyring.keepOnly(keyId);
    this.host.keysChanged();
  }

  private sendStep(run: Run, addr: Uint8Array): void {
    if (run.committed) {
      this.host.send(addr, encode(COMMIT, run.banned, run.keyId));
      return;
    }
    const offer = encode(OFFER, run.banned, run.keyId);
    offer.set(run.key, OFF_KEY);
    this.host.send(addr, offer);
    offer.fill(0); // sealed by now
  }
}

function encode(kind: number, banned: Uint8Array, keyId: number): Uint8Array {
  const m = new Uint8Array(kind === OFFER ? OFFER_LEN : REPLY_LEN);
  m[OFF_KIND] = kind;
  m.set(banned, OFF_BANNED);
  writeU32(m, OFF_KEY_ID, keyId);
  return m;
}
