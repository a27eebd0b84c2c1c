// Runtime configuration, set by the host through `config_set(key, value)`
// before or between calls. docs/config.md documents every key with its
// default and why; keep the two in step.

export enum Key {
  MacAgeingMs = 1,
  MacCapacity = 2,
  MaxDatagram = 3,
  MacRefreshPerAgeing = 4,
  TapVnetHdr = 5,
  ArpProxy = 6,
  // Membership (SWIM + Lifeguard); defaults are memberlist's LAN config.
  ProbeIntervalMs = 100,
  ProbeTimeoutMs = 101,
  IndirectChecks = 102,
  GossipIntervalMs = 103,
  GossipNodes = 104,
  GossipToTheDeadMs = 105,
  RetransmitMult = 106,
  SuspicionMult = 107,
  SuspicionMaxTimeoutMult = 108,
  PushPullIntervalMs = 109,
  AwarenessMaxMultiplier = 110,
  JoinRetryMs = 111,
  ReconnectIntervalMs = 112,
  ReconnectTimeoutMs = 113,
  MaxMembers = 114,
  // Distributed DHCP server (docs/dhcp.md); pool size 0: not serving.
  DhcpPoolStart = 300,
  DhcpPoolSize = 301,
  DhcpLeaseS = 302,
  DhcpRouter = 303,
  DhcpDns1 = 304,
  DhcpDns2 = 305,
  DhcpPrefixLen = 306,
  DhcpMtu = 307,
  DhcpSeed = 308,
  DhcpReclaimAfterMs = 309,
  /** Writing it loads a whole membership profile: 0 LAN, 1 WAN, 2 local (see MembershipProfile). */
  MembershipProfile = 199,
  // Paths across NATs (docs/nat.md).
  KeepaliveMs = 200,
  RelayBytesPerSec = 201,
}

export enum MembershipProfile { Lan = 0, Wan = 1, Local = 2 }

export class Config {
  /** Remote/local MAC entries not refreshed for this long are removed (Linux bridge default). */
  macAgeingMs: f64 = 300_000;
  /** Upper bound on MAC table entries; beyond it new MACs are not learned and flood. Raising it later
   *  grows the table on the next insert; lowering it refuses new entries until ageing makes room (docs/mactable.md). */
  macCapacity: u32 = 65536;
  /** The owner re-announces each live local MAC this many times per macAgeingMs, so a remote copy
   *  survives refreshes lost until the last one (docs/config.md). */
  macRefreshPerAgeing: i32 = 3;
  /** Largest DiVS datagram we emit (fits a 1500-byte underlay after IP/UDP and sealing). */
  maxDatagram: u32 = 1400;
  /** The host's TAP frames carry a virtio-net header (IFF_VNET_HDR): set by the host, not by users. */
  tapVnetHdr: bool = false;
  /** Answer ARP requests and Neighbor Solicitations for addresses bound behind other nodes (docs/arp.md). */
  arpProxy: bool = true;

  // DHCP: docs/config.md#dhcp. Addresses are IPv4 values (198.18.0.1 is 0xc6120001).
  dhcpPoolStart: u32 = 0;
  dhcpPoolSize: u32 = 0;
  dhcpLeaseS: u32 = 3600;
  dhcpRouter: u32 = 0;
  dhcpDns1: u32 = 0;
  dhcpDns2: u32 = 0;
  dhcpPrefixLen: u32 = 24;
  /** Interface MTU option (26) for clients: the TAP's MTU; 0 leaves it out. */
  dhcpMtu: u32 = 0;
  /** This node owns the whole pool at first (the host sets it on a node started without --join). */
  dhcpSeed: bool = false;
  /** Lower bound on how long an absent owner's blocks wait before reclaim (also >= 2 x lease). */
  dhcpReclaimAfterMs: f64 = 600_000;

