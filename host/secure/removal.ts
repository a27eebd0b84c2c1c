// `divs remove` (docs/security.md "Removing a node"): bans a member's identity switch-wide and moves the
// remaining members to a new network key in the keyring's two steps (install everywhere, then make it
// primary and drop every other key everywhere), so the removed node keeps nothing that still works.
// The messages travel as CONTROL on the sessions between the issuer and each member: sealed under keys
// bound to both identities, so only the member a session was made with reads the new key, and never
// sent to the removed identity, whose sessions are dropped first. A member that joins later (or
// comes back) hears the bans from the members that see it join (BANS). Removals run at once on several
// members converge: the new key with the highest id wins everywhere, and a winner whose key may have
// reached a member banned meanwhile rotates once more. Sans-IO like the transport: fed messages and
// time, it acts through RemovalHost.
import { readU32, writeU32 } from "./bytes.ts";
import { NODE_ID_LEN } from "./identity.ts";
import { formatKeyId, generateKey, KEY_LEN, type Keyring } from "./keyring.ts";
import type { CryptoProvider } from "./provider.ts";

// Messages 1-4: u8 kind, banned node id[8], u32 new key id; an OFFER then carries the new key.
export const OFFER = 1; // issuer -> member: ban this id, install this key
export const INSTALLED = 2; // member -> issuer: done
export const COMMIT = 3; // issuer -> member: make the new key primary, drop every other key
export const DONE = 4; // member -> issuer: done
// BANS: u8 5, u8 count (1..BANS_PER_MESSAGE), count node ids[8]: member -> a member it saw join.
export const BANS = 5;
export const BANS_PER_MESSAGE = 128; // 1026 bytes: a datagram below any path MTU
const OFF_BANS_COUNT = 1;
const OFF_BANS_IDS = 2;
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
/**
 * How long (ms) a member tries to tell one that joined the bans it holds, while no session with it is
 * up yet (one is started at the first try): a newcomer's sessions come up within a handshake.
 */
export const BANS_SHARE_MS = 5_000;
/**
 * How long (ms) a key a removal installed here may wait for its commit: the install and commit steps
 * take at most 2 x REMOVAL_STEP_MS. Past it the key is dropped: a concurrent removal's losing key (a
 * removed node may have been offered it) or one whose issuer stopped must not stay in the ring.
 */
export const PENDING_KEY_MS = 3 * REMOVAL_STEP_MS;
/** Follow-up rotations a removal runs at most because members were banned while it ran ("Concurrent removals"). */
export const REMOVAL_MAX_ROUNDS = 4;

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
  /**
   * Sends a CONTROL message to the member at `addr` (18 bytes); without a session it starts one
   * instead and returns false.
   */
  send(addr: Uint8Array, message: Uint8Array): boolean;
  /** The node ids banned here. */
  bans(): Uint8Array[];
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
  /** Rotations this removal ran so far (1 + follow-ups). */
  round: number;
  finish(report: RemovalReport): void;
}

const sameId = (a: Uint8Array, b: Uint8Array): boolean => a.every((v, i) => v === b[i]);
const text = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

/** A member that joined, to be told our bans until `until`. */
interface Share {
  addr: Uint8Array;
  until: number;
}

