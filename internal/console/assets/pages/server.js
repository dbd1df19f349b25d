// Server: health, version, configuration (secrets redacted), disk use and
// the Prometheus metrics as charts. Read from the thin read-only endpoints
// (no AWS API says these), for an account root.

const charts = [
  { title: 'API requests', unit: '/s', series: [{ name: 'requests', match: 'rheos_request_duration_seconds_count', rate: true }] },
  { title: 'Records in / out', unit: '/s', series: [
    { name: 'in', match: 'rheos_kinesis_incoming_records_total', rate: true },
    { name: 'out', match: 'rheos_kinesis_outgoing_records_total', rate: true }] },
  { title: 'Bytes in / out', unit: 'B/s', series: [
    { name: 'in', match: 'rheos_kinesis_incoming_bytes_total', rate: true },
    { name: 'out', match: 'rheos_kinesis_outgoing_bytes_total', rate: true }] },
  { title: 'Log commits (bytes fsynced)', unit: 'B/s', series: [{ name: 'committed', match: 'rheos_log_committed_bytes_total', rate: true }] },
  { title: 'Log segments', unit: '', series: [{ name: 'segments', match: 'rheos_log_segments' }] },
  { title: 'Free disk', unit: 'B', series: [{ name: 'free', match: 'rheos_log_disk_free_bytes' }] },
];

export async function render(root, _route, { ui, info, metrics, chart }) {
  const { h, fill, kv, fmt, badge } = ui;
  root.append(h('h1', {}, 'Server'));
  const top = h('div', { class: 'charts' });
  const chartBox = h('div', { class: 'charts' });
  const cfgBox = h('div', { class: 'panel' });
  root.append(top, h('h2', {}, 'Metrics (last 10 minutes)'), chartBox, h('h2', {}, 'Configuration'), cfgBox);

  async function load() {
    const [health, version, disk] = await Promise.all([info('health'), info('version'), info('disk')]);
    fill(top,
      h('section', { class: 'panel', 'aria-labelledby': 'h-health' }, h('h2', { id: 'h-health' }, 'Health'),
        kv([['Status', badge(health.ready ? 'ok' : 'failed')], ['Detail', health.detail], ['Uptime', fmt.ms(health.uptimeMs)],
          ['Auth mode', health.authMode], ['Services', health.services.join(', ')]])),
      h('section', { class: 'panel', 'aria-labelledby': 'h-version' }, h('h2', { id: 'h-version' }, 'Version'),
        kv([['Version', version.version], ['Revision', version.revision], ['Go', version.go], ['Built', version.time]])),
      h('section', { class: 'panel', 'aria-labelledby': 'h-disk' }, h('h2', { id: 'h-disk' }, 'Disk'),
        kv([['Data directory', h('code', {}, disk.dataDir)], ['Used', fmt.bytes(disk.usedBytes)], ['Free', fmt.bytes(disk.freeBytes)]]),
        ui.table([{ title: 'Directory', value: (d) => d.name }, { title: 'Size', num: true, value: (d) => fmt.bytes(d.bytes) }], disk.dirs || [])));
  }

  async function drawCharts() {
    const m = await metrics(...new Set(charts.flatMap((c) => c.series.map((x) => x.match))));
    const t = m.t;
    fill(chartBox, charts.map((c) => {
      const series = c.series.map((x) => {
        const keys = Object.keys(m.series).filter((k) => k === x.match || k.startsWith(x.match + '{'));
        const vals = chart.sum(keys.map((k) => (x.rate ? chart.rates(t, m.series[k]) : m.series[k])));
        return { name: x.name, values: vals };
      });
      return h('figure', { class: 'panel' }, h('figcaption', {}, h('strong', {}, c.title)),
        chart.lineChart(x_t(t, c), series, { title: c.title, unit: c.unit }), chart.legend(series));
    }));
  }
  const x_t = (t, c) => (c.series.some((x) => x.rate) ? t.slice(1) : t);

  const cfg = await info('config');
  fill(cfgBox, h('p', { class: 'muted' }, 'The effective configuration; secrets are redacted.'), h('pre', { id: 'config' }, JSON.stringify(cfg, null, 2)));
  await load();
  await drawCharts();
  const timer = setInterval(() => { load().catch(() => {}); drawCharts().catch(() => {}); }, 5000);
  return () => clearInterval(timer);
}
