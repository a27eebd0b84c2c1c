// A MAC our TAP held, taken by another member's claim while its host was silent (docs/mactable.md
// "Silent hosts"). Either the host moved (a VM migrated to the claimant's side, whose TAP saw its
// first frame there: the usual case) or a member holding the network key claims a quiet host's MAC as
// its own to receive its traffic; nothing in the claim tells the two apart, and a host that only
// answers would never speak again here once its requests go elsewhere. So the node asks the host: an
// ARP probe (RFC 5227: sender address 0.0.0.0, so no neighbour cache learns from it), unicast to the
// MAC, for each IPv4 address the host claimed here (at most PROBE_ADDRS). A host still here answers,
// and its answer, a frame from our TAP, takes the MAC back at a higher version (learnLocal) and so
// everywhere; a host that moved does not, and the move stands. Answers go to the node's own MAC and
// end here (forwardFromTap).
import { ownIpv4Of } from "./bindings";
import { serverMac } from "./dhcp/pool";
import { Stat, count } from "./stats";
import { tapReserve } from "./tap";
import { ARP_LEN, ARP_OP_REQUEST, arpEmit } from "./wire/arp";
import { ETHERTYPE_ARP, ETH_HEADER_LEN, VLAN_TAG_LEN, ethEmit } from "./wire/ethernet";

/** Addresses probed per takeover: a host answers for any of them; more would only repeat the question. */
const PROBE_ADDRS: i32 = 2;
const FRAME_MAX: u32 = ETH_HEADER_LEN + VLAN_TAG_LEN + ARP_LEN;

/** Our host `mac` in `vlan` was taken by another member's claim while silent: ask it whether it is still here. */
export function probeSilentHost(mac: u64, vlan: u32): void {
  const addrs = ownIpv4Of(mac, vlan, PROBE_ADDRS);
  if (addrs.length == 0) { count(Stat.MacTakenUnprobed); return; }
  const hdrLen: u32 = vlan != 0 ? ETH_HEADER_LEN + VLAN_TAG_LEN : ETH_HEADER_LEN;
  for (let i = 0; i < addrs.length; i++) {
    const f = tapReserve(hdrLen + ARP_LEN);
    if (f == 0) return; // output full (counted)
    ethEmit(f, FRAME_MAX, mac, serverMac(), vlan, ETHERTYPE_ARP);
    arpEmit(f + hdrLen, ARP_OP_REQUEST, serverMac(), 0, 0, unchecked(addrs[i]));
    count(Stat.MacHostProbes);
  }
}
