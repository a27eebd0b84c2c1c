// A MAC our TAP held, taken by another member's claim while its host was silent (docs/mactable.md
// "Silent hosts"). Either the host moved (a VM migrated to the claimant's side, whose TAP saw its
// first frame there: the usual case) or a member holding the network key claims a quiet host's MAC as
// its own to receive its traffic; nothing in the claim tells the two apart, and a host that only
// answers would never speak again here once its requests go elsewhere. So the node asks the host,
// unicast to the MAC, about addresses the host claimed here (at most PROBE_ADDRS): an ARP probe for
// IPv4 (RFC 5227: sender address 0.0.0.0, so no neighbour cache learns from it), a duplicate-address
// probe for IPv6 (an NS from ::, RFC 4862, which the holder answers with an NA to all nodes). A host
// still here answers, and its answer, a frame from our TAP, takes the MAC back at a higher version
// (learnLocal) and so everywhere; a host that moved does not, and the move stands. ARP answers go to
// the node's own MAC and end here (forwardFromTap).
import { ownAddressesOf } from "./bindings";
import { serverMac } from "./dhcp/pool";
import { Stat, count } from "./stats";
import { tapReserve } from "./tap";
import { ARP_LEN, ARP_OP_REQUEST, arpEmit } from "./wire/arp";
import { putU64 } from "./wire/bytes";
import { ETHERTYPE_ARP, ETHERTYPE_IPV6, ETH_HEADER_LEN, VLAN_TAG_LEN, ethEmit } from "./wire/ethernet";
import { IPV6_HEADER_LEN } from "./wire/ipv6";
import { NS_PROBE_LEN, ndpEmitProbe } from "./wire/ndp";

/** Addresses probed per takeover: a host answers for any of them; more would only repeat the question. */
const PROBE_ADDRS: i32 = 2;
const addr6: usize = heap.alloc(16);

/** Our host `mac` in `vlan` was taken by another member's claim while silent: ask it whether it is still here. */
export function probeSilentHost(mac: u64, vlan: u32): void {
  const addrs = ownAddressesOf(mac, vlan, PROBE_ADDRS);
  if (addrs.length == 0) { count(Stat.MacTakenUnprobed); return; }
  const hdrLen: u32 = vlan != 0 ? ETH_HEADER_LEN + VLAN_TAG_LEN : ETH_HEADER_LEN;
  for (let i = 0; i < addrs.length; i++) {
    const ip = unchecked(addrs[i]);
    const bodyLen = ip.v6 ? IPV6_HEADER_LEN + NS_PROBE_LEN : ARP_LEN;
    const f = tapReserve(hdrLen + bodyLen);
    if (f == 0) return; // output full (counted)
    ethEmit(f, hdrLen, mac, serverMac(), vlan, ip.v6 ? ETHERTYPE_IPV6 : ETHERTYPE_ARP);
    if (ip.v6) {
      putU64(addr6, ip.hi);
      putU64(addr6 + 8, ip.lo);
      ndpEmitProbe(f + hdrLen, bodyLen, addr6);
    } else {
      arpEmit(f + hdrLen, ARP_OP_REQUEST, serverMac(), 0, 0, <u32>ip.lo);
    }
    count(Stat.MacHostProbes);
  }
}
