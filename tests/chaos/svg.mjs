// Small SVG charts for the chaos and soak reports: no dependency, one file each.
const W = 900;
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");

/**
 * Panels stacked vertically; each is { title, bars: [{ label, values: [number...], colors }], line? }
 * (a horizontal reference line { value, label }) or { title, series: [{ name, color, points: [[x, y]] }],
 * xLabel, yLabel } (a line chart).
 */
export function svgChart(title, panels) {
  const H = 260;
  const parts = [`<text x="10" y="22" font-size="16" font-weight="bold">${esc(title)}</text>`];
  panels.forEach((p, i) => parts.push(`<g transform="translate(0, ${40 + i * (H + 30)})">${p.series ? lines(p, H) : bars(p, H)}</g>`));
  const height = 40 + panels.length * (H + 30);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" font-family="sans-serif" font-size="11">` +
    `<rect width="100%" height="100%" fill="white"/>${parts.join("")}</svg>\n`;
}

function frame(p, H, max, yLabel) {
  const out = [`<text x="60" y="0" font-size="13">${esc(p.title)}</text>`,
    `<line x1="60" y1="${H}" x2="${W - 20}" y2="${H}" stroke="black"/><line x1="60" y1="10" x2="60" y2="${H}" stroke="black"/>`];
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    const y = H - ((H - 10) * k) / 4;
    out.push(`<text x="55" y="${y + 4}" text-anchor="end">${+v.toPrecision(3)}</text>`,
      `<line x1="60" y1="${y}" x2="${W - 20}" y2="${y}" stroke="#ddd"/>`);
  }
  if (yLabel) out.push(`<text x="12" y="${H / 2}" transform="rotate(-90 12 ${H / 2})" text-anchor="middle">${esc(yLabel)}</text>`);
  return out;
}

function bars(p, H) {
  const max = Math.max(1e-9, p.line?.value ?? 0, ...p.bars.flatMap((b) => b.values)) * 1.1;
  const out = frame(p, H, max, p.yLabel);
  const slot = (W - 90) / Math.max(1, p.bars.length);
  p.bars.forEach((b, i) => {
    const width = Math.max(2, (slot * 0.8) / b.values.length);
    b.values.forEach((v, k) => {
      const h = ((H - 10) * v) / max;
      out.push(`<rect x="${65 + i * slot + k * width}" y="${H - h}" width="${width - 1}" height="${h}" fill="${b.colors[k]}"><title>${esc(b.label)}: ${v}</title></rect>`);
    });
    if (p.bars.length <= 40) out.push(`<text x="${65 + i * slot}" y="${H + 12}" font-size="9">${esc(b.label)}</text>`);
  });
  if (p.line) {
    const y = H - ((H - 10) * p.line.value) / max;
    out.push(`<line x1="60" y1="${y}" x2="${W - 20}" y2="${y}" stroke="red" stroke-dasharray="4 3"/>`,
      `<text x="${W - 25}" y="${y - 4}" text-anchor="end" fill="red">${esc(p.line.label)}</text>`);
  }
  if (p.legend) p.legend.forEach(([name, color], k) => out.push(`<rect x="${W - 200}" y="${14 + k * 14}" width="10" height="10" fill="${color}"/><text x="${W - 185}" y="${23 + k * 14}">${esc(name)}</text>`));
  return out.join("");
}

function lines(p, H) {
  const all = p.series.flatMap((s) => s.points);
  const maxX = Math.max(1e-9, ...all.map(([x]) => x));
  const max = Math.max(1e-9, ...all.map(([, y]) => y)) * 1.1;
  const out = frame(p, H, max, p.yLabel);
  const X = (x) => 60 + ((W - 80) * x) / maxX;
  const Y = (y) => H - ((H - 10) * y) / max;
  for (const s of p.series) {
    if (s.points.length) out.push(`<polyline fill="none" stroke="${s.color}" points="${s.points.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(" ")}"><title>${esc(s.name)}</title></polyline>`);
  }
  out.push(`<text x="${W / 2}" y="${H + 24}" text-anchor="middle">${esc(p.xLabel ?? "")}</text>`);
  return out.join("");
}
