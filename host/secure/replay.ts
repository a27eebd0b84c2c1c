// Sliding replay window over DATA counters (WireGuard style, RFC 6479): a ring of bit words covering
// the last WINDOW counters below the highest one accepted. check() runs before decryption (cheap
// reject), accept() only after the packet authenticated, so forgeries never move the window.

export const REPLAY_WINDOW = 2048;
const WORD_BITS = 32;
/** One spare word so the word being refilled never overlaps the window. */
const WORDS = REPLAY_WINDOW / WORD_BITS + 1;

export const REPLAY_OK = 0;
export const REPLAY_SEEN = 1;
export const REPLAY_TOO_OLD = 2;

export class ReplayWindow {
  private readonly words = new Uint32Array(WORDS);
  /** Highest counter accepted so far; -1 before the first. */
  private top = -1;

  check(counter: number): number {
    if (counter > this.top) return REPLAY_OK;
    if (this.top - counter >= REPLAY_WINDOW) return REPLAY_TOO_OLD;
    const word = Math.floor(counter / WORD_BITS) % WORDS;
    return (this.words[word] >>> counter % WORD_BITS) & 1 ? REPLAY_SEEN : REPLAY_OK;
  }

  /** Marks `counter` seen; the caller has had check() return REPLAY_OK for it. */
  accept(counter: number): void {
    const word = Math.floor(counter / WORD_BITS);
    if (counter > this.top) {
      const topWord = Math.floor(this.top / WORD_BITS);
      const advance = Math.min(word - topWord, WORDS);
      for (let i = 1; i <= advance; i++) this.words[(topWord + i + WORDS) % WORDS] = 0;
      this.top = counter;
    }
    this.words[word % WORDS] |= 1 << counter % WORD_BITS;
  }
}