  // Membership: docs/config.md#membership says why each default.
  probeIntervalMs: f64 = 1000;
  probeTimeoutMs: f64 = 500;
  indirectChecks: i32 = 3;
  gossipIntervalMs: f64 = 200;
  gossipNodes: i32 = 3;
  gossipToTheDeadMs: f64 = 30_000;
  retransmitMult: i32 = 4;
  suspicionMult: i32 = 4;
  suspicionMaxTimeoutMult: i32 = 6;
  pushPullIntervalMs: f64 = 30_000;
  awarenessMaxMultiplier: i32 = 8;
  joinRetryMs: f64 = 1000;
  reconnectIntervalMs: f64 = 30_000;
  reconnectTimeoutMs: f64 = 86_400_000;
  /** Members kept at most (any state, self included); the data plane's peer set has the same bound. */
  maxMembers: i32 = 65536;

  // Paths across NATs: docs/config.md#paths-across-nats.
  /** A direct path to a NATed peer that carried nothing for this long gets a PATH_PING (0: never). */
  keepaliveMs: f64 = 10_000;
  /** Budget a relay grants each member pair it relays for (OUT_RELAY_ALLOW): 20 Mbit/s. */
  relayBytesPerSec: u32 = 2_500_000;
}

/** Loads memberlist's DefaultLANConfig, DefaultWANConfig or DefaultLocalConfig membership values. */
export function applyMembershipProfile(c: Config, profile: MembershipProfile): void {
  const wan = profile == MembershipProfile.Wan;
  const local = profile == MembershipProfile.Local;
  c.probeIntervalMs = wan ? 5000 : 1000;
  c.probeTimeoutMs = wan ? 3000 : local ? 200 : 500;
  c.indirectChecks = local ? 1 : 3;
  c.gossipIntervalMs = wan ? 500 : local ? 100 : 200;
  c.gossipNodes = wan ? 4 : 3;
  c.gossipToTheDeadMs = wan ? 60_000 : local ? 15_000 : 30_000;
  c.retransmitMult = local ? 2 : 4;
  c.suspicionMult = wan ? 6 : local ? 3 : 4;
  c.suspicionMaxTimeoutMult = 6;
  c.pushPullIntervalMs = wan ? 60_000 : local ? 15_000 : 30_000;
  c.awarenessMaxMultiplier = 8;
  c.joinRetryMs = wan ? 5000 : 1000;
  c.reconnectIntervalMs = 30_000;
  c.reconnectTimeoutMs = 86_400_000;
}

/** Sets a membership key; false when unknown or out of range. */
function membershipSet(key: u32, value: f64): bool {
  const ms = value >= 1 && value <= 3_600_000; // 1 ms .. 1 h
  const small = value >= 1 && value <= 64 && value == Math.floor(value);
  switch (key) {
    case Key.ProbeIntervalMs: if (!ms) return false; config.probeIntervalMs = value; return true;
    case Key.ProbeTimeoutMs: if (!ms) return false; config.probeTimeoutMs = value; return true;
    case Key.IndirectChecks:
      if (!(value >= 0 && value <= 64 && value == Math.floor(value))) return false;
      config.indirectChecks = <i32>value;
      return true;
    case Key.GossipIntervalMs: if (!ms) return false; config.gossipIntervalMs = value; return true;
    case Key.GossipNodes: if (!small) return false; config.gossipNodes = <i32>value; return true;
    case Key.GossipToTheDeadMs: if (!ms) return false; config.gossipToTheDeadMs = value; return true;
    case Key.RetransmitMult: if (!small) return false; config.retransmitMult = <i32>value; return true;
    case Key.SuspicionMult: if (!small) return false; config.suspicionMult = <i32>value; return true;
    case Key.SuspicionMaxTimeoutMult:
      if (!small) return false;
      config.suspicionMaxTimeoutMult = <i32>value;
      return true;
    case Key.PushPullIntervalMs: if (!ms) return false; config.pushPullIntervalMs = value; return true;
    case Key.AwarenessMaxMultiplier:
      if (!small) return false;
      config.awarenessMaxMultiplier = <i32>value;
      return true;
    case Key.JoinRetryMs: if (!ms) return false; config.joinRetryMs = value; return true;
    case Key.ReconnectIntervalMs: if (!ms) return false; config.reconnectIntervalMs = value; return true;
    case Key.ReconnectTimeoutMs:
      if (!(value >= 1000 && value <= 30 * 86_400_000)) return false;
      config.reconnectTimeoutMs = value;
      return true;
    case Key.MaxMembers:
      if (!(value >= 2 && value <= 65536 && value == Math.floor(value))) return false;
      config.maxMembers = <i32>value;
      return true;
    case Key.MembershipProfile:
      if (!(value == 0 || value == 1 || value == 2)) return false;
      applyMembershipProfile(config, <MembershipProfile>(<i32>value));
      return true;
  }
  return false;
}

