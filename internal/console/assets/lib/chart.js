// Charts without a library: SVG sparklines and small line charts over the
// metric history (/console/api/metrics), and counter-to-rate conversion.

const NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, ...kids) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'string' && v.startsWith('var(')) el.style[k] = v; // theme colours through CSSOM
    else el.setAttribute(k, v);
  }
  el.append(...kids);
  return el;
}

/** rates turns a counter's samples into per-second rates (null across gaps and resets). */
export function rates(t, values) {
  const out = [];
  for (let i = 1; i < values.length; i++) {
    const a = values[i - 1], b = values[i], dt = (t[i] - t[i - 1]) / 1000;
    out.push(a == null || b == null || b < a || dt <= 0 ? null : (b - a) / dt);
  }
  return out;
}

/** sum adds aligned series element-wise (null + x = x). */
export function sum(list) {
  if (!list.length) return [];
  return list[0].map((_, i) => {
    let v = null;
    for (const l of list) if (l[i] != null) v = (v ?? 0) + l[i];
    return v;
  });
}

function path(values, w, h, max, pad = 1) {
  let d = '', pen = false;
  const n = values.length;
  values.forEach((v, i) => {
    if (v == null) { pen = false; return; }
    const x = n < 2 ? w / 2 : (i / (n - 1)) * w;
    const y = h - pad - (max > 0 ? (v / max) * (h - 2 * pad) : 0);
    d += (pen ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1);
    pen = true;
  });
  return d;
}

/** sparkline is a small trend line; label names it for screen readers. */
export function sparkline(values, { width = 90, height = 22, label = 'trend', color = 'var(--chart1)' } = {}) {
  const max = Math.max(0, ...values.filter((v) => v != null));
  const last = [...values].reverse().find((v) => v != null);
  return s('svg', { class: 'spark', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `${label}: latest ${last == null ? 'no data' : last.toFixed(2)}` },
    s('path', { d: path(values, width, height, max, 2), fill: 'none', stroke: color, 'stroke-width': '1.5' }));
}

/** lineChart draws series [{name, values}] over times t (unix ms). */
export function lineChart(t, series, { width = 360, height = 140, title = '', unit = '' } = {}) {
  const left = 44, bottom = 18, w = width - left - 6, hgt = height - bottom - 6;
  const max = Math.max(0, ...series.flatMap((x) => x.values.filter((v) => v != null)));
  const colors = ['var(--chart1)', 'var(--chart2)', 'var(--chart3)', 'var(--chart4)'];
  const fmtv = (v) => (v >= 1e6 ? (v / 1e6).toFixed(1) + 'M' : v >= 1e3 ? (v / 1e3).toFixed(1) + 'k' : v >= 10 ? v.toFixed(0) : v.toFixed(2));
  const g = s('g', { transform: `translate(${left},6)` },
    s('line', { class: 'axis', x1: 0, y1: hgt, x2: w, y2: hgt }),
    s('line', { class: 'axis', x1: 0, y1: 0, x2: 0, y2: hgt }),
    s('text', { x: -4, y: 8, 'text-anchor': 'end' }, fmtv(max) + unit),
    s('text', { x: -4, y: hgt, 'text-anchor': 'end' }, '0'));
  if (t.length) {
    const span = Math.round((t[t.length - 1] - t[0]) / 1000);
    g.append(s('text', { x: w, y: hgt + 14, 'text-anchor': 'end' }, 'now'), s('text', { x: 0, y: hgt + 14 }, `-${span}s`));
  }
  series.forEach((x, i) => g.append(s('path', { d: path(x.values, w, hgt, max), fill: 'none', stroke: colors[i % colors.length], 'stroke-width': '1.5' }, s('title', {}, x.name))));
  const svg = s('svg', { class: 'chart', width: '100%', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title + ': ' + series.map((x) => x.name).join(', ') }, g);
  return svg;
}

/** legend lists series names with their colours. */
export function legend(series) {
  const colors = ['var(--chart1)', 'var(--chart2)', 'var(--chart3)', 'var(--chart4)'];
  const ul = document.createElement('div');
  ul.className = 'muted';
  series.forEach((x, i) => {
    const sw = document.createElement('span');
    sw.textContent = '■ ';
    sw.style.color = colors[i % colors.length];
    const item = document.createElement('span');
    item.append(sw, x.name + '  ');
    ul.append(item);
  });
  return ul;
}
