// Functions (Lambda): functions with runtime, handler and state
// (ListFunctions, GetFunctionConfiguration); a function's configuration
// (GetFunction); an invocation with a test payload, its result and log
// tail (Invoke with LogType Tail: the X-Amz-Log-Result header's base64
// log), the invocations made from this page kept for the visit; event
// source mappings with their state and last result
// (ListEventSourceMappings), enabled or disabled (UpdateEventSourceMapping).
// Routes: #/functions, #/functions/<name>.
import * as u from './services/util.js';
import * as mon from './services/monitor.js';

// The function metrics (CloudWatch's AWS/Lambda, here Prometheus series):
// read from the server's metric history.
const METRICS = ['rheos_lambda_invocations_total', 'rheos_lambda_throttles_total', 'rheos_lambda_concurrent_executions',
  'rheos_lambda_event_source_iterator_age_milliseconds', 'rheos_lambda_event_source_records_total'];

/** counts sums the latest values of a metric's series with the labels. */
const count = (m, metric, labels) => mon.select(m, metric, labels).reduce((a, s) => a + (mon.latest(s.values) ?? 0), 0);

// The invocations made from this page, by function, newest first (this
// tab's visit only: Lambda keeps no invocation history of its own).
const history = new Map();

export async function render(root, route, ctx) {
  if (route[0]) return detail(root, route[0], ctx);
  return list(root, ctx);
}

const state = (ui, c) => (c.State ? ui.badge(c.State) : '—');

function mappingTable(ui, aws, maps, reload, { withFunction = false, m = null } = {}) {
  const { h, guard } = ui;
  return ui.table([
    withFunction ? { title: 'Function', value: (m) => h('a', { href: '#/functions/' + u.enc(u.arnName(m.FunctionArn)) }, u.arnName(m.FunctionArn)) } : null,
    { title: 'Source', value: (m) => (u.arnService(m.EventSourceArn) === 'kinesis'
      ? h('a', { href: u.streamHref(m.EventSourceArn) }, 'stream/' + u.arnName(m.EventSourceArn)) : h('code', {}, m.EventSourceArn || '—')) },
    { title: 'State', value: (m) => h('span', { class: 'esm-state' }, ui.badge(m.State || '—'), m.StateTransitionReason ? h('small', { class: 'muted' }, ' ' + m.StateTransitionReason) : null) },
    { title: 'Last result', value: (m) => m.LastProcessingResult || '—' },
    { title: 'Batch', num: true, value: (m) => String(m.BatchSize ?? '—') },
    m ? { title: 'Iterator age', num: true, value: (x) => {
      const age = mon.select(m, 'rheos_lambda_event_source_iterator_age_milliseconds', { mapping: x.UUID }).map((s) => mon.latest(s.values))[0];
      return age == null ? '—' : ui.fmt.ms(age);
    } } : null,
    m ? { title: 'Records (ok / given up)', num: true, value: (x) => {
      const ok = count(m, 'rheos_lambda_event_source_records_total', { mapping: x.UUID, outcome: 'ok' });
      return `${ok} / ${count(m, 'rheos_lambda_event_source_records_total', { mapping: x.UUID }) - ok}`;
    } } : null,
    { title: 'Start', value: (m) => m.StartingPosition || '—' },
    { title: 'Modified', value: (m) => ui.fmt.time(m.LastModified) },
    { title: '', value: (m) => h('button', { type: 'button', onclick: async () => {
      const enable = m.State !== 'Enabled' && m.State !== 'Enabling';
      if (await guard(() => aws.rest('lambda', 'PUT', u.lambdaPath('event-source-mappings/' + u.enc(m.UUID)), { Enabled: enable }),
        enable ? 'Enabling the mapping' : 'Disabling the mapping') !== undefined) reload();
    } }, m.State === 'Enabled' || m.State === 'Enabling' ? 'Disable' : 'Enable') },
  ].filter(Boolean), maps, { empty: 'No event source mappings.' });
}

async function list(root, { ui, aws, metrics }) {
  const { h, fill } = ui;
  const fns = [];
  let marker = '';
  do {
    const page = await aws.rest('lambda', 'GET', u.lambdaPath('functions/?MaxItems=50' + (marker ? '&Marker=' + u.enc(marker) : '')));
    fns.push(...(page.Functions || []));
    marker = page.NextMarker || '';
  } while (marker && fns.length < 1000);
  // ListFunctions leaves State out (as AWS's does): read it per function.
  const cfgs = await Promise.all(fns.slice(0, 100).map((f) => (f.State ? f
    : aws.rest('lambda', 'GET', u.lambdaPath('functions/' + u.enc(f.FunctionName) + '/configuration')).catch(() => f))));
  const m = await mon.history(metrics, METRICS);
  const mapsBox = h('div', { id: 'esm-list' });
  root.append(h('h1', {}, 'Functions'),
    ui.table([
      { title: 'Name', value: (f) => h('a', { href: '#/functions/' + u.enc(f.FunctionName), class: 'function-link' }, f.FunctionName) },
      { title: 'Runtime', value: (f) => f.Runtime || f.PackageType || '—' },
      { title: 'Handler', value: (f) => (f.Handler ? h('code', {}, f.Handler) : '—') },
      { title: 'State', value: (f) => state(ui, f) },
      { title: 'Memory', num: true, value: (f) => (f.MemorySize ? f.MemorySize + ' MB' : '—') },
      m ? { title: 'Invocations (errors)', num: true, value: (f) => {
        const err = count(m, 'rheos_lambda_invocations_total', { function: f.FunctionName, outcome: 'error' });
        return h('span', {}, String(count(m, 'rheos_lambda_invocations_total', { function: f.FunctionName })), err ? h('span', { class: 'error' }, ` (${err})`) : null);
      } } : null,
      { title: 'Modified', value: (f) => ui.fmt.time(f.LastModified) },
    ].filter(Boolean), cfgs, { empty: 'No functions.' }),
    h('h2', {}, 'Event source mappings'), mapsBox);
  const load = async () => fill(mapsBox, mappingTable(ui, aws, await u.mappings(aws), load, { withFunction: true, m }));
  await load();
}

