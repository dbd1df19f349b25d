// Firehose: delivery streams with their source (direct put or a Kinesis
// stream), destination, buffering hints and status (ListDeliveryStreams,
// DescribeDeliveryStream); a delivery stream's destination configuration,
// its failure description, its latest objects and links to its S3 output,
// error and backup prefixes in the S3 browser (ListObjectsV2); a test
// record (PutRecord). Routes: #/firehose, #/firehose/<name>.
import * as u from './services/util.js';
import * as mon from './services/monitor.js';

// The delivery metrics (CloudWatch's AWS/Firehose, here Prometheus series
// labelled by stream): read from the server's metric history.
const METRICS = ['rheos_firehose_incoming_records_total', 'rheos_firehose_delivered_records_total', 'rheos_firehose_deliveries_total',
  'rheos_firehose_data_freshness_seconds', 'rheos_firehose_failed_records_total'];

/** health sums a delivery stream's latest delivery outcomes and freshness. */
function health(m, name) {
  const total = (metric, labels) => mon.select(m, metric, { stream: name, ...labels }).reduce((a, s) => a + (mon.latest(s.values) ?? 0), 0);
  const fresh = mon.select(m, 'rheos_firehose_data_freshness_seconds', { stream: name }).map((s) => mon.latest(s.values)).filter((v) => v != null);
  return { ok: total('rheos_firehose_deliveries_total', { outcome: 'ok' }), failed: total('rheos_firehose_deliveries_total', { outcome: 'error' }),
    failedRecords: total('rheos_firehose_failed_records_total'), freshness: fresh.length ? Math.max(...fresh) : null };
}

const freshness = (s) => (s == null ? '—' : s < 60 ? s.toFixed(1) + ' s' : (s / 60).toFixed(1) + ' min');

export async function render(root, route, ctx) {
  if (route[0]) return detail(root, route[0], ctx);
  return list(root, ctx);
}

const describe = (aws, name) => aws.json('firehose', 'DescribeDeliveryStream', { DeliveryStreamName: name }).then((d) => d.DeliveryStreamDescription);

// Destination descriptions by their member name, with a short label.
const destKinds = [
  ['ExtendedS3DestinationDescription', 'S3'], ['RedshiftDestinationDescription', 'Redshift'],
  ['ElasticsearchDestinationDescription', 'Elasticsearch'], ['AmazonopensearchserviceDestinationDescription', 'OpenSearch'],
  ['AmazonOpenSearchServerlessDestinationDescription', 'OpenSearch Serverless'], ['SplunkDestinationDescription', 'Splunk'],
  ['HttpEndpointDestinationDescription', 'HTTP endpoint'], ['SnowflakeDestinationDescription', 'Snowflake'],
  ['IcebergDestinationDescription', 'Iceberg'], ['S3DestinationDescription', 'S3'],
];

/** destination returns {kind, label, d} for a Destinations entry: the most specific description. */
function destination(dest) {
  for (const [k, label] of destKinds) if (dest?.[k]) return { kind: k, label, d: dest[k] };
  return { kind: '', label: '—', d: {} };
}

function source(ui, d) {
  const { h } = ui;
  const ks = d.Source?.KinesisStreamSourceDescription;
  if (ks) return h('span', {}, 'Kinesis stream ', h('a', { href: u.streamHref(ks.KinesisStreamARN) }, u.arnName(ks.KinesisStreamARN)));
  const msk = d.Source?.MSKSourceDescription;
  if (msk) return 'MSK topic ' + (msk.TopicName || '');
  return 'Direct put';
}

function buffering(d) {
  const b = d.BufferingHints;
  if (!b) return '—';
  return `${b.SizeInMBs ?? '—'} MiB / ${b.IntervalInSeconds ?? '—'} s`;
}

