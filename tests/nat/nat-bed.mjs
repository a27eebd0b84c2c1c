// The NAT test bed of tests/e2e/nat.test.mjs: an "internet" bridge (203.0.113.0/24) in its own
// namespace, a public node on it, and homes: a router namespace doing nftables masquerade between its
// WAN veth on the internet and its LAN, with a node behind it. Every namespace has the bed's prefix;
// nodes run the real CLI through harness.mjs's Testbed (start, ctl, exec, teardown by prefix).
//   cone home:      `masquerade` keeps the source port while it is free (endpoint-independent mapping)
//   symmetric home: `masquerade fully-random` (a fresh port per destination)
//   both:           WAN input only for established flows (address-and-port-dependent filtering), and a
//                   short conntrack UDP timeout (per network namespace), so a quiet mapping expires.
// The internet bridge counts every UDP 4-tuple that crosses it (an nft set with counters): which path
// traffic took is read from the underlay itself, not from what the nodes report.
import { spawn } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { CLI, sh, Testbed } from "../e2e/harness.mjs";

export const PUBLIC_IP = "203.0.113.10";
export const PROBE = join(dirname(fileURLToPath(import.meta.url)), "nat-probe.mjs");
/** Seconds a quiet UDP mapping lives in a home router (both the unreplied and the "stream" timeout). */
export const NAT_UDP_TIMEOUT_S = 15;

/** Homes: WAN address on the internet, a /26 of 198.51.100.0/24 behind each (so no two LANs overlap). */
export const HOMES = {
  ca: { kind: "cone", wan: "203.0.113.2", gateway: "198.51.100.1", node: "198.51.100.2", overlay: "198.18.0.2" },
  cb: { kind: "cone", wan: "203.0.113.3", gateway: "198.51.100.65", node: "198.51.100.66", overlay: "198.18.0.3" },
  sa: { kind: "symmetric", wan: "203.0.113.4", gateway: "198.51.100.129", node: "198.51.100.130", overlay: "198.18.0.4" },
  sb: { kind: "symmetric", wan: "203.0.113.5", gateway: "198.51.100.193", node: "198.51.100.194", overlay: "198.18.0.5" },
};
const LAN_PREFIX = 26;

/** `nft -f -` in `ns` with `script` on stdin. */
export function nft(ns, script) {
  return new Promise((resolve, reject) => {
    const proc = spawn("ip", ["netns", "exec", ns, "nft", "-f", "-"], { stdio: ["pipe", "ignore", "pipe"] });
    let err = "";
    proc.stderr.on("data", (d) => (err += d));
    proc.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`nft in ${ns} exited ${code}: ${err}`))));
    proc.stdin.end(script);
  });
}

function routerRules(kind) {
  return `
table ip nt_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade${kind === "symmetric" ? " fully-random" : ""}
  }
}
table inet nt_filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    iifname "lan" oifname "wan" accept
    ct state established,related accept
  }
  chain input {
    type filter hook input priority filter; policy drop;
    iifname { "lo", "lan" } accept
    ct state established,related accept
    iifname "wan" counter drop comment "unsolicited"
  }
}
`;
}

const INTERNET_RULES = `
table bridge nt_inet {
  set flows {
    type ipv4_addr . inet_service . ipv4_addr . inet_service
    size 65535
    flags dynamic
    counter
  }
  chain seen {
    type filter hook forward priority 0; policy accept;
    update @flows { ip saddr . udp sport . ip daddr . udp dport }
  }
}
`;

export class NatBed extends Testbed {
  constructor(prefix) {
    super({ prefix });
    this.inetNs = `${prefix}inet`;
  }

  /** The internet bridge, the public node's namespace `pub`, and the homes named (keys of HOMES). */
  async setupNat(homes) {
    await this.teardown();
    this.key = (await sh(process.execPath, CLI, "keygen")).trim();
    const inet = this.inetNs;
    await sh("ip", "netns", "add", inet);
    await sh("ip", "-n", inet, "link", "add", "br0", "type", "bridge");
    await sh("ip", "-n", inet, "link", "set", "br0", "up");
    await nft(inet, INTERNET_RULES);

    const pub = `${this.prefix}pub`;
    await this.namespace(pub);
    await sh("ip", "-n", inet, "link", "add", "w-pub", "type", "veth", "peer", "name", "ul0", "netns", pub);
    await sh("ip", "-n", inet, "link", "set", "w-pub", "master", "br0", "up");
    await sh("ip", "-n", pub, "addr", "add", `${PUBLIC_IP}/24`, "dev", "ul0");
    await sh("ip", "-n", pub, "link", "set", "ul0", "up");
    this.addNode("pub", pub, PUBLIC_IP, "198.18.0.10");

    for (const name of homes) {
      const home = HOMES[name];
      const router = `${this.prefix}r-${name}`;
      const ns = `${this.prefix}${name}`;
      await this.namespace(router);
      await this.namespace(ns);
      await sh("ip", "-n", inet, "link", "add", `w-${name}`, "type", "veth", "peer", "name", "wan", "netns", router);
      await sh("ip", "-n", inet, "link", "set", `w-${name}`, "master", "br0", "up");
      await sh("ip", "-n", router, "addr", "add", `${home.wan}/24`, "dev", "wan");
      await sh("ip", "-n", router, "link", "set", "wan", "up");
      await sh("ip", "-n", router, "link", "add", "lan", "type", "veth", "peer", "name", "ul0", "netns", ns);
      await sh("ip", "-n", router, "addr", "add", `${home.gateway}/${LAN_PREFIX}`, "dev", "lan");
      await sh("ip", "-n", router, "link", "set", "lan", "up");
      await sh("ip", "-n", ns, "addr", "add", `${home.node}/${LAN_PREFIX}`, "dev", "ul0");
      await sh("ip", "-n", ns, "link", "set", "ul0", "up");
      await sh("ip", "-n", ns, "route", "add", "default", "via", home.gateway);
      await nft(router, routerRules(home.kind));
      // The nat table loaded conntrack in this namespace: its UDP timeouts are this namespace's own.
      await sh("ip", "netns", "exec", router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1",
        `net.netfilter.nf_conntrack_udp_timeout=${NAT_UDP_TIMEOUT_S}`, `net.netfilter.nf_conntrack_udp_timeout_stream=${NAT_UDP_TIMEOUT_S}`);
      this.addNode(name, ns, home.node, home.overlay);
    }
  }

