// The status page (docs/ui.md): one HTML document with its style and script inline, nothing fetched
// from elsewhere (its Content-Security-Policy, host/ops/ui.ts, forbids it). The script polls
// api/state once a second and redraws: the member graph (inline SVG), members, MAC table, counters.
// Everything a member sends (names, addresses) goes into the DOM as text, never as markup.

export const UI_STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f4f6f9; }
header { background: #1d2330; color: #fff; padding: 10px 18px; display: flex; gap: 18px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; }
header .dim { color: #aab3c5; }
#live { margin-left: auto; }
#live.stale { color: #ff8a80; }
main { display: grid; grid-template-columns: minmax(340px, 560px) 1fr; gap: 14px; padding: 14px; }
section { background: #fff; border-radius: 6px; padding: 10px 14px; box-shadow: 0 1px 2px #0002; overflow: auto; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 14px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: .05em; color: #5a6478; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #e6e9ef; white-space: nowrap; }
th { color: #5a6478; font-weight: 600; }
td.num { text-align: right; }
.state-alive { color: #1b873f; } .state-suspect { color: #b7791f; } .state-dead { color: #c53030; } .state-left { color: #718096; }
#counters { columns: 19em; column-gap: 28px; font-variant-numeric: tabular-nums; font-size: 13px; }
.counter { display: flex; gap: 8px; border-bottom: 1px solid #e6e9ef; padding: 1px 0; break-inside: avoid; }
.counter .k { flex: 1; overflow: hidden; text-overflow: ellipsis; }
.counter .r { width: 5.5em; text-align: right; color: #5a6478; }
h2 label { float: right; text-transform: none; letter-spacing: 0; font-weight: normal; }
svg { width: 100%; height: auto; }
svg text { font-size: 12px; fill: #1d2330; }
svg .edge-direct { stroke: #1b873f; stroke-width: 2.5; }
svg .edge-relay { stroke: #dd6b20; stroke-width: 2.5; stroke-dasharray: 7 5; }
svg .edge-carried { stroke: #805ad5; stroke-width: 1.5; stroke-dasharray: 2 4; }
svg .edge-none { stroke: #cbd2dc; stroke-width: 1.5; stroke-dasharray: 1 5; }
svg circle { stroke: #fff; stroke-width: 2; }
svg .node-alive { fill: #38a169; } svg .node-suspect { fill: #d69e2e; } svg .node-dead { fill: #e53e3e; } svg .node-left { fill: #a0aec0; }
svg .self { stroke: #1d2330; stroke-width: 3; }
.legend span { margin-right: 14px; font-size: 12px; color: #5a6478; }
.legend i { display: inline-block; width: 22px; height: 0; border-top: 3px solid; vertical-align: middle; margin-right: 4px; }
.legend i.l-direct { border-color: #1b873f; } .legend i.l-relay { border-color: #dd6b20; border-top-style: dashed; }
.legend i.l-carried { border-color: #805ad5; border-top-style: dotted; } .legend i.l-none { border-color: #cbd2dc; border-top-style: dotted; }
#error { color: #c53030; }
`;

export const UI_SCRIPT = `
"use strict";
var token = new URLSearchParams(location.search).get("token");
var stateUrl = "api/state" + (token ? "?token=" + encodeURIComponent(token) : "");
var POLL_MS = 1000;
var previous = null;
var SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, text) {
  var e = document.createElement(tag);
  for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function svg(tag, attrs, text) {
  var e = document.createElementNS(SVG, tag);
  for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = String(text);
  return e;
}
function fill(id, nodes) {
  var box = document.getElementById(id);
  box.replaceChildren.apply(box, nodes);
}
function table(id, head, rows) {
  var tr = el("tr");
  head.forEach(function (h) { tr.appendChild(el("th", {}, h)); });
  fill(id, [el("thead", {}), el("tbody", {})]);
  var t = document.getElementById(id);
  t.firstChild.appendChild(tr);
  rows.forEach(function (r) { t.lastChild.appendChild(r); });
}
function row(cells, attrs) {
  var tr = el("tr", attrs);
  cells.forEach(function (c) {
    var td = typeof c === "object" && c !== null ? el("td", c.attrs, c.text) : el("td", {}, c);
    tr.appendChild(td);
  });
  return tr;
}
function ms(v) { return v === null || v === undefined ? "" : (v < 10 ? v.toFixed(2) : v.toFixed(1)) + " ms"; }
function duration(msTotal) {
  var s = Math.floor(msTotal / 1000), d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  return (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m " + (s % 60) + "s";
}

function selfFirst(members) {
  return members.slice().sort(function (a, b) { return (b.self - a.self) || a.name.localeCompare(b.name); });
}

/** Members on a circle, this node first; an edge for each pair: direct, or through the relay. */
function graph(state) {
  var members = selfFirst(state.members);
  var W = 480, H = 360, cx = W / 2, cy = H / 2, r = Math.min(W, H) / 2 - 50;
  var at = {};
  members.forEach(function (m, i) {
    var a = -Math.PI / 2 + (2 * Math.PI * i) / members.length;
    at[m.id] = members.length === 1 ? { x: cx, y: cy } : { x: cx + r * Math.cos(a), y: cy + r * Math.sin(a) };
  });
  var byName = {}, byAddress = {};
  members.forEach(function (m) { byName[m.name] = m; byAddress[m.address] = m; });
  var self = members.find(function (m) { return m.self; });
  var root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "member graph" });
  // A relayed leg is drawn beside the line it shares with a direct path, not on top of it.
  function line(a, b, cls, title) {
    var p = at[a.id], q = at[b.id], len = Math.hypot(q.x - p.x, q.y - p.y) || 1;
    var shift = cls === "edge-relay" ? 5 : 0, nx = ((q.y - p.y) / len) * shift, ny = ((p.x - q.x) / len) * shift;
    var l = svg("line", { x1: p.x + nx, y1: p.y + ny, x2: q.x + nx, y2: q.y + ny, class: cls, "data-edge": a.name + "|" + b.name });
    l.appendChild(svg("title", {}, title));
    root.appendChild(l);
  }
  members.forEach(function (m) {
    if (m.self || !self) return;
    var via = m.path === "relay" ? byName[m.via] : null;
    if (m.path === "direct") line(self, m, "edge-direct", self.name + " - " + m.name + ": direct " + ms(m.rtt_ms));
    else if (via) {
      line(self, via, "edge-relay", self.name + " - " + m.name + " relayed by " + via.name);
      line(via, m, "edge-relay", self.name + " - " + m.name + " relayed by " + via.name);
    } else line(self, m, m.path === "relay" ? "edge-relay" : "edge-none", self.name + " - " + m.name + ": " + (m.path || "no path"));
  });
  // Pairs of other members, as they report their paths (one line per pair: the first report of it).
  var drawn = {};
  function pairKey(a, b) { return a < b ? a + "|" + b : b + "|" + a; }
  ((state.paths && state.paths.pairs) || []).forEach(function (p) {
    var a = byName[p.from], b = byName[p.to], key = pairKey(p.from, p.to);
    if (!a || !b || a.self || b.self || drawn[key]) return;
    drawn[key] = true;
    var via = p.path === "relay" ? byName[p.via] : null;
    if (p.path === "direct") line(a, b, "edge-direct", a.name + " - " + b.name + ": direct " + ms(p.rtt_ms));
    else if (via) {
      line(a, via, "edge-relay", a.name + " - " + b.name + " relayed by " + via.name);
      line(via, b, "edge-relay", a.name + " - " + b.name + " relayed by " + via.name);
    } else line(a, b, "edge-none", a.name + " - " + b.name + ": no path yet");
  });
  // Pairs this node relays between that no report covered (a member that did not answer in time).
  (state.status.relay.pairs || []).forEach(function (p) {
    var a = byAddress[p.a] || findByEndpoint(state.members, p.a), b = byAddress[p.b] || findByEndpoint(state.members, p.b);
    if (a && b && !drawn[pairKey(a.name, b.name)]) line(a, b, "edge-carried", a.name + " - " + b.name + " relayed by this node");
  });
  members.forEach(function (m) {
    var p = at[m.id];
    var g = svg("g", { "data-member": m.name, "data-state": m.state });
    var c = svg("circle", { cx: p.x, cy: p.y, r: m.self ? 16 : 13, class: "node-" + m.state + (m.self ? " self" : "") });
    c.appendChild(svg("title", {}, m.name + " (" + m.state + ") " + m.address));
    g.appendChild(c);
    var below = p.y >= cy;
    g.appendChild(svg("text", { x: p.x, y: p.y + (below ? 32 : -24), "text-anchor": "middle" }, m.name + (m.self ? " (this node)" : "")));
    if (!m.self && m.rtt_ms !== null) g.appendChild(svg("text", { x: p.x, y: p.y + (below ? 46 : -38), "text-anchor": "middle", fill: "#5a6478" }, ms(m.rtt_ms)));
    root.appendChild(g);
  });
  fill("graph", [root]);
}
function findByEndpoint(members, endpoint) {
  return members.find(function (m) { return m.endpoint === endpoint; });
}

function members(state) {
  table("members", ["name", "id", "state", "address", "path", "via", "endpoint", "RTT", "path MTU"], selfFirst(state.members).map(function (m) {
    return row([
      m.name + (m.self ? " (this node)" : ""), m.id, { text: m.state, attrs: { class: "state-" + m.state } }, m.address,
      m.self ? "" : m.path || "none", m.via || "", m.endpoint || "", { text: ms(m.rtt_ms), attrs: { class: "num" } },
      { text: m.pmtu || "", attrs: { class: "num" } },
    ], { "data-member": m.name, "data-state": m.state });
  }));
}

function macs(state) {
  var names = {};
  state.members.forEach(function (m) { names[m.id] = m.name; });
  table("macs", ["MAC", "VLAN", "owner", "kind", "IP addresses", "age"], state.macs.map(function (e) {
    return row([e.mac, e.vlan || "", names[e.owner] || e.owner, e.kind, e.ips.join(", "), { text: (e.ageMs / 1000).toFixed(0) + " s", attrs: { class: "num" } }],
      { "data-mac": e.mac });
  }));
}

/** The counters (the ones at zero only when asked for), each with its rate since the last poll. */
function counters(state) {
  var all = {};
  for (var k in state.status.counters) all[k] = state.status.counters[k];
  for (var s in state.status.security.counters) all["security." + s] = state.status.security.counters[s];
  var before = previous && previous.counters, dt = previous ? (state.at - previous.at) / 1000 : 0;
  var names = Object.keys(all).sort();
  var zeros = names.filter(function (k) { return all[k] === 0; }).length;
  var showZeros = document.getElementById("zeros").checked;
  document.getElementById("zeros-label").textContent = "show the " + zeros + " at zero";
  fill("counters", names.filter(function (k) { return showZeros || all[k] !== 0; }).map(function (k) {
    var rate = before && dt > 0 && k in before ? (all[k] - before[k]) / dt : null;
    var line = el("div", { class: "counter", "data-counter": k });
    line.appendChild(el("span", { class: "k" }, k));
    line.appendChild(el("span", { class: "v" }, all[k]));
    line.appendChild(el("span", { class: "r" }, rate ? rate.toFixed(1) + "/s" : ""));
    return line;
  }));
  previous = { at: state.at, counters: all };
}

function header(state) {
  var s = state.status;
  document.title = "divs: " + s.name;
  document.getElementById("name").textContent = s.name;
  document.getElementById("about").textContent = [s.tap, s.address, "listen " + s.listen, "advertise " + s.advertise,
    "NAT " + s.nat, s.runtime, "divs " + s.version, "up " + duration(s.uptimeMs)].filter(Boolean).join("  ·  ");
  var counts = Object.keys(s.members).sort().map(function (k) { return s.members[k] + " " + k; }).join(", ");
  document.getElementById("summary").textContent = counts + "  ·  " + s.macs + " MACs";
}

function render(state) {
  header(state);
  graph(state);
  members(state);
  macs(state);
  counters(state);
}

function poll() {
  var live = document.getElementById("live");
  fetch(stateUrl, { cache: "no-store" }).then(function (r) {
    if (!r.ok) return r.text().then(function (t) { throw new Error(t.trim() || String(r.status)); });
    return r.json();
  }).then(function (state) {
    render(state);
    live.className = "";
    live.textContent = "updated " + new Date(state.at).toLocaleTimeString();
    document.getElementById("error").textContent = "";
  }).catch(function (e) {
    live.className = "stale";
    live.textContent = "not updating";
    document.getElementById("error").textContent = e.message;
  }).finally(function () { setTimeout(poll, POLL_MS); });
}
poll();
`;

/** The document; ui.ts puts the style and script in with the hashes its policy names. */
export function uiPage(style: string, script: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>divs</title>
<style>${style}</style>
</head>
<body>
<header><h1 id="name">divs</h1><span id="summary" class="dim"></span><span id="about" class="dim"></span><span id="live">connecting</span></header>
<main>
<section><h2>Members and paths</h2><div id="graph"></div>
<div class="legend"><span><i class="l-direct"></i>direct</span><span><i class="l-relay"></i>relayed</span><span><i class="l-carried"></i>relayed by this node</span><span><i class="l-none"></i>no path</span></div>
<p id="error"></p></section>
<section><h2>MAC table</h2><table id="macs"></table></section>
<section class="wide"><h2>Members</h2><table id="members"></table></section>
<section class="wide"><h2>Counters <label><input type="checkbox" id="zeros"><span id="zeros-label"></span></label></h2><div id="counters"></div></section>
</main>
<script>${script}</script>
</body>
</html>
`;
}
