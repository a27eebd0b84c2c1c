// A binary min-heap of (time, seq, node) wake-ups; seq keeps ties in insertion order.
export class WakeHeap {
  constructor() { this.t = []; this.s = []; this.n = []; this.seq = 0; }
  get size() { return this.t.length; }
  push(time, node) {
    const { t, s, n } = this;
    let i = t.length;
    t.push(time); s.push(this.seq++); n.push(node);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(t, s, i, p)) break;
      swap(t, s, n, i, p); i = p;
    }
  }
  peekTime() { return this.t[0]; }
  /** Removes the earliest entry; returns its node (its time was peekTime()). */
  pop() {
    const { t, s, n } = this;
    const node = n[0];
    const last = t.length - 1;
    swap(t, s, n, 0, last);
    t.pop(); s.pop(); n.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < last && less(t, s, l, m)) m = l;
      if (r < last && less(t, s, r, m)) m = r;
      if (m === i) break;
      swap(t, s, n, i, m); i = m;
    }
    return node;
  }
}
function less(t, s, a, b) { return t[a] < t[b] || (t[a] === t[b] && s[a] < s[b]); }
function swap(t, s, n, a, b) {
  let x = t[a]; t[a] = t[b]; t[b] = x;
  x = s[a]; s[a] = s[b]; s[b] = x;
  x = n[a]; n[a] = n[b]; n[b] = x;
}
