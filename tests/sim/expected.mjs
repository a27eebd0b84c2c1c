// Expected figures from the SWIM paper (Das et al. 2002), the epidemic
// analysis it relies on (Pittel 1987) and memberlist's formulas, for the
// config the simulation runs with (memberlist LAN defaults).
export const LAN = {
  probeIntervalMs: 1000, probeTimeoutMs: 500, gossipIntervalMs: 200, gossipNodes: 3,
  indirectChecks: 3, suspicionMult: 4, suspicionMaxTimeoutMult: 6, retransmitMult: 4, pushPullIntervalMs: 30000,
};

const ENTRY_FIXED = 38; // push-pull member entry without the name (assembly/membership/codec.ts)
const PART_HEADER = 13 + 3; // version + push-pull header + section header
const PING_DATAGRAM = 22, ACK_DATAGRAM = 6, PING_REQ_DATAGRAM = 32;

export function suspicionMinMs(n, c = LAN) {
  return c.suspicionMult * Math.max(1, Math.log10(Math.max(1, n))) * c.probeIntervalMs;
}

export function pushPullIntervalMs(n, c = LAN) {
  return n <= 32 ? c.pushPullIntervalMs : c.pushPullIntervalMs * (Math.ceil(Math.log2(n) - 5) + 1);
}

/** Gossip rounds for fanout k to reach all n (Pittel): log_{k+1} n + ln(n) / k; half of them: log_{k+1} n. */
export function disseminationMs(n, c = LAN) {
  const k = c.gossipNodes;
  const half = Math.log(n) / Math.log(k + 1);
  return { p50: c.gossipIntervalMs * half, max: c.gossipIntervalMs * (half + Math.log(n) / k) };
}

export function expectedFigures(n, loss = 0, nameLen = 4, maxDatagram = 1400, c = LAN) {
  const d = disseminationMs(n, c);
  // First probe of a failed member after T * e/(e-1) on average, the probe round (T), then the
  // suspicion timeout, at its minimum once suspicionMult - 2 independent confirmations arrive.
  const firstProbe = c.probeIntervalMs * Math.E / (Math.E - 1);
  const detectFirst = firstProbe + c.probeIntervalMs + suspicionMinMs(n, c);
  const stateBytes = n * (ENTRY_FIXED + 1 + nameLen);
  const parts = Math.ceil(stateBytes / (maxDatagram - PART_HEADER));
  const pp = pushPullIntervalMs(n, c) / 1000;
  const indirect = 1 - (1 - loss) ** 2;
  // A join storm puts N ALIVEs in every queue, each sent retransmitLimit(N) times, newest first,
  // ~31 to a datagram, in gossip (gossipNodes per tick) and ping/ack datagrams: the queue drains in
  // about D; everyone has seen everyone by then at the latest (push-pull mends the rare miss).
  const limit = c.retransmitMult * Math.ceil(Math.log10(n + 1));
  const perDatagram = Math.floor((maxDatagram - 4) / (2 + ENTRY_FIXED + nameLen));
  const datagramsPerSec = c.gossipNodes * 1000 / c.gossipIntervalMs + 2 * 1000 / c.probeIntervalMs;
  const drainMs = 1000 * n * limit / (perDatagram * datagramsPerSec);
  return {
    joinConvergeMs: Math.max(d.max, drainMs),
    disseminationP50Ms: d.p50,
    disseminationMaxMs: d.max,
    detectFirstMs: detectFirst,
    detectAllMs: detectFirst + d.max,
    falsePositives: 0,
    // Steady state: one ping sent and one acked per member per interval; a lost ping or ack
    // (probability 1-(1-loss)^2) adds k PING_REQs, k relayed pings, k acks and k relayed acks
    // or nacks; plus each member's push-pull (its state out, the peer's back) and the one it answers.
    datagramsPerMemberSec: (2 + indirect * 4 * c.indirectChecks) * 1000 / c.probeIntervalMs + 2 * parts / pp,
    bytesPerMemberSec: (PING_DATAGRAM + ACK_DATAGRAM + indirect * c.indirectChecks *
      (PING_REQ_DATAGRAM + PING_DATAGRAM + 2 * ACK_DATAGRAM)) * 1000 / c.probeIntervalMs +
      2 * (stateBytes + parts * PART_HEADER) / pp,
  };
}
