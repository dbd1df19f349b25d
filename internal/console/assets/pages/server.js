// Server: health, version, configuration (secrets redacted), disk use (per
// folder and per data stream, local and tiered) and the Prometheus metrics
// as charts. Read from the thin read-only endpoints
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

export async function render(root, _route, { ui, info, metrics, chart, session }) {
  const { h, fill, kv, fmt, badge } = ui;
  root.append(h('h1', {}, 'Server'));
  const top = h('div', { class: 'charts' });
  const chartBox = h('div', { class: 'charts' });
  const streamsBox = h('section', { class: 'panel', id: 'stream-disk', 'aria-labelledby': 'h-stream-disk' });
  const cfgBox = h('div', { class: 'panel' });
  root.append(top, streamsBox, h('h2', {}, 'Metrics (last 10 minutes)'), chartBox, h('h2', {}, 'Configuration'), cfgBox);

  async function load() {
    const [health, version, disk, sd] = await Promise.all([info('health'), info('version'), info('disk'), info('stream-disk')]);
    const total = sd.localBytes + sd.tieredBytes;
    fill(streamsBox, h('h2', { id: 'h-stream-disk' }, 'Disk use per data stream'),
      h('p', { class: 'muted' }, 'The bytes of each stream\'s records in the log, on local disk and, with tiered storage, in the blob store.'),
      ui.table([
        // Streams of the signed-in account link to their pages.
        { title: 'Stream', value: (d) => (d.account === session.principal?.account ? h('a', { href: '#/streams/' + encodeURIComponent(d.name) }, d.name) : d.name) },
        { title: 'Account', value: (d) => d.account },
        { title: 'Status', value: (d) => badge(d.status) },
        { title: 'Local', num: true, value: (d) => fmt.bytes(d.localBytes) },
        { title: 'Tiered', num: true, value: (d) => fmt.bytes(d.tieredBytes) },
        { title: 'Share', num: true, value: (d) => (total ? (100 * (d.localBytes + d.tieredBytes) / total).toFixed(1) + '%' : '—') },
      ], sd.streams || [], { empty: 'No data streams.' }));
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
