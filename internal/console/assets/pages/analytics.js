// Analytics (SQL applications, the KinesisAnalytics_20150814 API):
// applications with their status (ListApplications); an application's
// inputs, outputs and reference sources and the graph of its in-app
// streams and pumps (DescribeApplication); the SQL editor
// (UpdateApplication, a CodeValidationException shown at its line and
// column); start and stop (StartApplication, StopApplication); and the rows
// an output writes to a Kinesis data stream (or the records an input reads
// from one), read with GetRecords: no AWS API reads an in-app stream
// itself. Routes: #/analytics, #/analytics/<name>.
import * as u from './services/util.js';
import * as graph from './analytics/graph.js';

const { spaced } = u;

const TARGET = 'KinesisAnalytics_20150814';

async function kda(aws, op, input) {
  const resp = await aws.send('kinesisanalytics', { target: `${TARGET}.${op}`, contentType: 'application/x-amz-json-1.1', body: JSON.stringify(input) });
  const t = await resp.text();
  return t ? JSON.parse(t) : {};
}

export async function render(root, route, ctx) {
  if (route[0]) return detail(root, route[0], ctx);
  return list(root, ctx);
}

async function list(root, { ui, aws }) {
  const { h } = ui;
  const apps = [];
  let out = await kda(aws, 'ListApplications', { Limit: 50 });
  apps.push(...(out.ApplicationSummaries || []));
  while (out.HasMoreApplications && apps.length < 1000) {
    out = await kda(aws, 'ListApplications', { Limit: 50, ExclusiveStartApplicationName: apps[apps.length - 1].ApplicationName });
    apps.push(...(out.ApplicationSummaries || []));
  }
  root.append(h('h1', {}, 'Analytics'),
    h('p', { class: 'muted' }, 'SQL applications (Kinesis Data Analytics for SQL).'),
    ui.table([
      { title: 'Application', value: (a) => h('a', { href: '#/analytics/' + u.enc(a.ApplicationName), class: 'app-link' }, a.ApplicationName) },
      { title: 'Status', value: (a) => ui.badge(a.ApplicationStatus) },
      { title: 'ARN', value: (a) => h('code', {}, a.ApplicationARN) },
    ], apps, { empty: 'No applications.' }));
}

/** position finds "line L, column C" in a validation message. */
export function position(msg) {
  const m = /line (\d+), column (\d+)/i.exec(msg || '');
  return m ? { line: Number(m[1]), column: Number(m[2]) } : null;
}

function offsetOf(code, line, column) {
  const lines = code.split('\n');
  let o = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) o += lines[i].length + 1;
  return Math.min(code.length, o + Math.max(0, column - 1));
}

const resource = (d) => d?.ResourceARN || '';

