// The Prometheus text format (0.0.4) of a running node: `divs up --metrics HOST:PORT` serves it on
// GET /metrics (docs/metrics.md lists every family and where its value comes from). It is built from
// the control protocol's `status` and `members` answers, the ones `divs status --json` shows, so it
// runs where the control socket is served (Node: the main thread, which never blocks the data plane).
import { type MemberRow, parseResponse, type Status } from "../engine/control.ts";
import { serveGet } from "./http-get.ts";
import type { ControlServer } from "../engine/platform.ts";
import type { Timers } from "../base/services.ts";
import type { MetricsOptions } from "../engine/node-options.ts";
import { REJECTION_COUNTERS } from "../secure/index.ts";

export const METRICS_PATH = "/metrics";
/** The port of `--metrics HOST` without one (the OpenTelemetry Prometheus exporter's). */
export const DEFAULT_METRICS_PORT = 9464;
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** Per-peer RTT histogram buckets, seconds: 100 us (one LAN hop) to 2.5 s (a congested WAN path). */
export const RTT_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** How often members' path RTTs are read for the histograms (and at every scrape). */
export const RTT_SAMPLE_MS = 1000;

const MEMBER_STATES = ["alive", "suspect", "dead", "left"];

/** Core counters (stats_dump) that count something dropped: divs_drops_total{layer="core"}. */
const CORE_DROPS = [
  "input_malformed", "input_unknown_kind", "output_overflow", "frames_truncated", "datagram_truncated", "datagram_bad_version",
  "datagram_unknown_type", "frames_bad_source", "frames_too_big", "frames_misdirected", "frames_bad_vnet", "gro_bad_checksum",
  "mac_table_full", "mac_update_malformed", "member_msg_malformed", "member_ping_misdirected", "member_relay_dropped",
  "member_pushpull_too_big", "member_table_full", "pmtu_malformed", "path_malformed", "path_from_non_member", "path_pings_dropped",
  "arp_malformed", "nd_malformed", "ip_binding_updates_malformed", "dhcp_malformed", "dhcp_gossip_malformed",
];
/** Host counters of frames or datagrams lost: divs_drops_total{layer="host"}. */
const HOST_DROPS = ["tap_write_errors", "udp_send_errors", "core_records_malformed"];

/** What the process costs, from the runtime. */
export interface ProcessStats {
  cpuSeconds: number;
  residentBytes: number;
  startTimeSeconds: number;
}

/** One control request by command name, answered with its result (host/engine/control.ts). */
export type ControlAsk = (cmd: string) => Promise<unknown>;

/** A control server's `answer` (a request line in, a response line out) as a ControlAsk. */
export function askOf(answer: (line: string) => Promise<string>): ControlAsk {
  return async (cmd) => parseResponse(await answer(JSON.stringify({ cmd })));
}

interface PeerRtt {
  name: string;
  last: number | null;
  buckets: number[];
  count: number;
  sum: number;
}

export class NodeMetrics {
  /** By member id. */
  private readonly rtt = new Map<string, PeerRtt>();
  private timer: unknown = null;

  constructor(private readonly ask: ControlAsk, private readonly processStats: () => ProcessStats, private readonly timers: Timers) {}

  /** Reads the members' RTTs every RTT_SAMPLE_MS until stop(). */
  start(): void {
    const next = () => {
      this.timer = this.timers.set(() => void this.sample().catch(() => {}).then(() => this.timer !== null && next()), RTT_SAMPLE_MS);
    };
    next();
  }

  stop(): void {
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
  }

  /**
   * Observes each member's path RTT when it changed since the last reading (a new PATH_PONG; two
   * measurements in a row to the microsecond are counted once), and forgets members no longer listed.
   */
  private async sample(): Promise<MemberRow[]> {
    const rows = (await this.ask("members")) as MemberRow[];
    const listed = new Set(rows.map((m) => m.id));
    for (const id of this.rtt.keys()) if (!listed.has(id)) this.rtt.delete(id);
    for (const m of rows) {
      if (m.self || m.rtt_ms === null || m.rtt_ms === undefined) continue;
      let peer = this.rtt.get(m.id);
      if (peer === undefined) {
        peer = { name: m.name, last: null, buckets: RTT_BUCKETS_S.map(() => 0), count: 0, sum: 0 };
        this.rtt.set(m.id, peer);
      }
      if (peer.last === m.rtt_ms) continue;
      peer.last = m.rtt_ms;
      const seconds = m.rtt_ms / 1000;
      RTT_BUCKETS_S.forEach((le, i) => {
        if (seconds <= le) peer.buckets[i]++;
      });
      peer.count++;
      peer.sum += seconds;
    }
    return rows;
  }

