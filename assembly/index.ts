// DiVS core: the WebAssembly module's exports. Sans-IO: the host feeds input
// records, time and randomness; the core returns output records. See docs/abi.md.
import {
  ABI_VERSION, ADDR_LEN, ADDR_SLOT, INPUT_CAPACITY, OUTPUT_CAPACITY, REC_HEADER, REC_KIND, REC_LEN,
  IN_CANDIDATES, IN_DATAGRAM, IN_DATAGRAM_VIA, IN_FRAME, IN_IDENTITY, IN_JOIN, IN_LEAVE, IN_PING, IN_RANDOM,
  IN_BAN, IN_DHCP_RESTORE, IN_DHCP_SELF, IN_PATHS_QUERY, IN_SEND_TOO_BIG, OUT_STAT, OUT_TIMER, alignUp,
} from "./abi";
import { meetTick } from "./nat/meet";
import { natMessageIn, natUserPing } from "./nat/nat";
import { natIdentity, natLocalCandidates, selfDump } from "./nat/observed";
import { pathsDump, pathsTick } from "./nat/paths";
import { natPathsQuery } from "./nat/report";
import { natSource } from "./nat/source";
import { MSG_NAT_FIRST, MSG_NAT_LAST } from "./wire/nat";
import {
  bindingGossipMessage, bindingsAdoptIdentity, bindingsDumpBegin, bindingsDumpLen, bindingsDumpWrite, bindingsTick,
} from "./bindings";
import "./bindsection";
import { config, configSet } from "./config";
import { dhcpDump } from "./dhcp/dump";
import { dhcpGossipMessage, dhcpTick } from "./dhcp/gossip";
import { dhcpPersistTick, dhcpRestore, dhcpSave } from "./dhcp/persist";
import { dhcpSelfLease } from "./dhcp/server";
import { forwardFromPeer, forwardFromTap } from "./forward";
import { groFlushAll } from "./gro";
import { gossipTick } from "./membership/gossip";
import { macGossipMessage, macGossipTick } from "./macgossip";
import { ageTick, macAdoptIdentity, macDump } from "./mactable";
import { self } from "./node";
import { pmtuAckIn, pmtuProbeIn, pmtuTick, pmtuTooBig } from "./pmtu";
import { mixEntropy } from "./prng";
import { outputBase, outputLength, outputReserve, outputReset } from "./queue";
import { STAT_NAMES, Stat, count, statValue } from "./stats";
import { nextTick, ticksBegin, ticksDue, ticksEnd, wakeNow } from "./wake";
import { CompoundReader, DG_MESSAGE, Envelope, MSG_COMPOUND, MSG_FRAME, checkEnvelope } from "./wire/divs";
import { MSG_IP_BINDING, MSG_IP_BINDING_UNSIGNED } from "./wire/bindmsg";
import { getMac } from "./wire/bytes";
import { MSG_DHCP_LEASE, MSG_DHCP_RANGE } from "./wire/dhcpmsg";
import { MSG_MAC_UPDATE } from "./wire/macmsg";
import { MSG_PMTU_ACK, MSG_PMTU_PROBE } from "./wire/pmtu";
import { MSG_MEMBERSHIP_FIRST, MSG_MEMBERSHIP_LAST } from "./membership/codec";
import {
  membersDump, membershipIdentity, membershipJoin, membershipBan, membershipLeaveNow, membershipMessage, membershipTick,
} from "./membership/membership";

const inputBase: usize = heap.alloc(INPUT_CAPACITY);

export function abi_version(): u32 { return ABI_VERSION; }
export function input_ptr(): usize { return inputBase; }
export function input_capacity(): u32 { return INPUT_CAPACITY; }
export function output_ptr(): usize { return outputBase; }
export function output_capacity(): u32 { return OUTPUT_CAPACITY; }

export function config_set(key: u32, value: f64): bool {
  wakeNow(); // the ticks see the new value at the next call
  return configSet(key, value);
}

/** The gossip interval in force (the profile's or the key's): a leaving host waits ~2 of them. */
export function gossip_interval_ms(): f64 { return config.gossipIntervalMs; }