async function detail(root, name, ctx) {
  const { ui, aws } = ctx;
  const { h, fill, field, guard, select } = ui;
  let app = (await kda(aws, 'DescribeApplication', { ApplicationName: name })).ApplicationDetail;
  const head = h('div', { class: 'panel', id: 'app-head' });
  const graphBox = h('div', { class: 'panel app-graph-box', id: 'app-graph' });
  const config = h('div', { id: 'app-config' });
  const startPos = select([['NOW', 'Now'], ['TRIM_HORIZON', 'Trim horizon'], ['LAST_STOPPED_POINT', 'Last stopped point']], 'NOW', { id: 'app-start-pos' });
  const code = h('textarea', { id: 'sql-code', rows: 14, spellcheck: false, 'aria-describedby': 'sql-error' });
  const err = h('div', { id: 'sql-error', role: 'alert' });
  let poll = null, rowsStop = null;

  const drawHead = () => fill(head, ui.kv([
    ['Status', h('span', { id: 'app-status' }, ui.badge(app.ApplicationStatus))], ['ARN', h('code', {}, app.ApplicationARN)],
    ['Version', String(app.ApplicationVersionId)], ['Created', ui.fmt.time(app.CreateTimestamp)], ['Updated', ui.fmt.time(app.LastUpdateTimestamp)],
    app.ApplicationDescription ? ['Description', app.ApplicationDescription] : null,
  ]), spaced(h('div', { class: 'row' }, field('Start reading from', startPos),
    h('button', { type: 'button', class: 'primary', id: 'app-start', disabled: app.ApplicationStatus !== 'READY', onclick: start }, 'Start'),
    h('button', { type: 'button', id: 'app-stop', disabled: app.ApplicationStatus !== 'RUNNING', onclick: stop }, 'Stop'))));

  const drawConfig = () => fill(config,
    h('h2', {}, 'Inputs'),
    ui.table([
      { title: 'Id', value: (i) => i.InputId },
      { title: 'Source', value: (i) => (i.KinesisStreamsInputDescription ? h('a', { href: u.streamHref(resource(i.KinesisStreamsInputDescription)) }, 'stream/' + u.arnName(resource(i.KinesisStreamsInputDescription)))
        : i.KinesisFirehoseInputDescription ? h('a', { href: '#/firehose/' + u.enc(u.arnName(resource(i.KinesisFirehoseInputDescription))) }, 'firehose/' + u.arnName(resource(i.KinesisFirehoseInputDescription))) : '—') },
      { title: 'In-app streams', value: (i) => (i.InAppStreamNames || []).join(', ') || i.NamePrefix },
      { title: 'Format', value: (i) => i.InputSchema?.RecordFormat?.RecordFormatType || '—' },
      { title: 'Columns', value: (i) => (i.InputSchema?.RecordColumns || []).map((c) => `${c.Name} ${c.SqlType}`).join(', ') },
      { title: 'Parallelism', num: true, value: (i) => String(i.InputParallelism?.Count ?? 1) },
    ], app.InputDescriptions || [], { empty: 'No inputs.' }),
    h('h2', {}, 'Outputs'),
    ui.table([
      { title: 'Id', value: (o) => o.OutputId },
      { title: 'In-app stream', value: (o) => o.Name },
      { title: 'Destination', value: (o) => (o.KinesisStreamsOutputDescription ? h('a', { href: u.streamHref(resource(o.KinesisStreamsOutputDescription)) }, 'stream/' + u.arnName(resource(o.KinesisStreamsOutputDescription)))
        : o.KinesisFirehoseOutputDescription ? h('a', { href: '#/firehose/' + u.enc(u.arnName(resource(o.KinesisFirehoseOutputDescription))) }, 'firehose/' + u.arnName(resource(o.KinesisFirehoseOutputDescription)))
          : o.LambdaOutputDescription ? h('a', { href: '#/functions/' + u.enc(u.arnName(resource(o.LambdaOutputDescription))) }, 'lambda/' + u.arnName(resource(o.LambdaOutputDescription))) : '—') },
      { title: 'Format', value: (o) => o.DestinationSchema?.RecordFormatType || '—' },
    ], app.OutputDescriptions || [], { empty: 'No outputs.' }),
    h('h2', {}, 'Reference data sources'),
    ui.table([
      { title: 'Table', value: (r) => r.TableName },
      { title: 'S3 object', value: (r) => {
        const s3 = r.S3ReferenceDataSourceDescription || {};
        return h('a', { href: u.s3ObjectHref(u.bucketOf(s3.BucketARN), s3.FileKey || '') }, `s3://${u.bucketOf(s3.BucketARN)}/${s3.FileKey || ''}`);
      } },
      { title: 'Format', value: (r) => r.ReferenceSchema?.RecordFormat?.RecordFormatType || '—' },
    ], app.ReferenceDataSourceDescriptions || [], { empty: 'No reference data sources.' }));

  const drawGraph = () => fill(graphBox, h('h2', {}, 'Graph'),
    h('p', { class: 'muted' }, 'Sources → in-app streams → pumps → in-app streams → outputs, from the configuration and the CREATE STREAM / CREATE PUMP statements of the code.'),
    graph.svg(app));

  async function refresh() {
    app = (await kda(aws, 'DescribeApplication', { ApplicationName: name })).ApplicationDetail;
    drawHead(); drawGraph(); drawConfig();
    clearTimeout(poll);
    if (/ING$/.test(app.ApplicationStatus)) poll = setTimeout(() => guard(refresh), 1000);
  }
  async function start() {
    const cfgs = (app.InputDescriptions || []).map((i) => ({ Id: i.InputId, InputStartingPositionConfiguration: { InputStartingPosition: startPos.value } }));
    if (await guard(() => kda(aws, 'StartApplication', { ApplicationName: name, InputConfigurations: cfgs }), `Starting ${name}`) !== undefined) await guard(refresh);
  }
  async function stop() {
    if (await guard(() => kda(aws, 'StopApplication', { ApplicationName: name }), `Stopping ${name}`) !== undefined) await guard(refresh);
  }
  async function save(e) {
    e.preventDefault();
    fill(err);
    try {
      await kda(aws, 'UpdateApplication', { ApplicationName: name, CurrentApplicationVersionId: app.ApplicationVersionId,
        ApplicationUpdate: { ApplicationCodeUpdate: code.value } });
      ui.toast('Code saved' + (app.ApplicationStatus === 'RUNNING' ? ': the running application restarts with it' : ''));
      await refresh();
    } catch (x) {
      const pos = position(x.awsMessage || x.message);
      const lines = code.value.split('\n');
      fill(err, h('div', { class: 'panel' },
        h('p', { class: 'error' }, x.type ? x.type + (pos ? ` at line ${pos.line}, column ${pos.column}` : '') : 'Error'),
        h('pre', { id: 'sql-error-message' }, x.awsMessage || x.message),
        pos ? h('pre', { id: 'sql-error-line' }, `${String(pos.line).padStart(4)} | ${lines[pos.line - 1] ?? ''}\n${' '.repeat(7 + pos.column - 1)}^`) : null));
      if (pos) {
        const o = offsetOf(code.value, pos.line, pos.column);
        code.focus();
        code.setSelectionRange(o, Math.min(code.value.length, o + 1));
      }
    }
  }
  code.value = app.ApplicationCode || '';

  // Rows: the Kinesis data streams around the in-app streams, read with
  // GetRecords: an output's (the rows it writes) or an input's (the source
  // records its in-app stream maps into rows).
  const sources = [
    ...(app.OutputDescriptions || []).filter((o) => o.KinesisStreamsOutputDescription).map((o) => ({ id: 'out:' + o.OutputId,
      stream: u.arnName(resource(o.KinesisStreamsOutputDescription)), label: `${o.Name} → stream/${u.arnName(resource(o.KinesisStreamsOutputDescription))} (output)` })),
    ...(app.InputDescriptions || []).filter((i) => i.KinesisStreamsInputDescription).map((i) => ({ id: 'in:' + i.InputId,
      stream: u.arnName(resource(i.KinesisStreamsInputDescription)),
      label: `stream/${u.arnName(resource(i.KinesisStreamsInputDescription))} → ${(i.InAppStreamNames || [i.NamePrefix + '_001']).join(', ')} (input)` })),
  ];
  const rowsBox = h('section', { class: 'panel', 'aria-labelledby': 'rows-title' });
  if (sources.length) {
    const outSel = select(sources.map((x) => [x.id, x.label]), sources[0].id, { id: 'rows-output' });
    const from = select([['LATEST', 'New rows'], ['TRIM_HORIZON', 'From the start of the stream']], 'TRIM_HORIZON', { id: 'rows-from' });
    const status = h('p', { id: 'rows-status', class: 'muted', 'aria-live': 'polite' });
    const table = h('div', { id: 'sql-rows' });
    const btn = h('button', { type: 'button', class: 'primary', id: 'rows-watch', 'aria-pressed': 'false' }, 'Watch rows');
    btn.addEventListener('click', () => {
      if (rowsStop) { rowsStop(); rowsStop = null; btn.textContent = 'Watch rows'; btn.setAttribute('aria-pressed', 'false'); return; }
      rowsStop = watchRows(ctx, sources.find((x) => x.id === outSel.value).stream, from.value, status, table);
      btn.textContent = 'Stop watching'; btn.setAttribute('aria-pressed', 'true');
    });
    rowsBox.append(h('h2', { id: 'rows-title' }, 'Live results'),
      h('p', { class: 'muted' }, 'No AWS API reads an in-app stream. This shows the Kinesis data streams around them, read with GetRecords: what an output writes (the rows of its in-app stream) or what an input reads (the source records before mapping). The newest 200, newest first.'),
      h('div', { class: 'row' }, field('Stream', outSel), field('Read', from), btn), status, table);
  } else {
    rowsBox.append(h('h2', { id: 'rows-title' }, 'Live results'),
      h('p', { class: 'muted' }, 'No AWS API reads an in-app stream, and this application has no input or output Kinesis data stream whose records could be shown. Outputs to Firehose land in its destination (see the Firehose page).'));
  }

  root.append(h('h1', {}, h('a', { href: '#/analytics' }, 'Analytics'), ' / ', name), head, graphBox,
    h('form', { class: 'panel', 'aria-labelledby': 'sql-title', onsubmit: save },
      h('h2', { id: 'sql-title' }, 'SQL'), field('Application code', code),
      h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', id: 'sql-save' }, 'Validate and save (UpdateApplication)')), err),
    rowsBox, config);
  drawHead(); drawGraph(); drawConfig();
  if (/ING$/.test(app.ApplicationStatus)) poll = setTimeout(() => guard(refresh), 1000);
  return () => { clearTimeout(poll); if (rowsStop) rowsStop(); };
}

/** watchRows polls GetRecords on every open shard of a stream; returns stop. */
function watchRows({ ui, aws }, stream, from, status, box) {
  const { h, fill } = ui;
  let stopped = false, timer = null, rows = [], iters = [];
  const decode = (data) => {
    const text = new TextDecoder().decode(u.unb64(data));
    try { const v = JSON.parse(text); if (v && typeof v === 'object' && !Array.isArray(v)) return v; } catch { /* CSV or text */ }
    const cells = text.replace(/\n$/, '').split(',');
    return Object.fromEntries(cells.map((c, i) => ['col' + (i + 1), c]));
  };
  const draw = () => {
    const cols = [...new Set(rows.flatMap((r) => Object.keys(r.row)))];
    fill(box, ui.table([
      { title: 'Arrived', value: (r) => ui.fmt.time(r.at) },
      ...cols.map((c) => ({ title: c, value: (r) => (r.row[c] === undefined ? '' : typeof r.row[c] === 'object' ? JSON.stringify(r.row[c]) : String(r.row[c])) })),
    ], rows, { empty: 'No rows yet.' }));
  };
  async function tick() {
    if (stopped) return;
    try {
      if (!iters.length) {
        const shards = (await aws.json('kinesis', 'ListShards', { StreamName: stream })).Shards || [];
        iters = await Promise.all(shards.filter((s) => !s.SequenceNumberRange?.EndingSequenceNumber).map((s) =>
          aws.json('kinesis', 'GetShardIterator', { StreamName: stream, ShardId: s.ShardId, ShardIteratorType: from }).then((x) => x.ShardIterator)));
      }
      let got = 0;
      iters = await Promise.all(iters.map(async (it) => {
        if (!it) return it;
        const out = await aws.json('kinesis', 'GetRecords', { ShardIterator: it, Limit: 1000 });
        for (const r of out.Records || []) rows.unshift({ at: r.ApproximateArrivalTimestamp, row: decode(r.Data) });
        got += (out.Records || []).length;
        return out.NextShardIterator;
      }));
      rows = rows.slice(0, 200);
      fill(status, `Reading stream/${stream} · ${rows.length} rows shown · last poll ${new Date().toLocaleTimeString()}`);
      if (got || !box.firstChild) draw();
    } catch (e) {
      fill(status, h('span', { class: 'error' }, e.message));
      iters = [];
    }
    if (!stopped) timer = setTimeout(tick, 1000);
  }
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}
