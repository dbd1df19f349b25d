// The graph of a SQL application: its sources (Kinesis streams, Firehose
// delivery streams, S3 reference objects) → the in-app streams and tables
// they feed → the pumps that read and insert → the in-app streams the
// outputs send to their destinations. Derived from DescribeApplication's
// inputs, outputs and reference sources and from the application code's
// CREATE STREAM and CREATE PUMP … INSERT INTO … FROM statements.
import { arnName, arnService, svg as s } from '../services/util.js';

/** ident normalizes an SQL identifier: quoted as written, bare in upper case. */
const ident = (s) => (s.startsWith('"') ? s.slice(1, -1) : s.toUpperCase());
const ID = '("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)';

/** parse returns the code's in-app streams and pumps ({name, into, from[]}). */
export function parse(code) {
  const clean = (code || '').replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/--[^\n]*/g, ' ').replace(/'(?:[^']|'')*'/g, "''");
  const streams = [], pumps = [];
  for (const stmt of clean.split(';')) {
    let m = stmt.match(new RegExp(`^\\s*CREATE\\s+(?:OR\\s+REPLACE\\s+)?STREAM\\s+${ID}`, 'i'));
    if (m) { streams.push(ident(m[1])); continue; }
    m = stmt.match(new RegExp(`^\\s*CREATE\\s+(?:OR\\s+REPLACE\\s+)?PUMP\\s+${ID}\\s+AS\\s+INSERT\\s+INTO\\s+${ID}`, 'i'));
    if (m) {
      const from = [...stmt.matchAll(new RegExp(`\\b(?:FROM|JOIN)\\s+${ID}`, 'gi'))].map((x) => ident(x[1]))
        .filter((n) => !['TABLE', 'STREAM', 'CURSOR', 'SELECT'].includes(n));
      pumps.push({ name: ident(m[1]), into: ident(m[2]), from: [...new Set(from)] });
    }
  }
  return { streams, pumps };
}

function resourceLabel(arn) {
  const svc = arnService(arn);
  return (svc === 'kinesis' ? 'stream/' : svc === 'firehose' ? 'firehose/' : svc === 'lambda' ? 'lambda/' : '') + arnName(arn);
}

/** model returns the graph's nodes {id, label, kind} and edges [from, to]. */
export function model(app) {
  const nodes = new Map(), edges = [];
  const node = (id, label, kind) => { if (!nodes.has(id)) nodes.set(id, { id, label, kind }); return id; };
  const inApp = (name) => node('s:' + name, name, 'stream');
  for (const i of app.InputDescriptions || []) {
    const arn = i.KinesisStreamsInputDescription?.ResourceARN || i.KinesisFirehoseInputDescription?.ResourceARN || '';
    const src = node('in:' + i.InputId, resourceLabel(arn), 'source');
    for (const n of i.InAppStreamNames?.length ? i.InAppStreamNames : [i.NamePrefix + '_001']) edges.push([src, inApp(n)]);
  }
  for (const r of app.ReferenceDataSourceDescriptions || []) {
    const s3 = r.S3ReferenceDataSourceDescription || {};
    const src = node('ref:' + r.ReferenceId, 's3://' + arnName(s3.BucketARN) + '/' + (s3.FileKey || ''), 'source');
    edges.push([src, node('s:' + r.TableName, r.TableName + ' (table)', 'stream')]);
  }
  const { streams, pumps } = parse(app.ApplicationCode);
  streams.forEach(inApp);
  for (const p of pumps) {
    const id = node('p:' + p.name, p.name, 'pump');
    // Only names of in-app streams and tables: FROM also stands inside
    // functions (EXTRACT(HOUR FROM ROWTIME), TRIM(... FROM col)).
    for (const f of p.from) if (nodes.has('s:' + f)) edges.push(['s:' + f, id]);
    edges.push([id, inApp(p.into)]);
  }
  for (const o of app.OutputDescriptions || []) {
    const arn = o.KinesisStreamsOutputDescription?.ResourceARN || o.KinesisFirehoseOutputDescription?.ResourceARN || o.LambdaOutputDescription?.ResourceARN || '';
    edges.push([inApp(o.Name), node('out:' + o.OutputId, resourceLabel(arn), 'sink')]);
  }
  return { nodes: [...nodes.values()], edges };
}

