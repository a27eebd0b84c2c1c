// Datagrams leaving for peers, as the path layer (assembly/nat/paths.ts) counts them: each one waits
// for the peer to answer, except what is sent while answering the peer. The output queue and
// membership sit below the path layer, so it registers here rather than being called by name.

let answering = false;
let awaiting: (addr: usize) => void = (addr: usize): void => {};

/** Between `trafficAnswering(true)` and `(false)` datagrams sent answer the peer: they wait for nothing. */
export function trafficAnswering(on: bool): void { answering = on; }

/** Sets `fn` to hear of each datagram that waits for an answer, by the address it goes to. */
export function trafficOnAwaiting(fn: (addr: usize) => void): void { awaiting = fn; }

/** A datagram to `addr` left (assembly/queue.ts, for every OUT_DATAGRAM). */
export function trafficSent(addr: usize): void {
  if (!answering) awaiting(addr);
}
