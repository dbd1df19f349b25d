// The S3 browser: buckets (ListBuckets), a bucket's prefixes and objects
// (ListObjectsV2 with a prefix and the "/" delimiter), an object's preview
// (GetObject of its first 64 KiB with a Range: text, JSON pretty-printed,
// gzip inflated, hex for binary) and download (GetObject whole). Routes:
// #/s3, #/s3/<bucket>, #/s3/<bucket>/p/<prefix>, #/s3/<bucket>/o/<key>.
import * as u from './services/util.js';
import { hex } from '../lib/decode.js';

const PREVIEW = 64 << 10;

export async function render(root, route, ctx) {
  const [bucket, kind, rest] = route;
  if (!bucket) return buckets(root, ctx);
  if (kind === 'o' && rest) return object(root, bucket, rest, ctx);
  return listing(root, bucket, kind === 'p' ? rest || '' : '', ctx);
}

function crumbs(h, bucket, prefix, last) {
  const parts = prefix.split('/').filter(Boolean);
  const out = [h('a', { href: '#/s3' }, 'Buckets'), ' / ', h('a', { href: u.s3Href(bucket), class: 'crumb-bucket' }, bucket)];
  let acc = '';
  parts.forEach((p, i) => {
    acc += p + '/';
    out.push(' / ', i === parts.length - 1 && !last ? h('span', {}, p) : h('a', { href: u.s3Href(bucket, acc) }, p));
  });
  if (last) out.push(' / ', h('span', {}, last));
  return h('nav', { class: 'crumbs', 'aria-label': 'Location' }, out);
}

async function buckets(root, { ui, aws }) {
  const { h } = ui;
  const doc = await u.xml(await aws.send('s3', { method: 'GET', path: '/' }));
  const list = [...doc.getElementsByTagName('Bucket')].map((b) => ({ name: u.text(b, 'Name'), created: u.text(b, 'CreationDate') }));
  root.append(h('h1', {}, 'S3 browser'),
    h('p', { class: 'muted' }, 'The built-in S3: buckets, prefixes and objects, read with ListBuckets, ListObjectsV2 and GetObject.'),
    ui.table([
      { title: 'Bucket', value: (b) => h('a', { href: u.s3Href(b.name), class: 'bucket-link' }, b.name) },
      { title: 'Created', value: (b) => ui.fmt.time(b.created) },
    ], list, { empty: 'No buckets.' }));
}

async function listing(root, bucket, prefix, { ui, aws }) {
  const { h, fill, field, guard } = ui;
  const filter = h('input', { id: 's3-filter', type: 'search', placeholder: 'key prefix', value: prefix, size: 40 });
  const body = h('div', { id: 's3-listing' });
  const more = h('button', { type: 'button', id: 's3-more', hidden: true }, 'Load more');
  root.append(h('h1', {}, 'S3 browser'), crumbs(h, bucket, prefix),
    h('form', { class: 'row panel', onsubmit: (e) => { e.preventDefault(); location.hash = u.s3Href(bucket, filter.value); } },
      field('Prefix', filter), h('button', { type: 'submit' }, 'Go')),
    body, more);
  let prefixes = [], objects = [], token = '';
  const draw = () => fill(body,
    ui.table([
      { title: 'Name', value: (r) => r.prefix
        ? h('a', { href: u.s3Href(bucket, r.prefix), class: 'prefix-link' }, '📁 ' + r.prefix.slice(prefix.length))
        : h('a', { href: u.s3ObjectHref(bucket, r.key), class: 'object-link' }, r.key.slice(prefix.length)) },
      { title: 'Size', num: true, value: (r) => (r.prefix ? '' : ui.fmt.bytes(r.size)) },
      { title: 'Last modified', value: (r) => (r.prefix ? '' : ui.fmt.time(r.modified)) },
    ], [...prefixes.map((p) => ({ prefix: p })), ...objects], { empty: prefix ? 'Nothing under this prefix.' : 'The bucket is empty.' }));
  async function page() {
    const out = await u.listObjects(aws, bucket, { prefix, token });
    prefixes.push(...out.prefixes);
    objects.push(...out.objects);
    token = out.next;
    more.hidden = !token;
    draw();
  }
  more.addEventListener('click', () => guard(page));
  await page();
}

/** inflate gunzips what it can of a (possibly cut) gzip stream. */
async function inflate(bytes) {
  const ds = new DecompressionStream('gzip');
  const w = ds.writable.getWriter();
  w.write(bytes).catch(() => {});
  w.close().catch(() => {});
  const r = ds.readable.getReader();
  const parts = [];
  let n = 0;
  try {
    for (;;) {
      const { value, done } = await r.read();
      if (done) break;
      parts.push(value); n += value.length;
      if (n > 4 * PREVIEW) break;
    }
  } catch { /* cut short: keep what came out */ }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

async function object(root, bucket, key, { ui, aws }) {
  const { h, guard } = ui;
  const dir = key.includes('/') ? key.slice(0, key.lastIndexOf('/') + 1) : '';
  root.append(h('h1', {}, 'S3 browser'), crumbs(h, bucket, dir, key.slice(dir.length)));
  const path = '/' + u.enc(bucket) + '/' + key.split('/').map(u.enc).join('/');
  const resp = await aws.send('s3', { method: 'GET', path, headers: { Range: `bytes=0-${PREVIEW - 1}` } });
  const raw = new Uint8Array(await resp.arrayBuffer());
  const range = resp.headers.get('Content-Range') || '';
  const size = range.includes('/') ? Number(range.split('/')[1]) : raw.length;
  const ctype = resp.headers.get('Content-Type') || '';
  let bytes = raw, note = size > raw.length ? `The first ${ui.fmt.bytes(raw.length)} of ${ui.fmt.bytes(size)}.` : 'The whole object.';
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    bytes = await inflate(raw);
    note += ` Gzip: ${ui.fmt.bytes(bytes.length)} inflated.`;
  }
  let shown, mode;
  try {
    shown = u.pretty(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    mode = 'text';
  } catch {
    shown = hex(bytes);
    mode = 'hex';
  }
  const name = key.slice(dir.length) || 'object';
  root.append(
    h('div', { class: 'panel' }, ui.kv([
      ['Bucket', bucket], ['Key', h('code', {}, key)], ['Size', ui.fmt.bytes(size)], ['Content type', ctype || '—'],
      ['Last modified', resp.headers.get('Last-Modified') || '—'], ['ETag', resp.headers.get('ETag') || '—'],
    ]), u.spaced(h('div', { class: 'row' },
      h('button', { type: 'button', class: 'primary', id: 's3-download', onclick: () => guard(async () => {
        const whole = await aws.send('s3', { method: 'GET', path });
        u.download(await whole.blob(), name);
      }, `Downloaded ${name}`) }, 'Download')))),
    h('h2', {}, 'Preview ', h('span', { class: 'muted' }, mode === 'hex' ? '(hex: not UTF-8)' : '(text)')),
    h('p', { class: 'muted' }, note),
    h('pre', { id: 's3-preview', tabindex: '0', dataset: { mode } }, shown));
}
