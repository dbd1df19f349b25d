// Data Streams: the stream list (status, mode, shards, retention, rates),
// create and delete; a stream's overview (shard map, lineage, resharding),
// records (the record browser, a test record), consumers (EFO consumers,
// Lambda event source mappings, lag) and settings (retention, encryption,
// mode, tags). Every action is a Kinesis (or Lambda) API call.
import * as shardmap from './streams/shardmap.js';
import { renderRecords } from './streams/records.js';

const enc = encodeURIComponent;

export async function render(root, route, ctx) {
  if (route.length) return detail(root, route[0], route[1] || 'overview', ctx);
  return list(root, ctx);
}

// rateSeries returns per-stream rates of a counter from the metric history.
function rateSeries(m, metric, chart) {
  const out = new Map();
  if (!m) return out;
  for (const [k, v] of Object.entries(m.series)) {
    const mm = k.match(/^([a-z_]+)\{stream="([^"]*)"\}$/);
    if (mm && mm[1] === metric) out.set(mm[2], chart.rates(m.t, v));
  }
  return out;
}

// diskOf maps "account/region/name" to a stream's bytes in the log (local
// plus tiered), from the root-only stream-disk endpoint (null for others).
async function diskOf({ info, session }) {
  const sd = session.principal?.root ? await info('stream-disk').catch(() => null) : null;
  if (!sd) return null;
  return new Map((sd.streams || []).map((d) => [`${d.account}/${d.region}/${d.name}`, d]));
}
const arnKey = (arn) => { const p = (arn || '').split(':'); return `${p[4]}/${p[3]}/${p.slice(5).join(':').replace(/^stream\//, '')}`; };

async function list(root, ctx) {
  const { ui, aws, metrics, chart } = ctx;
  const { h, fill, field, guard, select, fmt, badge } = ui;
  const body = h('div', { id: 'stream-list' });
  const name = h('input', { id: 'create-name', required: true, pattern: '[a-zA-Z0-9_.\\-]{1,128}', placeholder: 'orders' });
  const mode = select([['PROVISIONED', 'Provisioned'], ['ON_DEMAND', 'On demand']], 'PROVISIONED', { id: 'create-mode' });
  const shards = h('input', { id: 'create-shards', type: 'number', min: 1, value: 1, size: 5 });
  mode.addEventListener('change', () => { shards.disabled = mode.value === 'ON_DEMAND'; });
  root.append(h('h1', {}, 'Data Streams'),
    h('form', { class: 'panel', 'aria-labelledby': 'create-title', onsubmit: async (e) => {
      e.preventDefault();
      const input = { StreamName: name.value.trim(), StreamModeDetails: { StreamMode: mode.value } };
      if (mode.value === 'PROVISIONED') input.ShardCount = Number(shards.value);
      if (await guard(() => aws.json('kinesis', 'CreateStream', input), `Creating ${input.StreamName}`) !== undefined) { name.value = ''; load(); }
    } },
    h('h2', { id: 'create-title' }, 'Create a stream'),
    h('div', { class: 'row' }, field('Name', name), field('Capacity mode', mode), field('Shards', shards),
      h('button', { type: 'submit', class: 'primary', id: 'create-btn' }, 'Create stream'))),
    body);

  let m = null;
  async function load() {
    const names = [];
    let out = await aws.json('kinesis', 'ListStreams', {});
    names.push(...(out.StreamSummaries || []));
    while (out.HasMoreStreams && out.NextToken && names.length < 1000) {
      out = await aws.json('kinesis', 'ListStreams', { NextToken: out.NextToken });
      names.push(...(out.StreamSummaries || []));
    }
    const sums = await Promise.all(names.slice(0, 200).map((s) =>
      aws.json('kinesis', 'DescribeStreamSummary', { StreamName: s.StreamName }).then((d) => d.StreamDescriptionSummary, () => null)));
    m = await metrics('rheos_kinesis_incoming_records_total{', 'rheos_kinesis_outgoing_records_total{').catch(() => null);
    const disk = await diskOf(ctx);
    const inR = rateSeries(m, 'rheos_kinesis_incoming_records_total', chart);
    const outR = rateSeries(m, 'rheos_kinesis_outgoing_records_total', chart);
    const rate = (map, n, label, color) => {
      const v = map.get(n);
      if (!v) return h('span', { class: 'muted' }, m ? '0/s' : '—');
      const last = [...v].reverse().find((x) => x != null);
      return h('span', {}, chart.sparkline(v, { label, color }), ' ', fmt.rate(last ?? 0));
    };
    fill(body, ui.table([
      { title: 'Name', value: (s) => h('a', { href: '#/streams/' + enc(s.StreamName), class: 'stream-link' }, s.StreamName) },
      { title: 'Status', value: (s) => badge(s.StreamStatus) },
      { title: 'Mode', value: (s) => s.StreamModeDetails?.StreamMode || '—' },
      { title: 'Open shards', num: true, value: (s) => String(s.OpenShardCount ?? '—') },
      { title: 'Retention', num: true, value: (s) => (s.RetentionPeriodHours ? s.RetentionPeriodHours + ' h' : '—') },
      { title: 'Encryption', value: (s) => s.EncryptionType || '—' },
      { title: 'Stored', num: true, value: (s) => { const d = disk?.get(arnKey(s.StreamARN)); return d ? fmt.bytes(d.localBytes + d.tieredBytes) : '—'; } },
      { title: 'Records in', value: (s) => rate(inR, s.StreamName, 'records in per second', 'var(--chart1)') },
      { title: 'Records out', value: (s) => rate(outR, s.StreamName, 'records out per second', 'var(--chart2)') },
      { title: '', value: (s) => h('button', { type: 'button', class: 'danger', 'aria-label': 'Delete ' + s.StreamName, dataset: { stream: s.StreamName },
        onclick: async () => {
          if (!(await ui.confirm('Delete stream', `Delete ${s.StreamName} and all its records?`, 'Delete'))) return;
          if (await guard(() => aws.json('kinesis', 'DeleteStream', { StreamName: s.StreamName, EnforceConsumerDeletion: true }), `Deleting ${s.StreamName}`) !== undefined) load();
        } }, 'Delete') },
    ], sums.filter(Boolean), { empty: 'No streams yet: create one above.' }));
  }
  await load();
  // Refresh every 5 s, but not under a keyboard user's focus (it would move).
  const timer = setInterval(() => { if (!body.contains(document.activeElement)) load().catch(() => {}); }, 5000);
  return () => clearInterval(timer);
}