  async namespace(ns) {
    await sh("ip", "netns", "add", ns);
    await sh("ip", "-n", ns, "link", "set", "lo", "up");
  }

  addNode(name, ns, underlay, overlay) {
    this.nodes.set(name, { ns, underlay, overlay, proc: null, log: "", control: `/run/divs/${ns}.sock`, stateDir: `/run/divs/${ns}.state` });
  }

  /** Drops every datagram between the WAN addresses `a` and `b` on the internet, both ways, before the flows are counted. */
  cut(a, b) {
    return nft(this.inetNs, `
table bridge nt_cut {
  chain cut {
    type filter hook forward priority -10; policy accept;
    ip saddr ${a} ip daddr ${b} drop
    ip saddr ${b} ip daddr ${a} drop
  }
}
`);
  }

  /** Undoes `cut`. */
  async uncut() {
    await sh("ip", "netns", "exec", this.inetNs, "nft", "delete", "table", "bridge", "nt_cut");
  }

  /** A router namespace's UDP timeout as the kernel holds it (proves the sysctl is per namespace). */
  async udpTimeout(home) {
    return Number((await sh("ip", "netns", "exec", `${this.prefix}r-${home}`, "sysctl", "-n", "net.netfilter.nf_conntrack_udp_timeout")).trim());
  }

  /** Unsolicited WAN datagrams a home router dropped (its input chain's counter). */
  async unsolicited(home) {
    const out = JSON.parse(await sh("ip", "netns", "exec", `${this.prefix}r-${home}`, "nft", "-j", "list", "chain", "inet", "nt_filter", "input"));
    const rule = out.nftables.find((o) => o.rule?.comment === "unsolicited")?.rule;
    return rule?.expr.find((e) => e.counter)?.counter.packets ?? 0;
  }

  /** Packets per UDP 4-tuple seen on the internet bridge: "src:sport>dst:dport" -> packets. */
  async flows() {
    const out = JSON.parse(await sh("ip", "netns", "exec", this.inetNs, "nft", "-j", "list", "set", "bridge", "nt_inet", "flows"));
    const set = out.nftables.find((o) => o.set)?.set;
    const flows = new Map();
    for (const e of set?.elem ?? []) {
      const [src, sport, dst, dport] = e.elem.val.concat;
      flows.set(`${src}:${sport}>${dst}:${dport}`, e.elem.counter?.packets ?? 0);
    }
    return flows;
  }

  /** Packets that crossed the internet from any port of `fromIp` to any port of `toIp`. */
  static between(flows, fromIp, toIp) {
    let n = 0;
    for (const [tuple, packets] of flows) if (tuple.startsWith(`${fromIp}:`) && tuple.includes(`>${toIp}:`)) n += packets;
    return n;
  }

  /** `nat-probe.mjs` in `name`'s namespace (a node, `pub`, or a router `r-NAME`); resolves with its output. */
  probe(ns, ...args) {
    return sh("ip", "netns", "exec", ns, process.execPath, PROBE, ...args);
  }

  /** A long-running `nat-probe.mjs` (echo, listen) in `ns`; resolves once it printed "ready". */
  async probeServer(ns, ...args) {
    const proc = spawn("ip", ["netns", "exec", ns, process.execPath, PROBE, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    const exited = new Promise((resolve) => proc.once("exit", () => resolve(out)));
    await new Promise((resolve, reject) => {
      proc.stdout.on("data", (d) => {
        out += d;
        if (out.startsWith("ready\n")) resolve();
      });
      proc.once("exit", (code) => reject(new Error(`nat-probe ${args[0]} in ${ns} exited ${code}`)));
    });
    return { proc, output: () => exited.then((o) => o.slice("ready\n".length)) };
  }
}