/** Handle `inputLen` bytes of input records at `now` (ms); returns the output length. */
export function process(inputLen: u32, now: f64): u32 {
  outputReset();
  if (now > self.now) self.now = now;
  if (inputLen > INPUT_CAPACITY) {
    count(Stat.InputMalformed);
    inputLen = 0;
  }
  let off: u32 = 0;
  while (inputLen - off >= REC_HEADER) {
    const rec = inputBase + off;
    const kind = load<u16>(rec + REC_KIND);
    const len = load<u32>(rec + REC_LEN);
    if (len > inputLen - off - REC_HEADER) {
      count(Stat.InputMalformed);
      break;
    }
    handleInput(kind, rec + REC_HEADER, len);
    off += alignUp(REC_HEADER + len);
    if (off > inputLen) break;
  }
  groFlushAll(); // coalesced segments point into the input region: written before it is reused
  if (ticksDue(self.now)) runTicks(self.now);
  const next = nextTick();
  if (next < Infinity) {
    const timer = outputReserve(OUT_TIMER, 8);
    if (timer != 0) store<f64>(timer, next);
  }
  return outputLength();
}

/**
 * The periodic work, run only when due (assembly/wake.ts): each tick returns when it is due next, and
 * input that schedules work sooner wakes them. Gossip runs last: it sends what the others queued.
 */
function runTicks(now: f64): void {
  ticksBegin();
  let next = Math.min(ageTick(now), bindingsTick(now));
  next = Math.min(next, macGossipTick(now));
  next = Math.min(next, membershipTick(now));
  next = Math.min(next, Math.min(pmtuTick(now), pathsTick(now)));
  next = Math.min(next, meetTick(now));
  next = Math.min(next, dhcpTick(now));
  next = Math.min(next, dhcpPersistTick(now)); // after dhcpTick: saves what its rules changed
  next = Math.min(next, gossipTick(now));
  ticksEnd(next);
}

function handleInput(kind: u16, body: usize, len: u32): void {
  switch (kind) {
    case IN_FRAME:
      forwardFromTap(body, len, self.now);
      break;
    case IN_DATAGRAM:
      if (len < ADDR_SLOT) { count(Stat.InputMalformed); return; }
      handleDatagram(natSource(body, 0), body + ADDR_SLOT, len - ADDR_SLOT);
      break;
    case IN_DATAGRAM_VIA:
      if (len < 2 * ADDR_SLOT) { count(Stat.InputMalformed); return; }
      handleDatagram(natSource(body, body + ADDR_SLOT), body + 2 * ADDR_SLOT, len - 2 * ADDR_SLOT);
      break;
    case IN_CANDIDATES:
      natLocalCandidates(body, len / ADDR_SLOT);
      break;
    case IN_PING:
      if (!natUserPing(body, len)) count(Stat.InputMalformed);
      break;
    case IN_PATHS_QUERY:
      if (!natPathsQuery(body, len)) count(Stat.InputMalformed);
      break;
    case IN_RANDOM:
      mixEntropy(body, len);
      break;
    case IN_IDENTITY: {
      if (len < 8 + ADDR_SLOT) { count(Stat.InputMalformed); return; }
      const id = load<u64>(body);
      // MACs learnt before (owner 0) or under another id would otherwise keep that owner.
      if (id != self.id) {
        const oldId = self.id;
        self.id = id;
        macAdoptIdentity();
        bindingsAdoptIdentity(oldId, self.now);
      }
      memory.copy(self.addr, body + 8, ADDR_LEN);
      self.name = String.UTF8.decodeUnsafe(body + 8 + ADDR_SLOT, len - 8 - ADDR_SLOT);
      natIdentity(); // keeps advertising an observed address adopted earlier
      membershipIdentity();
      wakeNow(); // the MAC and DHCP ticks wait for an id
      break;
    }
    case IN_JOIN:
      if (len < ADDR_SLOT) { count(Stat.InputMalformed); return; }
      membershipJoin(body);
      break;
    case IN_LEAVE:
      membershipLeaveNow();
      break;
    case IN_BAN:
      if (len < 8) { count(Stat.InputMalformed); return; }
      membershipBan(load<u64>(body));
      break;
    case IN_DHCP_RESTORE:
      if (!dhcpRestore(body, len, self.now)) count(Stat.InputMalformed);
      break;
    case IN_DHCP_SELF:
      if (len < 8) { count(Stat.InputMalformed); return; }
      dhcpSelfLease(getMac(body), body + 8, len - 8, self.now);
      break;
    case IN_SEND_TOO_BIG:
      if (len < ADDR_SLOT + 4) { count(Stat.InputMalformed); return; }
      pmtuTooBig(body, load<u32>(body + ADDR_SLOT));
      break;
    default:
      count(Stat.InputUnknownKind);
  }
}

const compound = new CompoundReader();