  async render(): Promise<string> {
    const status = (await this.ask("status")) as Status;
    const rows = await this.sample();
    const c = { ...status.counters, ...status.security.counters } as Record<string, number>;
    const out = new Exposition();
    const dir = (into: number, outOf: number): Sample[] => [[{ direction: "in" }, into], [{ direction: "out" }, outOf]];

    out.family("divs_info", "gauge", "The node: constant 1, its identity in labels.", [[{
      node: status.name, id: status.id, tap: status.tap, version: status.version, runtime: status.runtime,
    }, 1]]);
    out.family("divs_tap_frames_total", "counter", "Frames read from the TAP (in) and written to it (out); a TSO segment of up to 64 KB is one frame.",
      dir(c.frames_from_tap, c.frames_to_tap));
    out.family("divs_tap_bytes_total", "counter", "Bytes read from the TAP (in) and written to it (out), virtio-net header included.",
      dir(c.tap_bytes_read, c.tap_bytes_written));
    out.family("divs_underlay_datagrams_total", "counter", "Underlay UDP datagrams received (in, before authentication) and sent (out).",
      dir(c.datagrams_read, c.udp_datagrams_sent));
    out.family("divs_underlay_bytes_total", "counter", "Underlay UDP payload bytes received (in) and queued to send (out).",
      dir(c.udp_bytes_received, c.udp_bytes_sent));
    out.family("divs_drops_total", "counter", "Frames, datagrams and records dropped, by layer and reason (the counter of divs status).", [
      ...drops("core", CORE_DROPS, c), ...drops("transport", REJECTION_COUNTERS, c), ...drops("host", HOST_DROPS, c),
    ]);
    out.family("divs_members", "gauge", "Members this node knows (itself included), by state.",
      MEMBER_STATES.map((state) => [{ state }, status.members[state] ?? 0]));
    out.family("divs_paths", "gauge", "Members reached by each kind of path.",
      (["direct", "relay"] as const).map((kind) => [{ kind }, rows.filter((m) => m.path === kind).length]));
    out.family("divs_mac_table_entries", "gauge", "Entries in the MAC table.", [[{}, status.macs]]);
    out.family("divs_sessions", "gauge", "Transport sessions open now.", [[{}, status.security.sessions.length]]);
    out.family("divs_handshakes_total", "counter", "Handshakes this node started.", [[{}, c.handshakes_started]]);
    out.family("divs_handshake_failures_total", "counter", "Handshakes that failed: no answer to the initiation (timeout) or to the challenge (confirm_timeout).",
      [[{ reason: "timeout" }, c.handshake_timeouts], [{ reason: "confirm_timeout" }, c.confirm_timeouts]]);
    out.family("divs_sessions_established_total", "counter", "Sessions established, by this node's role in the handshake.",
      [[{ role: "initiator" }, c.sessions_initiated], [{ role: "responder" }, c.sessions_responded]]);
    out.family("divs_sealing_errors_total", "counter", "Sealed DATA datagrams that failed authentication when opened (decrypt_failed).",
      [[{}, c.decrypt_failed]]);
    out.histogram("divs_peer_rtt_seconds", "Round-trip time of each member's path (its PATH_PONGs), one observation per new measurement.",
      [...this.rtt].map(([id, p]) => ({ labels: { peer: p.name, id }, buckets: p.buckets, count: p.count, sum: p.sum })));
    const proc = this.processStats();
    out.family("process_cpu_seconds_total", "counter", "User and system CPU time of the process, seconds.", [[{}, proc.cpuSeconds]]);
    out.family("process_resident_memory_bytes", "gauge", "Resident memory of the process.", [[{}, proc.residentBytes]]);
    out.family("process_start_time_seconds", "gauge", "Start time of the process, seconds since the Unix epoch.", [[{}, proc.startTimeSeconds]]);
    return out.text();
  }
}

type Labels = Record<string, string>;
type Sample = [Labels, number];

function drops(layer: string, names: readonly string[], c: Record<string, number>): Sample[] {
  return names.filter((reason) => reason in c).map((reason) => [{ layer, reason }, c[reason]]);
}

/** Writes families: HELP and TYPE once, then their samples, one line each. */
class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: "counter" | "gauge", help: string, samples: Sample[]): void {
    this.head(name, type, help);
    for (const [labels, value] of samples) this.sample(name, labels, value ?? 0);
  }

  histogram(name: string, help: string, series: { labels: Labels; buckets: number[]; count: number; sum: number }[]): void {
    this.head(name, "histogram", help);
    for (const s of series) {
      RTT_BUCKETS_S.forEach((le, i) => this.sample(`${name}_bucket`, { ...s.labels, le: String(le) }, s.buckets[i]));
      this.sample(`${name}_bucket`, { ...s.labels, le: "+Inf" }, s.count);
      this.sample(`${name}_sum`, s.labels, s.sum);
      this.sample(`${name}_count`, s.labels, s.count);
    }
  }

  text(): string {
    return this.lines.join("\n") + "\n";
  }

  private head(name: string, type: string, help: string): void {
    this.lines.push(`# HELP ${name} ${help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n")}`, `# TYPE ${name} ${type}`);
  }

  private sample(name: string, labels: Labels, value: number): void {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v.replaceAll("\\", "\\\\").replaceAll("\"", "\\\"").replaceAll("\n", "\\n")}"`);
    this.lines.push(`${name}${pairs.length > 0 ? `{${pairs.join(",")}}` : ""} ${formatValue(value)}`);
  }
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** How a control socket is served: the runtime's serveControl. */
export type ServeControl = (path: string, answer: (line: string) => Promise<string>) => Promise<ControlServer>;

/**
 * `serveControl`, and with `metrics` GET /metrics next to it, read through the same `answer` (the
 * control socket's); closing the returned server closes both and stops the RTT sampling.
 */
export function withMetrics(serveControl: ServeControl, metrics: MetricsOptions | null, processStats: () => ProcessStats, timers: Timers): ServeControl {
  if (metrics === null) return serveControl;
  return async (path, answer) => {
    const control = await serveControl(path, answer);
    const node = new NodeMetrics(askOf(answer), processStats, timers);
    let server;
    try {
      server = await serveGet({
        listen: metrics.listen,
        token: metrics.token,
        routes: { [METRICS_PATH]: async () => ({ contentType: METRICS_CONTENT_TYPE, body: await node.render() }) },
      });
    } catch (e) {
      await control.close();
      throw e;
    }
    node.start();
    return {
      close: async () => {
        node.stop();
        await server.close();
        await control.close();
      },
    };
  };
}