async function list(root, { ui, aws, metrics }) {
  const { h } = ui;
  const names = [];
  let out = await aws.json('firehose', 'ListDeliveryStreams', { Limit: 100 });
  names.push(...(out.DeliveryStreamNames || []));
  while (out.HasMoreDeliveryStreams && names.length && names.length < 1000) {
    out = await aws.json('firehose', 'ListDeliveryStreams', { Limit: 100, ExclusiveStartDeliveryStreamName: names[names.length - 1] });
    names.push(...(out.DeliveryStreamNames || []));
  }
  const descs = await Promise.all(names.slice(0, 200).map((n) => describe(aws, n).catch(() => ({ DeliveryStreamName: n }))));
  const m = await mon.history(metrics, METRICS);
  root.append(h('h1', {}, 'Firehose'),
    h('p', { class: 'muted' }, 'Delivery streams (ListDeliveryStreams, DescribeDeliveryStream).'),
    ui.table([
      { title: 'Name', value: (d) => h('a', { href: '#/firehose/' + u.enc(d.DeliveryStreamName), class: 'delivery-link' }, d.DeliveryStreamName) },
      { title: 'Status', value: (d) => (d.DeliveryStreamStatus ? ui.badge(d.DeliveryStreamStatus) : '—') },
      { title: 'Source', value: (d) => source(ui, d) },
      { title: 'Destination', value: (d) => destination(d.Destinations?.[0]).label },
      { title: 'Buffering', value: (d) => buffering(destination(d.Destinations?.[0]).d) },
      m ? { title: 'Data freshness', num: true, value: (d) => freshness(health(m, d.DeliveryStreamName).freshness) } : null,
      m ? { title: 'Deliveries', value: (d) => {
        const x = health(m, d.DeliveryStreamName);
        return h('span', {}, `${x.ok} ok`, x.failed ? h('span', { class: 'error' }, ` · ${x.failed} failed`) : null);
      } } : null,
      { title: 'Created', value: (d) => ui.fmt.time(d.CreateTimestamp) },
    ].filter(Boolean), descs, { empty: 'No delivery streams.' }));
}

/** s3Places are the S3 locations a destination writes: output, errors, backup. */
function s3Places(dest) {
  const out = [];
  const add = (what, d, prefix) => d?.BucketARN && out.push({ what, bucket: u.bucketOf(d.BucketARN), prefix: prefix ?? '' });
  const { kind, d } = destination(dest);
  if (kind === 'ExtendedS3DestinationDescription' || kind === 'S3DestinationDescription') {
    add('Output', d, d.Prefix);
    if (d.ErrorOutputPrefix) add('Errors', d, d.ErrorOutputPrefix);
    if (d.S3BackupDescription) add('Backup', d.S3BackupDescription, d.S3BackupDescription.Prefix);
  } else {
    // Other destinations back up (all or failed records) to S3.
    const b = d.S3DestinationDescription || d.S3BackupDescription;
    if (b) add(d.S3BackupMode ? `Backup (${d.S3BackupMode})` : 'Backup', b, b.Prefix);
  }
  return out;
}

async function latest(ui, aws, place) {
  const { h } = ui;
  const prefix = u.staticPrefix(place.prefix);
  try {
    // A recursive listing of the first 1000 keys; the newest five shown.
    const { objects } = await u.listObjects(aws, place.bucket, { prefix, delimiter: '', max: 1000 });
    objects.sort((a, b) => b.modified.localeCompare(a.modified));
    if (!objects.length) return h('p', { class: 'muted' }, 'No objects yet.');
    return ui.table([
      { title: 'Object', value: (o) => h('a', { href: u.s3ObjectHref(place.bucket, o.key), class: 'delivered-object' }, o.key) },
      { title: 'Size', num: true, value: (o) => ui.fmt.bytes(o.size) },
      { title: 'Written', value: (o) => ui.fmt.time(o.modified) },
    ], objects.slice(0, 5));
  } catch (e) {
    return h('p', { class: 'error' }, e.message);
  }
}

