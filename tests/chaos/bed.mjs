// The chaos testbed: N real `divs up` processes (Node and Deno) on one underlay bridge (the e2e
// Testbed, prefix "ch-"), and what chaos does to them: kill -9 and restart, partitions (nftables
// filter in each node's namespace), bursts of loss (netdev ingress numgen, as nb_impair), a network
// key rotation (`divs key install/use/remove`), a MAC moved from one TAP to another. It also reads
// what every live node believes (members, MAC table) and what each process uses (fds, RSS, CPU).
// Each node's output, every life of it, is kept in DIR/logs/NAME.log for the post-mortem of a failed run.
import { spawn } from "node:child_process";
import net from "node:net";
import { appendFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, Testbed, sh } from "../e2e/harness.mjs";

export const PREFIX = "ch-";
const TAP = "divs0";
const PARTITION_TABLE = "chaos_partition";
const LOSS_TABLE = "chaos_loss";

export class ChaosBed {
  constructor({ nodes, denoEvery, config, dir }) {
    this.tb = new Testbed({ prefix: PREFIX });
    this.names = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
    this.denoEvery = denoEvery; // every k-th node runs under Deno (0: none)
    this.dir = dir;
    this.configFile = join(dir, "membership.json");
    writeFileSync(this.configFile, JSON.stringify(config));
    /** name -> { pid, id, mac, runtime, restarts, fds0 }; absent while the node is down. */
    this.live = new Map();
    this.starts = new Map();
    /** Exits we did not cause: name, code, signal, log tail. */
    this.crashes = [];
    /**
     * Each node's TAP MAC, kept across restarts (--mac, as a VM keeps its MAC): neighbours' ARP caches
     * stay right, and a restart tests the MAC table's handover from the dead instance to the new one.
     */
    this.macs = new Map(this.names.map((name, i) => [name, macOf(0, i + 1)]));
  }

  runtimeOf(name) {
    const i = this.names.indexOf(name) + 1;
    return this.denoEvery > 0 && i % this.denoEvery === 0 ? "deno" : "node";
  }

  async setup() {
    await this.tb.setup(this.names);
    for (const name of this.names) {
      // A TAP whose MAC changes announces it (gratuitous ARP), so neighbours follow a moved MAC at once.
      await this.tb.exec(name, "sysctl", "-q", "-w", "net.ipv4.conf.default.arp_notify=1");
    }
  }

