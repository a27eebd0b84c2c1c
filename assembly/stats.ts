// Counters for everything the core drops or does. Every drop has a reason here.
// Add a counter by appending to the enum and to STAT_NAMES in the same position.

export enum Stat {
  InputMalformed,
  InputUnknownKind,
  OutputOverflow,
  FramesFromTap,
  FramesToTap,
  FramesTruncated,
  DatagramsIn,
  DatagramsOut,
  DatagramTruncated,
  DatagramBadVersion,
  DatagramUnknownType,
  FramesBadSource,
  FramesTooBig,
  FramesLocalDst,
  FramesUnicast,
  FramesFlooded,
  FramesMisdirected,
  MacLearned,
  MacMoved,
  MacMovedAway,
  MacRemoteApplied,
  MacRemoteStale,
  MacAged,
  MacDroppedOwner,
  MacTableFull,
  MacAnnounceOverflow,
  MacUpdateMalformed,
  MemberMsgMalformed,
  MemberPingMisdirected,
  MemberProbes,
  MemberProbesIndirect,
  MemberProbesFailed,
  MemberRelayDropped,
  MemberSuspected,
  MemberRefuted,
  MemberDeclaredDead,
  MemberPushPullSent,
  MemberPushPullReceived,
  MemberPushPullTooBig,
  MemberPushPullThrottled,
  BroadcastsQueued,
  BroadcastsSent,
  Count, // keep last
}

export const STAT_NAMES: StaticArray<string> = [
  "input_malformed",
  "input_unknown_kind",
  "output_overflow",
  "frames_from_tap",
  "frames_to_tap",
  "frames_truncated",
  "datagrams_in",
  "datagrams_out",
  "datagram_truncated",
  "datagram_bad_version",
  "datagram_unknown_type",
  "frames_bad_source",
  "frames_too_big",
  "frames_local_dst",
  "frames_unicast",
  "frames_flooded",
  "frames_misdirected",
  "mac_learned",
  "mac_moved",
  "mac_moved_away",
  "mac_remote_applied",
  "mac_remote_stale",
  "mac_aged",
  "mac_dropped_owner",
  "mac_table_full",
  "mac_announce_overflow",
  "mac_update_malformed",
  "member_msg_malformed",
  "member_ping_misdirected",
  "member_probes",
  "member_probes_indirect",
  "member_probes_failed",
  "member_relay_dropped",
  "member_suspected",
  "member_refuted",
  "member_declared_dead",
  "member_pushpull_sent",
  "member_pushpull_received",
  "member_pushpull_too_big",
  "member_pushpull_throttled",
  "broadcasts_queued",
  "broadcasts_sent",
];

const counters = new StaticArray<f64>(Stat.Count);

// @ts-ignore: decorator
@inline export function count(s: Stat): void {
  unchecked(counters[s] += 1);
}

export function statValue(s: i32): f64 {
  return s >= 0 && s < Stat.Count ? unchecked(counters[s]) : 0;
}
