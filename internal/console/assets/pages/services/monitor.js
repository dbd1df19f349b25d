// The monitoring of the service pages: the metrics the services keep in
// the server's Prometheus registry (CloudWatch's, for which no AWS API is
// served here), read from the console's sampled history (the thin metrics
// endpoint, for an account root) and drawn with the shell's charts.

/** labelsOf parses a series key's labels: name{a="x",b="y"} → {a: 'x', b: 'y'}. */
export function labelsOf(key) {
  const out = {};
  const i = key.indexOf('{');
  if (i < 0) return out;
  for (const m of key.slice(i + 1, -1).matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) out[m[1]] = m[2];
  return out;
}

/** history reads the sampled series of the named metrics; null when the
 * signed-in principal may not (not an account root). */
export async function history(metrics, names) {
  try {
    return await metrics(...names.map((n) => n + '{'));
  } catch {
    return null;
  }
}

/** select returns the series of metric name whose labels include every
 * one of want ({label: value}). */
export function select(m, name, want = {}) {
  if (!m) return [];
  return Object.entries(m.series).filter(([k]) => k.startsWith(name + '{') &&
    Object.entries(want).every(([l, v]) => labelsOf(k)[l] === v)).map(([k, values]) => ({ key: k, labels: labelsOf(k), values }));
}

/** latest is the last sampled value of a series (null when none). */
export const latest = (values) => [...(values || [])].reverse().find((v) => v != null) ?? null;

/** charts draws [{title, unit, series: [{name, metric, labels, rate}]}]
 * from the history m (sums over the series each selects; counters as
 * per-second rates). */
export function charts({ ui, chart }, m, list) {
  const { h } = ui;
  return h('div', { class: 'charts' }, list.map((c) => {
    const series = c.series.map((x) => {
      const sel = select(m, x.metric, x.labels);
      return { name: x.name, values: chart.sum(sel.map((s) => (x.rate ? chart.rates(m.t, s.values) : s.values))) };
    });
    const t = c.series.some((x) => x.rate) ? m.t.slice(1) : m.t;
    return h('figure', { class: 'panel' }, h('figcaption', {}, h('strong', {}, c.title)),
      chart.lineChart(t, series, { title: c.title, unit: c.unit }), chart.legend(series));
  }));
}

/** section is a "Monitoring" section of charts from the history m, or a
 * note when it could not be read (m null). */
export function section(ctx, m, list, note) {
  const { h } = ctx.ui;
  return h('section', { 'aria-labelledby': 'mon-title', class: 'monitoring' }, h('h2', { id: 'mon-title' }, 'Monitoring (last 10 minutes)'),
    m ? [note ? h('p', { class: 'muted' }, note) : null, charts(ctx, m, list)]
      : h('p', { class: 'muted' }, 'The server\'s metrics are shown to an account root.'));
}
