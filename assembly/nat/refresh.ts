// A member knows something we missed: it names a member we do not know (a RENDEZVOUS, RELAY_OK or
// PATH_PING about it), or names one by another address than the one we know (a relayed datagram: it
// moved, a new observed address or incarnation). Its ALIVE did not reach us: gossip from members behind
// NATs is filtered until they have a path to us, and our relayed datagrams naming an old address are
// refused. A push-pull with the member that told us brings its current state.
import { self } from "../node";
import { pushPullSend } from "../membership/pushpull";
import { memberById } from "../membership/state";
import { Stat, count } from "../stats";
import { aliasLookup } from "./aliases";

const REFRESH_GAP_MS: f64 = 2000;
let refreshedAt: f64 = -Infinity;

/** A push-pull with the member at `addr`, which knows more than we do (at most every REFRESH_GAP_MS). */
export function natRefreshFrom(addr: usize): void {
  const id = aliasLookup(addr);
  const m = id != 0 ? memberById(id) : null;
  if (m == null || !m.live || self.now - refreshedAt < REFRESH_GAP_MS) return; // only a member gets our state
  refreshedAt = self.now;
  count(Stat.PathRefreshes);
  pushPullSend(addr, 0);
}