  /** Starts (or restarts) `name`, joining through `via` (a live node's name) unless it is the first. */
  async start(name, via) {
    const runtime = this.runtimeOf(name);
    const n = this.tb.start(name, {
      // The harness gives each node a state directory of its own, kept across restarts (the same id).
      join: via, config: this.configFile, runtime: runtime === "deno" ? "deno" : null, mac: this.macs.get(name),
    });
    this.starts.set(name, (this.starts.get(name) ?? 0) + 1);
    const entry = { pid: null, id: null, mac: null, runtime, fds0: null, killed: false, restarts: this.starts.get(name) - 1 };
    n.exited.then(({ code, signal }) => {
      this.keepLog(name, n.log, `exit code ${code} signal ${signal}${entry.killed ? " (killed by the bed)" : ""}`);
      if (!entry.killed && this.live.get(name) === entry) {
        this.crashes.push({ name, code, signal, at: Date.now(), log: n.log.slice(-2000) });
        this.live.delete(name);
      }
    });
    // the control socket answers once the node is up; then its id, MAC and real pid (Deno: the child)
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (n.proc === null || n.proc.exitCode !== null) throw new Error(`${name} exited at start: ${n.log.slice(-800)}`);
      try {
        const members = await this.control(name, "members");
        entry.id = members.find((m) => m.self).id;
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`${name} did not answer in 60 s: ${n.log.slice(-800)}`);
        await sleep(200);
      }
    }
    entry.pid = n.proc.pid; // under Deno too: `divs up --runtime deno` becomes deno (execve)
    entry.mac = this.macs.get(name);
    entry.fds0 = fdCount(entry.pid);
    this.live.set(name, entry);
    return entry;
  }

  /** kill -9 of the node process. */
  async kill9(name) {
    const entry = this.live.get(name);
    entry.killed = true;
    this.live.delete(name);
    process.kill(entry.pid, "SIGKILL");
    await this.tb.node(name).exited;
    this.tb.node(name).proc = null;
  }

  /** Appends one life of `name`'s output to DIR/logs/NAME.log. */
  keepLog(name, text, end) {
    mkdirSync(join(this.dir, "logs"), { recursive: true });
    appendFileSync(join(this.dir, "logs", `${name}.log`), `${text}--- ${new Date().toISOString()} ${end}\n`);
  }

  liveNames() {
    return [...this.live.keys()];
  }

  /** Drops underlay traffic between the two groups, in both directions, in every member's namespace. */
  async partition(groupA, groupB) {
    const addrs = (names) => names.map((n) => this.tb.node(n).underlay).join(", ");
    for (const [mine, other] of [[groupA, groupB], [groupB, groupA]]) {
      for (const name of mine) {
        await this.nft(name, `table inet ${PARTITION_TABLE} {
          chain input { type filter hook input priority 0; ip saddr { ${addrs(other)} } drop; }
          chain output { type filter hook output priority 0; ip daddr { ${addrs(other)} } drop; }
        }`);
      }
    }
  }

  async heal() {
    for (const name of this.names) await this.deleteTable(name, "inet", PARTITION_TABLE);
  }

  /** Drops `percent` % of what arrives on these nodes' underlay (as nb_impair loss=PCT). */
  async loss(names, percent) {
    for (const name of names) {
      await this.nft(name, `table netdev ${LOSS_TABLE} {
        chain ingress { type filter hook ingress device "ul0" priority 0; numgen random mod 100 < ${percent} drop; }
      }`);
    }
  }

  async lossEnd() {
    for (const name of this.names) await this.deleteTable(name, "netdev", LOSS_TABLE);
  }

  async nft(name, rules) {
    const p = spawn("ip", ["netns", "exec", this.tb.node(name).ns, "nft", "-f", "-"], { stdio: ["pipe", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (d) => (err += d));
    p.stdin.end(rules);
    const code = await new Promise((resolve) => p.once("exit", resolve));
    if (code !== 0) throw new Error(`nft in ${name}: ${err}`);
  }

  async deleteTable(name, family, table) {
    await this.tb.exec(name, "nft", "delete", "table", family, table).catch(() => {}); // absent: nothing to heal
  }

  /**
   * Rotates the network key on every live node (docs/security.md "Rotating the key without downtime"):
   * install the new key everywhere, use it everywhere, remove the old one everywhere. Nodes started
   * from then on get the new key.
   */
  async rotateKey() {
    const key = (await sh(process.execPath, CLI, "keygen")).trim();
    const keyFile = join(this.dir, `key-${Date.now()}`);
    writeFileSync(keyFile, key + "\n", { mode: 0o600 });
    const names = this.liveNames();
    let oldIds = null;
    let newId = null;
    for (const name of names) {
      const before = await this.keyIds(name);
      await sh(process.execPath, CLI, "key", "install", "--key-file", keyFile, "--control", this.tb.node(name).control);
      const after = await this.keyIds(name);
      newId ??= after.ids.find((id) => !before.ids.includes(id));
      oldIds ??= before.ids;
    }
    for (const name of names) await sh(process.execPath, CLI, "key", "use", newId, "--control", this.tb.node(name).control);
    for (const name of names) {
      for (const id of oldIds) await sh(process.execPath, CLI, "key", "remove", id, "--control", this.tb.node(name).control);
    }
    this.tb.key = key;
    return { newId, oldIds };
  }

  async keyIds(name) {
    const list = await this.tb.ctl(name, "key", "list");
    return { ids: list.map((k) => k.id) };
  }

  /**
   * Moves `from`'s TAP MAC to `to` (a VM migrating): `from` takes a fresh MAC, then `to` takes the old
   * one. Both TAPs announce their new MAC (arp_notify).
   */
  async moveMac(from, to, serial) {
    const a = this.live.get(from);
    const b = this.live.get(to);
    const moved = a.mac;
    const freshMac = macOf(1, serial);
    await this.tb.exec(from, "ip", "link", "set", TAP, "address", freshMac);
    await this.tb.exec(to, "ip", "link", "set", TAP, "address", moved);
    a.mac = freshMac;
    b.mac = moved;
    this.macs.set(from, freshMac);
    this.macs.set(to, moved);
    return moved;
  }

  /** What each live node says: its members (alive ids) and its MAC table; null for a node that did not answer. */
  async observe() {
    const views = new Map();
    await Promise.all(this.liveNames().map(async (name) => {
      try {
        const [members, macs] = [await this.control(name, "members"), await this.control(name, "macs")];
        views.set(name, { alive: members.filter((m) => m.state === "alive").map((m) => m.id).sort(), macs });
      } catch {
        views.set(name, null);
      }
    }));
    return views;
  }

  /**
   * The invariant after a fault: every live node answers, sees exactly the live nodes' ids alive, and its
   * MAC table maps each live node's TAP MAC to that node and holds no entry owned by anyone else.
   * Returns null when it holds, else the first disagreement found.
   */
  async disagreement() {
    const views = await this.observe();
    const liveIds = [...this.live.values()].map((e) => e.id).sort();
    const macOwner = new Map([...this.live.values()].map((e) => [e.mac, e.id]));
    for (const [name, view] of views) {
      if (view === null) return `${name} did not answer`;
      if (view.alive.join() !== liveIds.join()) {
        const missing = liveIds.filter((id) => !view.alive.includes(id)).map((id) => this.nameOf(id));
        const extra = view.alive.filter((id) => !liveIds.includes(id));
        return `${name}: alive members differ (missing ${missing.join(",") || "-"}, not live ${extra.length})`;
      }
      const seen = new Map(view.macs.map((m) => [m.mac, m.owner]));
      for (const [mac, owner] of macOwner) {
        if (seen.get(mac) !== owner) return `${name}: ${mac} (${this.nameOf(owner)}) ${seen.has(mac) ? `owned by ${this.nameOf(seen.get(mac))}` : "missing"}`;
      }
      for (const [mac, owner] of seen) {
        if (!liveIds.includes(owner)) return `${name}: ${mac} still owned by a member that is not live`;
      }
    }
    return null;
  }

  /**
   * One request on the node's control socket (host/engine/control.ts), straight from this process: a
   * poll of 30 nodes would otherwise start 60 CLI processes.
   */
  control(name, cmd, timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      const conn = net.connect(this.tb.node(name).control);
      let text = "";
      const timer = setTimeout(() => conn.destroy(new Error("no answer")), timeoutMs);
      conn.setEncoding("utf8");
      conn.on("connect", () => conn.write(JSON.stringify({ cmd }) + "\n"));
      conn.on("data", (d) => (text += d));
      conn.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      conn.on("close", () => {
        clearTimeout(timer);
        try {
          const response = JSON.parse(text);
          if (!response.ok) throw new Error(response.error);
          resolve(response.result);
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  /** Every counter of the node (the core's, the host's and the transport's as `secure.NAME`), or null if it did not answer. */
  async counters(name) {
    try {
      const status = await this.control(name, "status");
      const secure = Object.fromEntries(Object.entries(status.security.counters).map(([k, v]) => [`secure.${k}`, v]));
      return { ...status.counters, ...secure };
    } catch {
      return null;
    }
  }

  nameOf(id) {
    for (const [name, e] of this.live) if (e.id === id) return name;
    return id;
  }

  /** fds, RSS (KiB), CPU ticks of each live node process. */
  sample() {
    const out = {};
    for (const [name, e] of this.live) {
      try {
        out[name] = { fds: fdCount(e.pid), ...procStatus(e.pid), runtime: e.runtime };
      } catch {
        // exited between the map read and here: its exit is recorded
      }
    }
    return out;
  }

  async teardown() {
    for (const e of this.live.values()) e.killed = true;
    await this.tb.teardown();
    this.live.clear();
  }
}

/** A locally administered unicast MAC: 02:c4:<kind>:<serial, 3 bytes>. */
function macOf(kind, serial) {
  const hex = (v) => v.toString(16).padStart(2, "0");
  return `02:c4:${hex(kind)}:${hex((serial >> 16) & 255)}:${hex((serial >> 8) & 255)}:${hex(serial & 255)}`;
}

export function fdCount(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * VmRSS, VmHWM and Pss (KiB: RSS with each shared page divided among the processes mapping it, such as
 * the node executable's) and utime+stime (ticks) of a process.
 */
export function procStatus(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const pss = Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? NaN);
  return { rssKib: kib("VmRSS"), hwmKib: kib("VmHWM"), pssKib: pss, cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function makeDir(dir) {
  mkdirSync(dir, { recursive: true });
  return dir;
}
