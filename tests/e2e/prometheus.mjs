// A strict parser of the Prometheus text format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/),
// for the --metrics tests: it throws on anything a scraper could reject or misread, not just on syntax.
//   parsePrometheus(text) -> Map(family name -> { type, help, samples: [{ name, labels, value }] })
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

export function parsePrometheus(text) {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const families = new Map();
  const seenSeries = new Set();
  let current = null; // the family whose samples may follow
  text.slice(0, -1).split("\n").forEach((line, i) => {
    const where = `line ${i + 1}: ${line}`;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (!m) return; // a comment
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) throw new Error(`bad metric name, ${where}`);
      let f = families.get(name);
      if (f && f !== current) throw new Error(`family ${name} is not contiguous, ${where}`);
      if (!f) families.set(name, (f = { name, type: "untyped", help: null, samples: [], typed: false }));
      if (kind === "TYPE") {
        if (f.typed || f.samples.length > 0) throw new Error(`TYPE after samples or twice, ${where}`);
        if (!TYPES.has(rest)) throw new Error(`bad type, ${where}`);
        f.type = rest;
        f.typed = true;
      } else {
        if (f.help !== null) throw new Error(`HELP twice, ${where}`);
        f.help = rest;
      }
      current = f;
      return;
    }
    if (line.trim() === "") throw new Error(`empty line inside the exposition, ${where}`);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`bad sample, ${where}`);
    const [, name, , labelText, valueText] = m;
    const labels = parseLabels(labelText ?? "", where);
    const value = parseValue(valueText, where);
    const f = familyOf(name, current);
    if (!f) throw new Error(`sample outside its family (${current?.name}), ${where}`);
    const series = name + JSON.stringify(Object.entries(labels).sort());
    if (seenSeries.has(series)) throw new Error(`duplicate series, ${where}`);
    seenSeries.add(series);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) checkFamily(f);
  return families;
}

function familyOf(name, current) {
  if (!current) return null;
  if (name === current.name) return current.type === "histogram" || current.type === "summary" ? null : current;
  const suffixes = current.type === "histogram" ? ["_bucket", "_sum", "_count"] : current.type === "summary" ? ["_sum", "_count"] : [];
  return suffixes.some((s) => name === current.name + s) ? current : null;
}

function parseLabels(text, where) {
  const labels = {};
  let rest = text;
  while (rest.length > 0) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
    if (!m || !LABEL.test(m[1])) throw new Error(`bad labels, ${where}`);
    if (m[1] in labels) throw new Error(`label ${m[1]} twice, ${where}`);
    labels[m[1]] = m[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    rest = rest.slice(m[0].length);
  }
  return labels;
}

function parseValue(text, where) {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value, ${where}`);
  return Number(text);
}

function checkFamily(f) {
  if (!f.typed) throw new Error(`${f.name} has no TYPE`);
  if (f.help === null) throw new Error(`${f.name} has no HELP`);
  if (f.type === "counter") {
    if (!f.name.endsWith("_total")) throw new Error(`counter ${f.name} does not end in _total`);
    for (const s of f.samples) if (!(s.value >= 0)) throw new Error(`counter ${f.name} is ${s.value}`);
  }
  if (f.type !== "histogram") return;
  const series = new Map();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    if (!series.has(key)) series.set(key, { buckets: [], sum: null, count: null });
    const h = series.get(key);
    if (s.name.endsWith("_bucket")) {
      if (le === undefined) throw new Error(`${s.name} without le`);
      h.buckets.push([le === "+Inf" ? Infinity : Number(le), s.value]);
    } else if (s.name.endsWith("_sum")) h.sum = s.value;
    else h.count = s.value;
  }
  for (const [key, h] of series) {
    const where = `${f.name}${key}`;
    if (h.sum === null || h.count === null) throw new Error(`${where}: no _sum or _count`);
    if (h.buckets.at(-1)?.[0] !== Infinity) throw new Error(`${where}: the last bucket is not +Inf`);
    for (let i = 1; i < h.buckets.length; i++) {
      if (!(h.buckets[i][0] > h.buckets[i - 1][0])) throw new Error(`${where}: buckets not in increasing le`);
      if (h.buckets[i][1] < h.buckets[i - 1][1]) throw new Error(`${where}: buckets not cumulative`);
    }
    if (h.buckets.at(-1)[1] !== h.count) throw new Error(`${where}: +Inf bucket is not _count`);
  }
}

/** The value of the one sample of `family` whose labels include `labels`. */
export function sampleValue(families, family, labels = {}, name = family) {
  const f = families.get(family);
  if (!f) throw new Error(`no family ${family}`);
  const found = f.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name} with ${JSON.stringify(labels)}`);
  return found[0].value;
}
