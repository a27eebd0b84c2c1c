// The membership as ownership.ts sees it: who is alive (suspects included, as
// for forwarding), read from the member table at the time of each step.
import { MemberState, memberById, members } from "../membership/state";
import { self } from "../node";
import { View } from "./ownership";

const view = new View();

/** Whether node `id` is us or a member alive or suspect here. */
export function ownerLive(id: u64): bool {
  if (id == self.id) return true;
  const m = memberById(id);
  return m != null && m.state <= MemberState.Suspect;
}

/** This node's view at `now`. */
export function currentView(now: f64): View {
  view.self = self.id;
  view.now = now;
  view.live.length = 0;
  for (let i = 0; i < members.length; i++) {
    const m = unchecked(members[i]);
    if (m.id != self.id && m.live) view.live.push(m.id);
  }
  return view;
}