/** Sets a DHCP key; false when out of range. */
function dhcpSet(key: u32, value: f64): bool {
  const whole = value == Math.floor(value);
  const ip = whole && value >= 0 && value <= 4294967295;
  switch (key) {
    case Key.DhcpPoolStart: if (!ip) return false; config.dhcpPoolStart = <u32>value; return true;
    case Key.DhcpPoolSize:
      if (!(whole && value >= 0 && value <= 65536)) return false;
      config.dhcpPoolSize = <u32>value;
      return true;
    case Key.DhcpLeaseS:
      if (!(whole && value >= 10 && value <= 86400 * 30)) return false;
      config.dhcpLeaseS = <u32>value;
      return true;
    case Key.DhcpRouter: if (!ip) return false; config.dhcpRouter = <u32>value; return true;
    case Key.DhcpDns1: if (!ip) return false; config.dhcpDns1 = <u32>value; return true;
    case Key.DhcpDns2: if (!ip) return false; config.dhcpDns2 = <u32>value; return true;
    case Key.DhcpPrefixLen:
      if (!(whole && value >= 1 && value <= 30)) return false;
      config.dhcpPrefixLen = <u32>value;
      return true;
    case Key.DhcpMtu:
      if (!(whole && (value == 0 || (value >= 576 && value <= 65535)))) return false;
      config.dhcpMtu = <u32>value;
      return true;
    case Key.DhcpSeed: if (!(value == 0 || value == 1)) return false; config.dhcpSeed = value == 1; return true;
    case Key.DhcpReclaimAfterMs:
      if (!(value >= 1000 && value <= 30 * 86_400_000)) return false;
      config.dhcpReclaimAfterMs = value;
      return true;
  }
  return false;
}

export const config = new Config();

/** Returns false for an unknown key or an out-of-range value (nothing changes). */
export function configSet(key: u32, value: f64): bool {
  switch (key) {
    case Key.MacAgeingMs:
      if (!(value >= 1000)) return false;
      config.macAgeingMs = value;
      return true;
    case Key.MacCapacity:
      if (!(value >= 16 && value <= 4_194_304)) return false;
      config.macCapacity = <u32>value;
      return true;
    case Key.MacRefreshPerAgeing:
      if (!(value >= 2 && value <= 64 && value == Math.floor(value))) return false;
      config.macRefreshPerAgeing = <i32>value;
      return true;
    case Key.MaxDatagram:
      if (!(value >= 576 && value <= 65507)) return false;
      config.maxDatagram = <u32>value;
      return true;
    case Key.TapVnetHdr:
      if (!(value == 0 || value == 1)) return false;
      config.tapVnetHdr = value == 1;
      return true;
    case Key.KeepaliveMs:
      if (!(value == 0 || value >= 1000 && value <= 3_600_000)) return false;
      config.keepaliveMs = value;
      return true;
    case Key.RelayBytesPerSec:
      if (!(value >= 1 && value <= 4_294_967_295 && value == Math.floor(value))) return false;
      config.relayBytesPerSec = <u32>value;
      return true;
    case Key.ArpProxy:
      if (!(value == 0 || value == 1)) return false;
      config.arpProxy = value == 1;
      return true;
  }
  if (key >= <u32>Key.DhcpPoolStart && key <= <u32>Key.DhcpReclaimAfterMs) return dhcpSet(key, value);
  if (key >= <u32>Key.ProbeIntervalMs && key <= <u32>Key.MembershipProfile) return membershipSet(key, value);
  return false;
}