export class Removals {
  private run: Run | null = null;
  /** Members that joined and have not been told our bans yet, by address. */
  private readonly shares = new Map<string, Share>();
  private nextShare = Infinity;
  /**
   * The keys removals installed here (ours and offered ones) and not committed yet, by id, with when:
   * of concurrent removals' keys, the highest id is the one every member keeps (`commit`). One that is
   * never committed (its removal lost, or its issuer stopped) is dropped after PENDING_KEY_MS.
   */
  private readonly removalKeys = new Map<number, number>();
  private nextExpiry = Infinity;

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
    this.host.ban(banned);
    this.rotate(Uint8Array.from(banned), targets, 1, now, finish);
  }

  /** One rotation of a removal: a fresh key to every target not banned here. */
  private rotate(banned: Uint8Array, targets: RemovalTarget[], round: number, now: number, finish: (report: RemovalReport) => void): void {
    const key = generateKey(this.crypto);
    const keyId = this.keyring.install(key);
    this.removalKeys.set(keyId, now);
    const kept = targets.filter((t) => !this.isBanned(t.id) && !sameId(t.id, this.selfId));
    this.run = {
      banned, key, keyId, committed: false, stepDeadline: now + REMOVAL_STEP_MS, nextSend: now, round, finish,
      members: kept.map((target) => ({ target, installed: false, done: false })),
    };
    this.handleTimeout(now);
  }

  private isBanned(id: Uint8Array): boolean {
    return this.host.bans().some((b) => sameId(b, id));
  }

  /**
   * A member joined (new, or back from dead) at `addr`: tell it every ban we hold, so a ban holds for
   * members that were not there when it was made. Sent as soon as a session with it is up.
   */
  memberJoined(addr: Uint8Array, now: number): void {
    if (this.host.bans().length === 0) return;
    this.shares.set(text(addr), { addr: Uint8Array.from(addr), until: now + BANS_SHARE_MS });
    this.nextShare = now;
    this.handleTimeout(now);
  }

  /** The time (ms) by which handleTimeout() must run next. */
  pollTimeout(): number {
    return Math.min(this.run?.nextSend ?? Infinity, this.nextShare, this.nextExpiry);
  }

  /** Sends what is due: the removal's next messages, ban lists to members that joined. */
  handleTimeout(now: number): void {
    if (now >= this.nextShare) this.shareBans(now);
    if (now >= this.nextExpiry) this.dropExpired(now);
    this.step(now);
  }

  /** Drops the removal keys that waited PENDING_KEY_MS for a commit in vain (not our running removal's). */
  private dropExpired(now: number): void {
    let dropped = false;
    this.nextExpiry = Infinity;
    for (const [id, at] of this.removalKeys) {
      if (id === this.run?.keyId) continue;
      if (now < at + PENDING_KEY_MS) {
        this.nextExpiry = Math.min(this.nextExpiry, at + PENDING_KEY_MS);
        continue;
      }
      this.removalKeys.delete(id);
      if (this.keyring.has(id) && this.keyring.primary.id !== id) {
        this.keyring.remove(id);
        dropped = true;
      }
    }
    if (dropped) this.host.keysChanged();
  }

  private shareBans(now: number): void {
    const messages = encodeBans(this.host.bans());
    for (const [key, share] of this.shares) {
      let sent = true;
      for (const m of messages) sent = this.host.send(share.addr, m) && sent;
      if (sent || now >= share.until) this.shares.delete(key);
    }
    this.nextShare = this.shares.size > 0 ? now + REMOVAL_RETRY_MS : Infinity;
  }

  /** Moves the removal to its next step once every member answered or the step timed out. */
  private step(now: number): void {
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
      if (!this.commit(run.keyId)) {
        // A concurrent removal's key wins: its issuer's commit moves every member, us included.
        this.end(run, this.winningKey(), (m) => m.installed);
        return;
      }
      run.stepDeadline = now + REMOVAL_STEP_MS;
      run.nextSend = now;
      this.step(now);
      return;
    }
    const targets = run.members.map((m) => m.target);
    if (targets.some((t) => this.isBanned(t.id)) && run.round < REMOVAL_MAX_ROUNDS) {
      // A concurrent removal banned one of our members, which may have got our key before we heard:
      // the key that won must not be one a removed node holds, so the winner rotates once more.
      this.end(run, run.keyId, null);
      this.rotate(run.banned, targets, run.round + 1, now, run.finish);
      return;
    }
    this.end(run, run.keyId, (m) => m.done);
  }

  /** The run is over: reports `keyId` and the members `moved` says moved (null: no report yet, a follow-up runs). */
  private end(run: Run, keyId: number, moved: ((m: Member) => boolean) | null): void {
    this.run = null;
    run.key.fill(0);
    const installedAt = this.removalKeys.get(run.keyId); // not committed: it expires like an offered one
    if (installedAt !== undefined) this.nextExpiry = Math.min(this.nextExpiry, installedAt + PENDING_KEY_MS);
    if (moved === null) return;
    run.finish({
      keyId: formatKeyId(keyId),
      moved: run.members.filter(moved).map((m) => m.target.name),
      missed: run.members.filter((m) => !moved(m)).map((m) => m.target.name),
    });
  }

  /**
   * A CONTROL message from the member whose node id is `from`, at `fromAddr`. Any member may issue a
   * removal (membership is holding the network key, docs/security.md "Threat model"); malformed
   * messages, and offers to ban ourselves, are ignored.
   */
  message(from: Uint8Array, fromAddr: Uint8Array, m: Uint8Array, now: number): void {
    if (m.length > 0 && m[OFF_KIND] === BANS) {
      this.takeBans(from, m);
      return;
    }
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
        this.removalKeys.set(keyId, now);
        this.nextExpiry = Math.min(this.nextExpiry, now + PENDING_KEY_MS);
        this.host.send(fromAddr, encode(INSTALLED, banned, keyId));
        return;
      case COMMIT:
        if (!this.keyring.has(keyId) && !this.committedPast(keyId)) return; // never installed: the issuer did not count us in
        this.commit(keyId); // or not: a concurrent removal's key wins, and we hold it
        this.host.send(fromAddr, encode(DONE, banned, keyId));
        return;
      case INSTALLED:
      case DONE:
        this.answer(from, banned, keyId, m[OFF_KIND] === DONE, now);
    }
  }

  /** A member's ban list: each id is banned here too (not ours, not the sender's). */
  private takeBans(from: Uint8Array, m: Uint8Array): void {
    const count = m.length > OFF_BANS_COUNT ? m[OFF_BANS_COUNT] : 0;
    if (count === 0 || count > BANS_PER_MESSAGE || m.length !== OFF_BANS_IDS + count * NODE_ID_LEN) return;
    for (let i = 0; i < count; i++) {
      const id = m.subarray(OFF_BANS_IDS + i * NODE_ID_LEN, OFF_BANS_IDS + (i + 1) * NODE_ID_LEN);
      if (!sameId(id, this.selfId) && !sameId(id, from)) this.host.ban(Uint8Array.from(id));
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
      this.step(now);
    }
  }

  /**
   * The new key becomes the only one: the removed node holds none that still works. Unless a concurrent
   * removal's key with a higher id is held: that one wins (its issuer's commit drops this one), so
   * members that see the removals' steps in any order end on the same key. False when it did not commit.
   */
  private commit(keyId: number): boolean {
    for (const id of this.removalKeys.keys()) if (!this.keyring.has(id)) this.removalKeys.delete(id);
    if (!this.keyring.has(keyId) || this.winningKey() > keyId) return false;
    this.keyring.keepOnly(keyId);
    this.removalKeys.clear(); // the key now, no longer one contending: a later removal's replaces it
    this.nextExpiry = Infinity;
    this.host.keysChanged();
    return true;
  }

  /** The highest id of the removal keys held. */
  private winningKey(): number {
    return Math.max(-1, ...[...this.removalKeys.keys()].filter((id) => this.keyring.has(id)));
  }

  /** A commit of `keyId` that a higher removal key held here supersedes (it dropped `keyId`, or will). */
  private committedPast(keyId: number): boolean {
    return this.winningKey() > keyId;
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

/** BANS messages carrying `ids`, BANS_PER_MESSAGE at most each. */
function encodeBans(ids: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let first = 0; first < ids.length; first += BANS_PER_MESSAGE) {
    const chunk = ids.slice(first, first + BANS_PER_MESSAGE);
    const m = new Uint8Array(OFF_BANS_IDS + chunk.length * NODE_ID_LEN);
    m[OFF_KIND] = BANS;
    m[OFF_BANS_COUNT] = chunk.length;
    chunk.forEach((id, i) => m.set(id, OFF_BANS_IDS + i * NODE_ID_LEN));
    out.push(m);
  }
  return out;
}

function encode(kind: number, banned: Uint8Array, keyId: number): Uint8Array {
  const m = new Uint8Array(kind === OFFER ? OFFER_LEN : REPLY_LEN);
  m[OFF_KIND] = kind;
  m.set(banned, OFF_BANNED);
  writeU32(m, OFF_KEY_ID, keyId);
  return m;
}
