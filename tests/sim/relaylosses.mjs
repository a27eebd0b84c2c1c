// Routed traffic lost at relays in the simulated cluster: envelopes a relay's host dropped (no grant for
// the pair) and datagrams that reached their peer along their route, timed from when the watch began.
// A pair has its traffic back at its first routed delivery after its last refusal.

/** Starts watching `cluster`; returns `pair("a>b")` and `refusedPairs()`, each giving {pair, lostUntilMs, resumedMs}. */
export function watchRelayLosses(cluster) {
  const t0 = cluster.now;
  const lostUntil = new Map(), delivered = new Map();
  const w = { refused: 0 };
  cluster.onRelayRefused = (t, relay, from, to) => { w.refused++; lostUntil.set(`${from}>${to}`, t - t0); };
  cluster.onRoutedDelivery = (t, from, to) => {
    const key = `${from}>${to}`;
    if (!delivered.has(key)) delivered.set(key, []);
    delivered.get(key).push(t - t0);
  };
  /** lostUntilMs: its last refusal (null: none); resumedMs: its first routed delivery after that (null: none). */
  w.pair = (key) => {
    const lostUntilMs = lostUntil.get(key) ?? null;
    const resumedMs = (delivered.get(key) ?? []).find((t) => t > (lostUntilMs ?? -1)) ?? null;
    return { pair: key, lostUntilMs, resumedMs };
  };
  w.refusedPairs = () => [...lostUntil.keys()].map(w.pair);
  return w;
}
