// The record browser of a stream: read one shard or every open shard from
// TRIM_HORIZON, LATEST, a sequence number or a timestamp (GetShardIterator,
// GetRecords), read on or tail live (polling GetRecords with the next
// iterator), decode, de-aggregate KPL records, search, download as JSON
// lines; and put a test record (PutRecord).
import * as dec from '../../lib/decode.js';
import { isOpen } from './shardmap.js';

const MAX_KEPT = 5000;

export async function renderRecords(panel, name, shards, { ui, aws }) {
  const { h, fill, field, select, guard, fmt } = ui;
  const open = shards.filter(isOpen);
  const shardSel = select([['*', 'All open shards'], ...shards.map((x) => [x.ShardId, x.ShardId + (isOpen(x) ? '' : ' (closed)')])], '*', { id: 'rec-shard' });
  const typeSel = select(['TRIM_HORIZON', 'LATEST', 'AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER', 'AT_TIMESTAMP'], 'TRIM_HORIZON', { id: 'rec-type' });
  const start = h('input', { id: 'rec-start', placeholder: 'sequence number or 2026-01-02T15:04:05Z', size: 30, disabled: true });
  const limit = h('input', { id: 'rec-limit', type: 'number', min: 1, max: 10000, value: 100, size: 6 });
  const decode = select([['utf8', 'UTF-8'], ['json', 'JSON (pretty)'], ['hex', 'Hex'], ['base64', 'Base64']], 'utf8', { id: 'rec-decode' });
  const kpl = h('input', { id: 'rec-kpl', type: 'checkbox', checked: true });
  const search = h('input', { id: 'rec-search', type: 'search', placeholder: 'partition key or text', size: 20 });
  const status = h('p', { id: 'rec-status', class: 'muted', 'aria-live': 'polite' });
  const lag = h('div', { id: 'lag' });
  const list = h('div', { id: 'records' });
  const tailBtn = h('button', { type: 'button', id: 'rec-tail', 'aria-pressed': 'false' }, 'Live tail');
  typeSel.addEventListener('change', () => { start.disabled = !/SEQUENCE|TIMESTAMP/.test(typeSel.value); });

  let records = [];      // [{shardId, rec, user: [{partitionKey, data}] | null}]
  let iters = new Map(); // shard id -> next iterator
  let behind = new Map();
  let timer = null;

  function shardIds() { return shardSel.value === '*' ? open.map((x) => x.ShardId) : [shardSel.value]; }

  async function iterator(shardId) {
    const input = { StreamName: name, ShardId: shardId, ShardIteratorType: typeSel.value };
    if (/SEQUENCE/.test(typeSel.value)) input.StartingSequenceNumber = start.value.trim();
    if (typeSel.value === 'AT_TIMESTAMP') {
      const t = Date.parse(start.value.trim());
      if (isNaN(t)) throw new Error('AT_TIMESTAMP needs a date, e.g. 2026-01-02T15:04:05Z');
      input.Timestamp = t / 1000;
    }
    return (await aws.json('kinesis', 'GetShardIterator', input)).ShardIterator;
  }

  async function readOnce() {
    const n = Math.max(1, Math.min(10000, Number(limit.value) || 100));
    let got = 0;
    for (const [shardId, it] of iters) {
      if (!it) continue;
      const out = await aws.json('kinesis', 'GetRecords', { ShardIterator: it, Limit: n });
      iters.set(shardId, out.NextShardIterator || null);
      behind.set(shardId, out.MillisBehindLatest);
      for (const rec of out.Records || []) {
        const bytes = dec.fromBase64(rec.Data);
        let user = null;
        if (dec.isAggregated(bytes)) { try { user = dec.deaggregate(bytes); } catch { user = null; } }
        records.push({ shardId, rec, bytes, user });
        got++;
      }
    }
    if (iters.size > 1) { // a stream's records in arrival order, whatever their shard
      records.sort((a, b) => (a.rec.ApproximateArrivalTimestamp - b.rec.ApproximateArrivalTimestamp) ||
        (BigInt(a.rec.SequenceNumber) < BigInt(b.rec.SequenceNumber) ? -1 : 1));
    }
    if (records.length > MAX_KEPT) records = records.slice(records.length - MAX_KEPT);
    return got;
  }

  async function read() {
    stopTail();
    records = []; iters = new Map(); behind = new Map();
    for (const id of shardIds()) iters.set(id, await iterator(id));
    const got = await readOnce();
    status.textContent = `${got} records read.`;
    draw();
  }

  async function more() {
    const got = await readOnce();
    status.textContent = `${got} more records read.`;
    draw();
  }

  function stopTail() {
    if (timer) { clearInterval(timer); timer = null; }
    tailBtn.setAttribute('aria-pressed', 'false');
    tailBtn.textContent = 'Live tail';
  }

  async function tail() {
    if (timer) { stopTail(); status.textContent = 'Live tail stopped.'; return; }
    if (!iters.size) {
      for (const id of shardIds()) iters.set(id, await iterator(id));
    }
    tailBtn.setAttribute('aria-pressed', 'true');
    tailBtn.textContent = 'Stop tail';
    status.textContent = 'Live tail: polling every second.';
    let busy = false;
    timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try { if (await readOnce()) draw(); else drawLag(); } catch (e) { ui.toast(e.message, 'error'); stopTail(); } finally { busy = false; }
    }, 1000);
  }

  // rows expands aggregated records into their user records when asked.
  function rows() {
    const out = [];
    for (const r of records) {
      if (r.user && kpl.checked) {
        r.user.forEach((u, i) => out.push({ shardId: r.shardId, seq: r.rec.SequenceNumber, sub: i, time: r.rec.ApproximateArrivalTimestamp,
          pk: u.partitionKey, bytes: u.data, kpl: true }));
      } else {
        out.push({ shardId: r.shardId, seq: r.rec.SequenceNumber, time: r.rec.ApproximateArrivalTimestamp, pk: r.rec.PartitionKey, bytes: r.bytes, kpl: false });
      }
    }
    const q = search.value.trim().toLowerCase();
    if (!q) return out;
    return out.filter((r) => r.pk.toLowerCase().includes(q) || (dec.utf8(r.bytes) || '').toLowerCase().includes(q));
  }

  function drawLag() {
    fill(lag, behind.size ? h('p', {}, h('strong', {}, 'Behind latest (MillisBehindLatest): '),
      [...behind].map(([id, ms], i) => [i ? ', ' : '', h('span', { class: 'lag', dataset: { shard: id, ms: String(ms ?? '') } }, `${id}: ${fmt.ms(ms)}`)])) : null);
  }

  function draw() {
    drawLag();
    const rs = rows();
    fill(list, ui.table([
      { title: 'Shard', value: (r) => r.shardId.replace('shardId-', '') },
      { title: 'Sequence number', value: (r) => h('code', {}, r.seq + (r.sub !== undefined ? ` #${r.sub}` : '')) },
      { title: 'Arrival', value: (r) => fmt.time(r.time) },
      { title: 'Partition key', value: (r) => h('span', { class: 'pk' }, r.pk) },
      { title: 'Bytes', num: true, value: (r) => String(r.bytes.length) },
      { title: 'Data', value: (r) => h('pre', { class: 'record-data' }, (r.kpl ? '[KPL] ' : '') + dec.show(r.bytes, decode.value)) },
    ], rs, { empty: records.length ? 'No record matches the search.' : 'No records read yet.', caption: `${rs.length} shown of ${records.length} read` }));
  }

  function download() {
    const lines = rows().map((r) => JSON.stringify({ shardId: r.shardId, sequenceNumber: r.seq, subSequenceNumber: r.sub,
      approximateArrivalTimestamp: r.time, partitionKey: r.pk, data: dec.toBase64(r.bytes) }));
    const url = URL.createObjectURL(new Blob([lines.join('\n') + '\n'], { type: 'application/x-ndjson' }));
    const a = h('a', { href: url, download: `${name}-records.jsonl` });
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  [decode, kpl].forEach((el) => el.addEventListener('change', draw));
  search.addEventListener('input', draw);

  // Put a test record.
  const pk = h('input', { id: 'put-pk', value: 'console-test', required: true });
  const data = h('textarea', { id: 'put-data', rows: 3 }, '{"hello": "from the console"}');
  const ehk = h('input', { id: 'put-ehk', placeholder: 'optional', size: 40 });
  const putForm = h('form', { class: 'panel', 'aria-labelledby': 'put-title', onsubmit: async (e) => {
    e.preventDefault();
    const input = { StreamName: name, PartitionKey: pk.value, Data: dec.toBase64(new TextEncoder().encode(data.value)) };
    if (ehk.value.trim()) input.ExplicitHashKey = ehk.value.trim();
    const out = await guard(() => aws.json('kinesis', 'PutRecord', input));
    if (out) ui.toast(`Put into ${out.ShardId} as ${out.SequenceNumber}`);
  } },
  h('h3', { id: 'put-title' }, 'Put a test record'),
  h('div', { class: 'row' }, field('Partition key', pk), field('Explicit hash key', ehk)),
  field('Data (UTF-8)', data),
  h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', id: 'put-btn' }, 'Put record')));

  fill(panel,
    h('form', { class: 'panel', 'aria-label': 'Read records', onsubmit: (e) => { e.preventDefault(); guard(read); } },
      h('div', { class: 'row' }, field('Shard', shardSel), field('Start at', typeSel), field('Sequence number or time', start), field('Limit per shard', limit),
        h('button', { type: 'submit', class: 'primary', id: 'rec-read' }, 'Read'),
        h('button', { type: 'button', id: 'rec-more', onclick: () => guard(more) }, 'Read more'),
        tailBtn),
      h('div', { class: 'row' }, field('Show data as', decode), field('De-aggregate KPL records', kpl), field('Search', search),
        h('button', { type: 'button', id: 'rec-download', onclick: download }, 'Download JSON lines'))),
    status, lag, list, putForm);
  tailBtn.addEventListener('click', () => guard(tail));
  return stopTail;
}