/** levels places each node in a column: one past the furthest of its predecessors. */
function levels(nodes, edges) {
  const lv = new Map(nodes.map((n) => [n.id, 0]));
  for (let round = 0; round < nodes.length; round++) {
    let moved = false;
    for (const [a, b] of edges) {
      if (lv.get(b) < lv.get(a) + 1) { lv.set(b, lv.get(a) + 1); moved = true; }
    }
    if (!moved) break;
  }
  // Sinks in the last column.
  const last = Math.max(0, ...lv.values());
  for (const n of nodes) if (n.kind === 'sink') lv.set(n.id, last);
  return lv;
}

/** svg draws the application's graph. */
export function svg(app) {
  const { nodes, edges } = model(app);
  const lv = levels(nodes, edges);
  const cols = [];
  for (const n of nodes) (cols[lv.get(n.id)] ||= []).push(n);
  const W = 180, H = 34, GX = 56, GY = 18, PAD = 8;
  const pos = new Map();
  cols.forEach((col, c) => (col || []).forEach((n, r) => pos.set(n.id, { x: PAD + c * (W + GX), y: PAD + r * (H + GY) })));
  const width = PAD * 2 + cols.length * (W + GX) - GX, height = PAD * 2 + Math.max(1, ...cols.map((c) => (c || []).length)) * (H + GY) - GY;
  const g = s('svg', { viewBox: `0 0 ${Math.max(width, 200)} ${height}`, width: Math.max(width, 200), role: 'img', class: 'app-graph',
    'aria-label': 'Application graph: ' + edges.map(([a, b]) => `${nodes.find((n) => n.id === a)?.label} → ${nodes.find((n) => n.id === b)?.label}`).join('; ') },
  { maxWidth: '100%', height: 'auto' });
  g.append(s('defs', {}, {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '10', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' },
    {}, s('path', { d: 'M 0 0 L 10 5 L 0 10 z' }, { fill: 'var(--muted)' }))));
  for (const [a, b] of edges) {
    const p = pos.get(a), q = pos.get(b);
    if (!p || !q) continue;
    const x1 = p.x + W, y1 = p.y + H / 2, x2 = q.x, y2 = q.y + H / 2, mx = (x1 + x2) / 2;
    g.append(s('path', { d: `M${x1} ${y1} C${mx} ${y1} ${mx} ${y2} ${x2} ${y2}`, fill: 'none', 'marker-end': 'url(#arrow)' }, { stroke: 'var(--muted)', strokeWidth: '1.5' }));
  }
  const look = {
    source: { fill: 'var(--code)', stroke: 'var(--chart3)', dash: '4 3', rx: 4 },
    sink: { fill: 'var(--code)', stroke: 'var(--chart2)', dash: '4 3', rx: 4 },
    stream: { fill: 'var(--panel)', stroke: 'var(--accent)', dash: '', rx: 4 },
    pump: { fill: 'var(--panel)', stroke: 'var(--chart4)', dash: '', rx: 16 },
  };
  for (const n of nodes) {
    const p = pos.get(n.id), l = look[n.kind];
    const label = n.label.length > 24 ? n.label.slice(0, 23) + '…' : n.label;
    g.append(s('g', { class: 'node ' + n.kind, 'data-id': n.id }, {},
      s('title', {}, {}, `${n.kind === 'pump' ? 'pump' : n.kind === 'stream' ? 'in-app stream' : n.kind}: ${n.label}`),
      s('rect', { x: p.x, y: p.y, width: W, height: H, rx: l.rx }, { fill: l.fill, stroke: l.stroke, strokeWidth: '1.5', strokeDasharray: l.dash }),
      s('text', { x: p.x + W / 2, y: p.y + H / 2 + 4, 'text-anchor': 'middle' }, { fill: 'var(--fg)', fontSize: '11px' }, label)));
  }
  return g;
}