function handleDatagram(src: usize, dg: usize, len: u32): void {
  count(Stat.DatagramsIn);
  const envelope = checkEnvelope(len, dg);
  if (envelope == Envelope.Truncated) { count(Stat.DatagramTruncated); return; }
  if (envelope == Envelope.BadVersion) { count(Stat.DatagramBadVersion); return; }
  const msg = dg + DG_MESSAGE;
  const msgLen = len - DG_MESSAGE;
  const type = load<u8>(msg);
  if (type == MSG_PMTU_PROBE) { pmtuProbeIn(src, msg, msgLen, len); return; } // its size is the datagram's
  if (type != MSG_COMPOUND) {
    handleMessage(src, msg, msgLen);
    return;
  }
  if (!compound.reset(msg, msgLen)) { count(Stat.DatagramTruncated); return; }
  while (compound.next()) {
    const inner = load<u8>(compound.ptr);
    if (inner == MSG_COMPOUND) { count(Stat.DatagramUnknownType); continue; } // no nesting
    if (inner == MSG_PMTU_PROBE) { count(Stat.PmtuMalformed); continue; } // a probe is sized alone
    handleMessage(src, compound.ptr, compound.len);
  }
  if (compound.malformed) count(Stat.DatagramTruncated);
}

/** One message (u8 type, body) from the peer at address `src`. */
function handleMessage(src: usize, msg: usize, msgLen: u32): void {
  const type = load<u8>(msg);
  if (type >= MSG_MEMBERSHIP_FIRST && type <= MSG_MEMBERSHIP_LAST) {
    membershipMessage(src, msg, msgLen);
    return;
  }
  switch (type) {
    case MSG_FRAME:
      forwardFromPeer(src, msg, msgLen);
      break;
    case MSG_MAC_UPDATE:
      macGossipMessage(src, msg, msgLen, self.now);
      break;
    case MSG_PMTU_ACK:
      pmtuAckIn(msg, msgLen);
      break;
    case MSG_IP_BINDING:
      bindingGossipMessage(msg, msgLen, self.now);
      break;
    case MSG_IP_BINDING_UNSIGNED: // a node from before bindings were signed: nobody vouches for it
      count(Stat.BindingUnsigned);
      break;
    case MSG_DHCP_RANGE:
    case MSG_DHCP_LEASE:
      dhcpGossipMessage(msg, msgLen, self.now);
      break;
    default:
      if (type >= MSG_NAT_FIRST && type <= MSG_NAT_LAST) { natMessageIn(src, msg, msgLen); return; }
      count(Stat.DatagramUnknownType);
  }
}

let macDumpNext: i32 = 0;

/** Write OUT_MAC records (docs/abi.md) from slot `from` (0 to start) until the output is full; returns the length. */
export function macs_dump(from: u32): u32 {
  outputReset();
  bindingsDumpBegin(self.now);
  macDumpNext = macDump(<i32>from, self.now, bindingsDumpLen, bindingsDumpWrite);
  return outputLength();
}

/** Where the next `macs_dump` page starts, 0 when the last call finished the table. */
export function macs_dump_next(): u32 { return <u32>macDumpNext; }

let dhcpDumpNext: u32 = 0;

/** Write OUT_DHCP_RANGE records (first page) and OUT_DHCP_LEASE records from pool offset `from`; returns the length. */
export function dhcp_dump(from: u32): u32 {
  outputReset();
  dhcpDumpNext = dhcpDump(from, self.now);
  return outputLength();
}

/** Where the next `dhcp_dump` page starts, 0 when the last call reached the end. */
export function dhcp_dump_next(): u32 { return dhcpDumpNext; }

/** Write the DHCP state to keep as OUT_DHCP_STATE records, from the start when `restart` is 1, else on from the last call; returns the length (0: done). */
export function dhcp_save(restart: u32): u32 {
  outputReset();
  dhcpSave(restart != 0);
  return outputLength();
}

/** Write one OUT_MEMBER record (docs/abi.md) per known member, self included; returns the length. */
export function members_dump(): u32 {
  outputReset();
  membersDump();
  return outputLength();
}

/** Write one OUT_PATH record (docs/abi.md) per peer; returns the length. */
export function paths_dump(): u32 {
  outputReset();
  pathsDump();
  return outputLength();
}

/** Write the OUT_SELF record (docs/abi.md): NAT guess and observed addresses; returns the length. */
export function self_dump(): u32 {
  outputReset();
  selfDump();
  return outputLength();
}

/** Write every counter as an OUT_STAT record; returns the output length. */
export function stats_dump(): u32 {
  outputReset();
  for (let i = 0; i < Stat.Count; i++) {
    const name = unchecked(STAT_NAMES[i]);
    const nameLen = <u32>String.UTF8.byteLength(name);
    const body = outputReserve(OUT_STAT, 8 + nameLen);
    if (body == 0) break;
    store<f64>(body, statValue(i));
    String.UTF8.encodeUnsafe(changetype<usize>(name), name.length, body + 8);
  }
  return outputLength();
}

