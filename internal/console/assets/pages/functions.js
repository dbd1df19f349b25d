// Functions (Lambda): functions with runtime, handler and state
// (ListFunctions, GetFunctionConfiguration); a function's configuration
// (GetFunction); an invocation with a test payload, its result and log
// tail (Invoke with LogType Tail: the X-Amz-Log-Result header's base64
// log), the invocations made from this page kept for the visit; event
// source mappings with their state and last result
// (ListEventSourceMappings), enabled or disabled (UpdateEventSourceMapping).
// Routes: #/functions, #/functions/<name>.
import * as u from './services/util.js';

// The invocations made from this page, by function, newest first (this
// tab's visit only: Lambda keeps no invocation history of its own).
const history = new Map();

export async function render(root, route, ctx) {
  if (route[0]) return detail(root, route[0], ctx);
  return list(root, ctx);
}

const state = (ui, c) => (c.State ? ui.badge(c.State) : '—');

function mappingTable(ui, aws, maps, reload, { withFunction = false } = {}) {
  const { h, guard } = ui;
  return ui.table([
    withFunction ? { title: 'Function', value: (m) => h('a', { href: '#/functions/' + u.enc(u.arnName(m.FunctionArn)) }, u.arnName(m.FunctionArn)) } : null,
    { title: 'Source', value: (m) => (u.arnService(m.EventSourceArn) === 'kinesis'
      ? h('a', { href: u.streamHref(m.EventSourceArn) }, 'stream/' + u.arnName(m.EventSourceArn)) : h('code', {}, m.EventSourceArn || '—')) },
    { title: 'State', value: (m) => h('span', { class: 'esm-state' }, ui.badge(m.State || '—'), m.StateTransitionReason ? h('small', { class: 'muted' }, ' ' + m.StateTransitionReason) : null) },
    { title: 'Last result', value: (m) => m.LastProcessingResult || '—' },
    { title: 'Batch', num: true, value: (m) => String(m.BatchSize ?? '—') },
    { title: 'Start', value: (m) => m.StartingPosition || '—' },
    { title: 'Modified', value: (m) => ui.fmt.time(m.LastModified) },
    { title: '', value: (m) => h('button', { type: 'button', onclick: async () => {
      const enable = m.State !== 'Enabled' && m.State !== 'Enabling';
      if (await guard(() => aws.rest('lambda', 'PUT', u.lambdaPath('event-source-mappings/' + u.enc(m.UUID)), { Enabled: enable }),
        enable ? 'Enabling the mapping' : 'Disabling the mapping') !== undefined) reload();
    } }, m.State === 'Enabled' || m.State === 'Enabling' ? 'Disable' : 'Enable') },
  ].filter(Boolean), maps, { empty: 'No event source mappings.' });
}

async function list(root, { ui, aws }) {
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
  const mapsBox = h('div', { id: 'esm-list' });
  root.append(h('h1', {}, 'Functions'),
    ui.table([
      { title: 'Name', value: (f) => h('a', { href: '#/functions/' + u.enc(f.FunctionName), class: 'function-link' }, f.FunctionName) },
      { title: 'Runtime', value: (f) => f.Runtime || f.PackageType || '—' },
      { title: 'Handler', value: (f) => (f.Handler ? h('code', {}, f.Handler) : '—') },
      { title: 'State', value: (f) => state(ui, f) },
      { title: 'Memory', num: true, value: (f) => (f.MemorySize ? f.MemorySize + ' MB' : '—') },
      { title: 'Modified', value: (f) => ui.fmt.time(f.LastModified) },
    ], cfgs, { empty: 'No functions.' }),
    h('h2', {}, 'Event source mappings'), mapsBox);
  const load = async () => fill(mapsBox, mappingTable(ui, aws, await u.mappings(aws), load, { withFunction: true }));
  await load();
}

async function detail(root, name, { ui, aws }) {
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
  const mapsBox = h('div', { id: 'esm-list' });
  root.append(h('h2', {}, 'Event source mappings'), mapsBox);
  const load = async () => fill(mapsBox, mappingTable(ui, aws, await u.mappings(aws, name), load));
  await load();
}