async function detail(root, name, ctx) {
  const { ui, aws } = ctx;
  const { h, fill, field, guard } = ui;
  const fn = await aws.rest('lambda', 'GET', u.lambdaPath('functions/' + u.enc(name)));
  const c = fn.Configuration || {};
  const env = c.Environment?.Variables || {};
  root.append(h('h1', {}, h('a', { href: '#/functions' }, 'Functions'), ' / ', name),
    h('div', { class: 'panel' }, ui.kv([
      ['State', h('span', {}, state(ui, c), c.StateReason ? ' ' + c.StateReason : '')],
      ['ARN', h('code', {}, c.FunctionArn)], ['Runtime', c.Runtime || c.PackageType], ['Handler', c.Handler ? h('code', {}, c.Handler) : '—'],
      ['Memory', c.MemorySize ? c.MemorySize + ' MB' : '—'], ['Timeout', c.Timeout ? c.Timeout + ' s' : '—'],
      ['Role', c.Role], ['Code', `${ui.fmt.bytes(c.CodeSize)}, SHA-256 ${c.CodeSha256 || '—'}`],
      ['Version', c.Version], ['Last modified', ui.fmt.time(c.LastModified)],
      c.LastUpdateStatus ? ['Last update', c.LastUpdateStatus + (c.LastUpdateStatusReason ? ': ' + c.LastUpdateStatusReason : '')] : null,
      c.Layers?.length ? ['Layers', c.Layers.map((l) => l.Arn).join(', ')] : null,
      ['Environment', Object.keys(env).length ? h('code', {}, Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n')) : '(none)'],
    ]), h('details', {}, h('summary', {}, 'Full configuration (JSON)'), h('pre', {}, JSON.stringify(c, null, 2)))));

  // Invoke.
  const payload = h('textarea', { id: 'fn-payload', rows: 5 }, '{}');
  const result = h('div', { id: 'fn-result', 'aria-live': 'polite' });
  const past = history.get(name) || [];
  history.set(name, past);
  const drawPast = () => fill(result, past.map((r, i) => h('div', { class: 'panel invocation' },
    h('h3', {}, `${i === 0 ? 'Latest' : 'Earlier'} invocation · ${ui.fmt.time(r.at)} · ${ui.fmt.ms(r.ms)} · HTTP ${r.status}`,
      r.error ? h('span', { class: 'error' }, ` · function error: ${r.error}`) : null),
    h('h4', {}, 'Result'), h('pre', { class: 'fn-response' }, r.body || '(empty)'),
    h('h4', {}, 'Log tail'), h('pre', { class: 'fn-log' }, r.log || '(no log)'))));
  drawPast();
  root.append(h('form', { class: 'panel', 'aria-labelledby': 'fn-invoke-title', onsubmit: async (e) => {
    e.preventDefault();
    const t0 = performance.now();
    const resp = await guard(() => aws.send('lambda', { method: 'POST', path: u.lambdaPath('functions/' + u.enc(name) + '/invocations'),
      contentType: 'application/json', body: payload.value, headers: { 'X-Amz-Log-Type': 'Tail' } }));
    if (!resp) return;
    const log = resp.headers.get('X-Amz-Log-Result');
    past.unshift({ at: Date.now(), ms: Math.round(performance.now() - t0), status: resp.status, error: resp.headers.get('X-Amz-Function-Error'),
      body: u.pretty(await resp.text()), log: log ? new TextDecoder().decode(u.unb64(log)) : '' });
    past.length = Math.min(past.length, 10);
    drawPast();
  } },
  h('h2', { id: 'fn-invoke-title' }, 'Invoke'), field('Test event (JSON)', payload),
  h('button', { type: 'submit', class: 'primary', id: 'fn-invoke' }, 'Invoke'), result));

  // Event source mappings.
  const m = await mon.history(ctx.metrics, METRICS);
  const mapsBox = h('div', { id: 'esm-list' });
  root.append(h('h2', {}, 'Event source mappings'), mapsBox);
  const load = async () => fill(mapsBox, mappingTable(ui, aws, await u.mappings(aws, name), load, { m }));
  await load();

  const byFn = { function: name };
  root.append(mon.section(ctx, m, [
    { title: 'Invocations', unit: '/s', series: [
      { name: 'success', metric: 'rheos_lambda_invocations_total', labels: { ...byFn, outcome: 'success' }, rate: true },
      { name: 'error', metric: 'rheos_lambda_invocations_total', labels: { ...byFn, outcome: 'error' }, rate: true },
      { name: 'throttled', metric: 'rheos_lambda_throttles_total', labels: byFn, rate: true }] },
    { title: 'Concurrent executions', unit: '', series: [{ name: 'running', metric: 'rheos_lambda_concurrent_executions', labels: byFn }] },
  ], 'The function\'s CloudWatch metrics (Invocations, Errors, Throttles, ConcurrentExecutions), as this server keeps them; every invocation, not only this page\'s.'));
}