async function listShards(aws, name) {
  const shards = [];
  let out = await aws.json('kinesis', 'ListShards', { StreamName: name });
  shards.push(...out.Shards);
  while (out.NextToken) {
    out = await aws.json('kinesis', 'ListShards', { NextToken: out.NextToken });
    shards.push(...out.Shards);
  }
  return shards;
}

async function detail(root, name, tab, ctx) {
  const { ui, aws } = ctx;
  const { h, fill, badge } = ui;
  const head = h('div');
  const tabsBox = h('div');
  root.append(h('p', {}, h('a', { href: '#/streams' }, '← Data Streams')), head, tabsBox);
  let stop = null;
  const tabs = [
    { id: 'overview', title: 'Overview & shards' },
    { id: 'records', title: 'Records' },
    { id: 'consumers', title: 'Consumers & lag' },
    { id: 'settings', title: 'Settings & tags' },
  ];

  async function summary() {
    return (await aws.json('kinesis', 'DescribeStreamSummary', { StreamName: name })).StreamDescriptionSummary;
  }
  let sum = await summary();
  const drawHead = () => fill(head, h('h1', {}, name, ' ', badge(sum.StreamStatus)));
  drawHead();

  async function show(id) {
    if (stop) { stop(); stop = null; }
    tab = id;
    history.replaceState(null, '', `#/streams/${enc(name)}/${id}`);
    const t = ui.tabs(tabs, id, (n) => { show(n); document.getElementById('tab-' + n)?.focus(); });
    fill(tabsBox, t.bar, t.panel);
    const sub = { overview, records, consumers, settings }[id] || overview;
    stop = (await sub(t.panel)) || null;
  }

  // refreshUntilActive polls the summary after a change until the stream
  // is ACTIVE again, then redraws the tab.
  async function settle() {
    for (let i = 0; i < 60; i++) {
      sum = await summary();
      drawHead();
      if (sum.StreamStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await show(tab);
  }

  async function overview(panel) {
    const [shards, disk] = await Promise.all([listShards(aws, name), diskOf(ctx)]);
    const du = disk?.get(arnKey(sum.StreamARN));
    const open = shards.filter(shardmap.isOpen);
    const kids = shardmap.children(shards);
    const { field, select, guard, kv, fmt } = ui;
    const splitSel = select(open.map((x) => x.ShardId), open[0]?.ShardId, { id: 'split-shard' });
    const splitKey = h('input', { id: 'split-key', size: 40 });
    const midpoint = () => {
      const x = open.find((o) => o.ShardId === splitSel.value);
      if (x) splitKey.value = ((BigInt(x.HashKeyRange.StartingHashKey) + BigInt(x.HashKeyRange.EndingHashKey) + 1n) / 2n).toString();
    };
    splitSel.addEventListener('change', midpoint);
    midpoint();
    const adjacent = (x) => open.find((o) => BigInt(o.HashKeyRange.StartingHashKey) === BigInt(x.HashKeyRange.EndingHashKey) + 1n);
    const mergeable = open.filter(adjacent);
    const mergeSel = select(mergeable.map((x) => [x.ShardId, `${x.ShardId} + ${adjacent(x).ShardId}`]), mergeable[0]?.ShardId, { id: 'merge-shard' });
    const target = h('input', { id: 'scale-target', type: 'number', min: 1, value: open.length, size: 5 });
    const busy = sum.StreamStatus !== 'ACTIVE';
    const traffic = h('section', { class: 'panel', 'aria-labelledby': 'traffic-title' }, h('h2', { id: 'traffic-title' }, 'Records in and out (last 10 minutes)'));
    const key = (m) => `${m}{stream="${name}"}`;
    ctx.metrics(key('rheos_kinesis_incoming_records_total'), key('rheos_kinesis_outgoing_records_total')).then((m) => {
      const series = [{ name: 'in', values: ctx.chart.rates(m.t, m.series[key('rheos_kinesis_incoming_records_total')] || []) },
        { name: 'out', values: ctx.chart.rates(m.t, m.series[key('rheos_kinesis_outgoing_records_total')] || []) }];
      traffic.append(ctx.chart.lineChart(m.t.slice(1), series, { title: 'Records in and out', unit: '/s', width: 720, height: 120 }), ctx.chart.legend(series));
    }, () => traffic.append(h('p', { class: 'muted' }, 'Metrics are shown to an account root.')));
    const act = async (op, input, msg) => {
      if (await guard(() => aws.json('kinesis', op, { StreamName: name, ...input }), msg) !== undefined) settle();
    };
    fill(panel,
      h('div', { class: 'panel' }, kv([
        ['ARN', h('code', {}, sum.StreamARN)], ['Status', badge(sum.StreamStatus)], ['Capacity mode', sum.StreamModeDetails?.StreamMode],
        ['Open shards', String(sum.OpenShardCount)], ['Shards (with closed)', String(shards.length)], ['Retention', sum.RetentionPeriodHours + ' hours'],
        ['Encryption', sum.EncryptionType === 'KMS' ? `KMS (${sum.KeyId})` : 'none'], ['EFO consumers', String(sum.ConsumerCount ?? 0)],
        du && ['Stored', `${fmt.bytes(du.localBytes)} on local disk, ${fmt.bytes(du.tieredBytes)} tiered`],
        ['Created', fmt.time(sum.StreamCreationTimestamp)]])),
      traffic,
      h('section', { class: 'panel shardmap', id: 'shardmap', 'aria-labelledby': 'map-title' },
        h('h2', { id: 'map-title' }, 'Shard map'),
        h('p', { class: 'muted' }, 'Hash key ranges left to right; each row a generation; lines from parents to children. Closed shards are dashed.'),
        shardmap.draw(shards)),
      h('section', { class: 'panel', 'aria-labelledby': 'reshard-title' }, h('h2', { id: 'reshard-title' }, 'Reshard'),
        busy ? h('p', { class: 'muted' }, `The stream is ${sum.StreamStatus}; resharding waits until it is ACTIVE.`) : null,
        h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); act('SplitShard', { ShardToSplit: splitSel.value, NewStartingHashKey: splitKey.value.trim() }, `Splitting ${splitSel.value}`); } },
          field('Split shard', splitSel), field('New starting hash key', splitKey, 'default: the midpoint'),
          h('button', { type: 'submit', id: 'split-btn', disabled: busy || !open.length }, 'Split')),
        h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); const x = open.find((o) => o.ShardId === mergeSel.value); act('MergeShards', { ShardToMerge: x.ShardId, AdjacentShardToMerge: adjacent(x).ShardId }, `Merging ${x.ShardId}`); } },
          field('Merge adjacent shards', mergeSel),
          h('button', { type: 'submit', id: 'merge-btn', disabled: busy || !mergeable.length }, 'Merge')),
        h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); act('UpdateShardCount', { TargetShardCount: Number(target.value), ScalingType: 'UNIFORM_SCALING' }, 'Scaling'); } },
          field('Open shard count', target),
          h('button', { type: 'submit', id: 'scale-btn', disabled: busy || sum.StreamModeDetails?.StreamMode === 'ON_DEMAND' }, 'Update shard count'))),
      h('section', { class: 'panel', 'aria-labelledby': 'lineage-title' }, h('h2', { id: 'lineage-title' }, 'Lineage'),
        h('div', { id: 'lineage' }, ui.table([
          { title: 'Shard', value: (x) => h('code', {}, x.ShardId) },
          { title: 'State', value: (x) => badge(shardmap.isOpen(x) ? 'open' : 'closed') },
          { title: 'Hash keys', value: (x) => `${(shardmap.frac(x.HashKeyRange.StartingHashKey) * 100).toFixed(2)}% – ${(shardmap.frac(x.HashKeyRange.EndingHashKey) * 100).toFixed(2)}%` },
          { title: 'Parents', value: (x) => [x.ParentShardId, x.AdjacentParentShardId].filter(Boolean).join(', ') || '—' },
          { title: 'Children', value: (x) => (kids.get(x.ShardId) || []).join(', ') || '—' },
          { title: 'First sequence number', value: (x) => h('code', {}, x.SequenceNumberRange.StartingSequenceNumber) },
        ], shards))));
  }

  function records(panel) {
    return listShards(aws, name).then((shards) => renderRecords(panel, name, shards, ctx));
  }

  async function consumers(panel) {
    const { field, guard, fmt, table } = ui;
    const efoBox = h('div', { id: 'efo' });
    const esmBox = h('div', { id: 'esm' });
    const lagBox = h('div', { id: 'read-lag' });
    const cname = h('input', { id: 'efo-name', required: true, placeholder: 'my-app' });
    const enhanced = (sum.EnhancedMonitoring || []).some((e) => (e.ShardLevelMetrics || []).length);
    const monitoring = h('p', {}, h('button', { type: 'button', id: 'shard-metrics', onclick: async () => {
      const op = enhanced ? 'DisableEnhancedMonitoring' : 'EnableEnhancedMonitoring';
      if (await guard(() => aws.json('kinesis', op, { StreamName: name, ShardLevelMetrics: ['ALL'] }), enhanced ? 'Shard-level metrics disabled' : 'Shard-level metrics enabled') !== undefined) settle();
    } }, enhanced ? 'Disable shard-level metrics' : 'Enable shard-level metrics'));
    fill(panel,
      h('section', { class: 'panel', 'aria-labelledby': 'lag-title' }, h('h2', { id: 'lag-title' }, 'Read lag'),
        h('p', { class: 'muted' }, 'Iterator age of the latest read (GetRecords or SubscribeToShard) on the stream and, with shard-level metrics enabled, per shard; MillisBehindLatest of each subscribed enhanced fan-out consumer per shard (the server\'s metrics, last 10 minutes).'),
        lagBox, monitoring),
      h('section', { class: 'panel', 'aria-labelledby': 'efo-title' }, h('h2', { id: 'efo-title' }, 'Enhanced fan-out consumers'), efoBox,
        h('form', { class: 'row', onsubmit: async (e) => {
          e.preventDefault();
          if (await guard(() => aws.json('kinesis', 'RegisterStreamConsumer', { StreamARN: sum.StreamARN, ConsumerName: cname.value.trim() }), 'Consumer registered') !== undefined) { cname.value = ''; load(); }
        } }, field('Register a consumer', cname), h('button', { type: 'submit' }, 'Register'))),
      h('section', { class: 'panel', 'aria-labelledby': 'esm-title' }, h('h2', { id: 'esm-title' }, 'Lambda event source mappings'), esmBox));

    async function load() {
      const [efo, m] = await Promise.all([aws.json('kinesis', 'ListStreamConsumers', { StreamARN: sum.StreamARN }),
        ctx.metrics('rheos_kinesis_get_records_iterator_age_milliseconds{', 'rheos_kinesis_shard_iterator_age_milliseconds{',
          'rheos_lambda_event_source_iterator_age_milliseconds{', 'rheos_kinesis_consumer_millis_behind_latest{').catch(() => null)]);
      const pick = (re) => (m ? Object.entries(m.series).filter(([k]) => re.test(k)) : []);
      const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const last = (v) => [...v].reverse().find((x) => x != null);
      // Each EFO consumer's MillisBehindLatest per shard, while it is
      // subscribed (its series goes when the subscription ends).
      const efoLag = pick(new RegExp(`^rheos_kinesis_consumer_millis_behind_latest\\{.*stream="${esc}".*\\}$`))
        .filter(([, v]) => v[v.length - 1] != null).map(([k, v]) => ({
          consumer: (k.match(/consumer="([^"]+)"/) || [])[1], shard: (k.match(/shard="([^"]+)"/) || [])[1], v }));
      const behind = (c) => {
        const rows = efoLag.filter((r) => r.consumer === c.ConsumerName);
        return rows.length ? rows.map((r) => `${r.shard}: ${fmt.ms(last(r.v))}`).join(', ') : h('span', { class: 'muted' }, m ? 'not subscribed' : '—');
      };
      fill(efoBox, table([
        { title: 'Name', value: (c) => c.ConsumerName },
        { title: 'Status', value: (c) => badge(c.ConsumerStatus) },
        { title: 'Behind latest', value: behind },
        { title: 'Created', value: (c) => fmt.time(c.ConsumerCreationTimestamp) },
        { title: 'ARN', value: (c) => h('code', {}, c.ConsumerARN) },
        { title: '', value: (c) => h('button', { type: 'button', class: 'danger', onclick: async () => {
          if (await ui.confirm('Deregister consumer', `Deregister ${c.ConsumerName}?`, 'Deregister')) {
            if (await guard(() => aws.json('kinesis', 'DeregisterStreamConsumer', { ConsumerARN: c.ConsumerARN }), 'Deregistered') !== undefined) load();
          }
        } }, 'Deregister') },
      ], efo.Consumers || [], { empty: 'No enhanced fan-out consumers.' }));
      const rowsLag = [
        ...pick(new RegExp(`^rheos_kinesis_get_records_iterator_age_milliseconds\\{stream="${esc}"\\}$`)).map(([, v]) => ({ what: 'stream', v })),
        ...pick(new RegExp(`^rheos_kinesis_shard_iterator_age_milliseconds\\{.*stream="${esc}".*\\}$`)).map(([k, v]) => ({ what: (k.match(/shard="([^"]+)"/) || [])[1], v })),
        ...efoLag.map((r) => ({ what: `${r.consumer} (EFO) on ${r.shard}`, v: r.v })),
      ];
      fill(lagBox, m ? table([
        { title: 'Reader', value: (r) => r.what },
        { title: 'Iterator age', num: true, value: (r) => fmt.ms(last(r.v)) },
        { title: 'Last 10 minutes', value: (r) => ctx.chart.sparkline(r.v, { label: 'iterator age of ' + r.what, width: 160 }) },
      ], rowsLag, { empty: 'No reads yet.' }) : h('p', { class: 'muted' }, 'Metrics are shown to an account root.'));
      if (ctx.session.services.includes('lambda')) {
        const esm = await aws.rest('lambda', 'GET', '/2015-03-31/event-source-mappings/?EventSourceArn=' + enc(sum.StreamARN)).catch((e) => ({ error: e.message }));
        const ageOf = (uuid) => { const s = pick(new RegExp(`mapping="${uuid}"`))[0]; return s ? last(s[1]) : undefined; };
        fill(esmBox, esm.error ? h('p', { class: 'error' }, esm.error) : table([
          { title: 'UUID', value: (e) => h('code', {}, e.UUID) },
          { title: 'Function', value: (e) => (e.FunctionArn || '').split(':').pop() },
          { title: 'State', value: (e) => badge(e.State) },
          { title: 'Batch size', num: true, value: (e) => String(e.BatchSize ?? '—') },
          { title: 'Start', value: (e) => e.StartingPosition || '—' },
          { title: 'Iterator age', num: true, value: (e) => fmt.ms(ageOf(e.UUID)) },
          { title: 'Last result', value: (e) => e.LastProcessingResult || '—' },
        ], esm.EventSourceMappings || [], { empty: 'No event source mappings read this stream.' }));
      } else fill(esmBox, h('p', { class: 'muted' }, 'The Lambda API is not served.'));
    }
    await load();
    const timer = setInterval(() => { if (!panel.contains(document.activeElement)) load().catch(() => {}); }, 5000);
    return () => clearInterval(timer);
  }

  async function settings(panel) {
    const { field, guard, select, table } = ui;
    const hours = h('input', { id: 'retention-hours', type: 'number', min: 24, max: 8760, value: sum.RetentionPeriodHours, size: 6 });
    const key = h('input', { id: 'kms-key', value: sum.KeyId || 'alias/aws/kinesis', size: 40 });
    const mode = select(['PROVISIONED', 'ON_DEMAND'], sum.StreamModeDetails?.StreamMode, { id: 'stream-mode' });
    const tagKey = h('input', { id: 'tag-key', required: true, size: 16 });
    const tagVal = h('input', { id: 'tag-value', size: 24 });
    const tagsBox = h('div', { id: 'tags' });
    const call = async (op, input, msg) => {
      if (await guard(() => aws.json('kinesis', op, input), msg) !== undefined) { await settle(); }
    };
    async function loadTags() {
      const t = await aws.json('kinesis', 'ListTagsForStream', { StreamName: name });
      fill(tagsBox, table([
        { title: 'Key', value: (x) => x.Key }, { title: 'Value', value: (x) => x.Value || '' },
        { title: '', value: (x) => h('button', { type: 'button', class: 'danger', 'aria-label': 'Remove tag ' + x.Key,
          onclick: async () => { if (await guard(() => aws.json('kinesis', 'RemoveTagsFromStream', { StreamName: name, TagKeys: [x.Key] }), 'Tag removed') !== undefined) loadTags(); } }, 'Remove') },
      ], t.Tags || [], { empty: 'No tags.' }));
    }
    fill(panel,
      h('form', { class: 'panel', 'aria-labelledby': 'ret-title', onsubmit: (e) => {
        e.preventDefault();
        const want = Number(hours.value);
        const op = want > sum.RetentionPeriodHours ? 'IncreaseStreamRetentionPeriod' : 'DecreaseStreamRetentionPeriod';
        call(op, { StreamName: name, RetentionPeriodHours: want }, `Retention set to ${want} hours`);
      } }, h('h2', { id: 'ret-title' }, 'Retention'),
      h('div', { class: 'row' }, field('Retention (hours, 24–8760)', hours), h('button', { type: 'submit', id: 'retention-btn' }, 'Save retention'))),
      h('section', { class: 'panel', 'aria-labelledby': 'enc-title' }, h('h2', { id: 'enc-title' }, 'Server-side encryption'),
        h('p', {}, sum.EncryptionType === 'KMS' ? `Encrypted with ${sum.KeyId}.` : 'Not encrypted.'),
        h('div', { class: 'row' }, field('KMS key id, ARN or alias', key),
          h('button', { type: 'button', id: 'enc-start', onclick: () => call('StartStreamEncryption', { StreamName: name, EncryptionType: 'KMS', KeyId: key.value.trim() }, 'Encryption started') }, 'Start encryption'),
          h('button', { type: 'button', id: 'enc-stop', disabled: sum.EncryptionType !== 'KMS', onclick: () => call('StopStreamEncryption', { StreamName: name, EncryptionType: 'KMS', KeyId: sum.KeyId }, 'Encryption stopped') }, 'Stop encryption'))),
      h('form', { class: 'panel', 'aria-labelledby': 'mode-title', onsubmit: (e) => {
        e.preventDefault();
        call('UpdateStreamMode', { StreamARN: sum.StreamARN, StreamModeDetails: { StreamMode: mode.value } }, 'Mode updated');
      } }, h('h2', { id: 'mode-title' }, 'Capacity mode'),
      h('div', { class: 'row' }, field('Mode', mode), h('button', { type: 'submit' }, 'Save mode'))),
      h('section', { class: 'panel', 'aria-labelledby': 'tags-title' }, h('h2', { id: 'tags-title' }, 'Tags'), tagsBox,
        h('form', { class: 'row', onsubmit: async (e) => {
          e.preventDefault();
          if (await guard(() => aws.json('kinesis', 'AddTagsToStream', { StreamName: name, Tags: { [tagKey.value.trim()]: tagVal.value } }), 'Tag added') !== undefined) {
            tagKey.value = ''; tagVal.value = ''; loadTags();
          }
        } }, field('Key', tagKey), field('Value', tagVal), h('button', { type: 'submit', id: 'tag-add' }, 'Add tag'))));
    await loadTags();
  }

  await show(tab);
  return () => { if (stop) stop(); };
}