async function detail(root, name, ctx) {
  const { ui, aws } = ctx;
  const { h, fill, field, guard } = ui;
  const d = await describe(aws, name);
  const m = await mon.history(ctx.metrics, METRICS);
  const x = m && health(m, name);
  const dests = d.Destinations || [];
  root.append(h('h1', {}, h('a', { href: '#/firehose' }, 'Firehose'), ' / ', name),
    h('div', { class: 'panel' }, ui.kv([
      ['Status', ui.badge(d.DeliveryStreamStatus)], ['ARN', h('code', {}, d.DeliveryStreamARN)],
      ['Source', source(ui, d)], ['Type', d.DeliveryStreamType],
      ['Created', ui.fmt.time(d.CreateTimestamp)], ['Last updated', ui.fmt.time(d.LastUpdateTimestamp)],
      ['Encryption', d.DeliveryStreamEncryptionConfiguration?.Status || '—'], ['Version', d.VersionId],
      d.Source?.KinesisStreamSourceDescription?.DeliveryStartTimestamp
        ? ['Reading the stream since', ui.fmt.time(d.Source.KinesisStreamSourceDescription.DeliveryStartTimestamp)] : null,
      d.FailureDescription ? ['Failure', h('span', { class: 'error' }, `${d.FailureDescription.Type}: ${d.FailureDescription.Details}`)] : null,
      x ? ['Data freshness', h('span', { id: 'fh-freshness' }, freshness(x.freshness))] : null,
      x ? ['Deliveries', h('span', { id: 'fh-deliveries' }, `${x.ok} ok, ${x.failed} failed; ${x.failedRecords} records to the error prefix`)] : null,
    ])));
  for (const dest of dests) {
    const { label, d: dd } = destination(dest);
    const places = s3Places(dest);
    const sec = h('section', { class: 'panel', 'aria-label': 'Destination ' + dest.DestinationId },
      h('h2', {}, `Destination: ${label}`, h('span', { class: 'muted' }, ` (${dest.DestinationId})`)),
      ui.kv([
        dd.BucketARN ? ['Bucket', h('a', { href: u.s3Href(u.bucketOf(dd.BucketARN)) }, u.bucketOf(dd.BucketARN))] : null,
        dd.Prefix !== undefined ? ['Prefix', h('code', {}, dd.Prefix || '(none)')] : null,
        dd.ErrorOutputPrefix ? ['Error output prefix', h('code', {}, dd.ErrorOutputPrefix)] : null,
        ['Buffering hints', buffering(dd)],
        dd.CompressionFormat ? ['Compression', dd.CompressionFormat] : null,
        dd.S3BackupMode ? ['Backup mode', dd.S3BackupMode] : null,
        dd.EndpointConfiguration?.Url ? ['Endpoint', dd.EndpointConfiguration.Url] : null,
        dd.DynamicPartitioningConfiguration?.Enabled ? ['Dynamic partitioning', 'enabled'] : null,
        dd.ProcessingConfiguration?.Enabled ? ['Processing', (dd.ProcessingConfiguration.Processors || []).map((p) => p.Type).join(', ')] : null,
      ]),
      places.length ? h('h3', {}, 'In the S3 browser') : null,
      places.length ? h('ul', {}, places.map((p) => h('li', {}, `${p.what}: `,
        h('a', { href: u.s3Href(p.bucket, u.staticPrefix(p.prefix)), class: 's3-place', dataset: { what: p.what } }, `s3://${p.bucket}/${u.staticPrefix(p.prefix)}`),
        p.prefix.includes('!{') ? h('span', { class: 'muted' }, ` (prefix ${p.prefix})`) : null))) : null,
      h('details', {}, h('summary', {}, 'Full configuration (JSON)'), h('pre', {}, JSON.stringify(dd, null, 2))));
    if (places.length) {
      const box = h('div', { class: 'latest-objects' }, h('p', { class: 'muted' }, 'Loading…'));
      sec.append(h('h3', {}, 'Latest deliveries'),
        h('p', { class: 'muted' }, 'DescribeDeliveryStream keeps no delivery history: these are the newest objects under the output prefix.'), box);
      latest(ui, aws, places[0]).then((n) => fill(box, n));
    }
    root.append(sec);
  }

  const stream = { stream: name };
  root.append(mon.section(ctx, m, [
    { title: 'Records in / delivered', unit: '/s', series: [
      { name: 'in', metric: 'rheos_firehose_incoming_records_total', labels: stream, rate: true },
      { name: 'delivered', metric: 'rheos_firehose_delivered_records_total', labels: stream, rate: true }] },
    { title: 'Data freshness', unit: ' s', series: [{ name: 'oldest undelivered record', metric: 'rheos_firehose_data_freshness_seconds', labels: stream }] },
    { title: 'Deliveries', unit: '/s', series: [
      { name: 'ok', metric: 'rheos_firehose_deliveries_total', labels: { ...stream, outcome: 'ok' }, rate: true },
      { name: 'failed', metric: 'rheos_firehose_deliveries_total', labels: { ...stream, outcome: 'error' }, rate: true },
      { name: 'records to the error prefix', metric: 'rheos_firehose_failed_records_total', labels: stream, rate: true }] },
  ], 'The delivery stream\'s CloudWatch metrics (IncomingRecords, DeliveryToS3.Records, DataFreshness, DeliveryToS3.Success), as this server keeps them.'));

  const data = h('textarea', { id: 'fh-data', rows: 3 }, '{"hello": "firehose"}');
  const nl = h('input', { id: 'fh-newline', type: 'checkbox', checked: true });
  root.append(h('form', { class: 'panel', 'aria-labelledby': 'fh-put-title', onsubmit: async (e) => {
    e.preventDefault();
    const text = data.value + (nl.checked && !data.value.endsWith('\n') ? '\n' : '');
    const out = await guard(() => aws.json('firehose', 'PutRecord', { DeliveryStreamName: name, Record: { Data: u.b64(text) } }));
    if (out) ui.toast(`Record ${out.RecordId.slice(0, 16)}… accepted; delivered when the buffer fills or its interval passes.`);
  } },
  h('h2', { id: 'fh-put-title' }, 'Put a test record'),
  field('Data (UTF-8)', data), field('End with a newline', nl),
  h('button', { type: 'submit', class: 'primary', id: 'fh-put' }, 'Put record')));
}
