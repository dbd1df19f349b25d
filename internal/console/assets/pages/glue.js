// Data Catalog (Glue): databases (GetDatabases), a database's tables
// (GetTables) and a table's schema, storage and parameters (GetTable),
// with its S3 location (and an Iceberg table's metadata) linked into the
// S3 browser. Firehose's format conversion and Iceberg destinations read
// these tables. Routes: #/glue, #/glue/<database>, #/glue/<database>/<table>.
import * as u from './services/util.js';

export async function render(root, route, ctx) {
  if (route[1]) return table(root, route[0], route[1], ctx);
  if (route[0]) return database(root, route[0], ctx);
  return databases(root, ctx);
}

/** pages calls a paginated Glue operation, gathering key's items. */
async function pages(aws, op, input, key) {
  const out = [];
  let token = '';
  do {
    const page = await aws.json('glue', op, token ? { ...input, NextToken: token } : input);
    out.push(...(page[key] || []));
    token = page.NextToken || '';
  } while (token && out.length < 5000);
  return out;
}

/** s3Link links an s3:// URI into the S3 browser (a key without a trailing
 * slash as an object), else shows it as it is. */
function s3Link(h, uri) {
  const m = /^s3a?:\/\/([^/]+)\/?(.*)$/.exec(uri || '');
  if (!m) return uri ? h('code', {}, uri) : '—';
  const [, bucket, key] = m;
  const href = key && !key.endsWith('/') && /\.[a-z0-9]+$/i.test(key) ? u.s3ObjectHref(bucket, key) : u.s3Href(bucket, key && !key.endsWith('/') ? key + '/' : key);
  return h('a', { href, class: 's3-location' }, uri);
}

const tableType = (t) => (t.Parameters?.table_type || t.TableType || '—');

async function databases(root, { ui, aws }) {
  const { h } = ui;
  const dbs = await pages(aws, 'GetDatabases', {}, 'DatabaseList');
  root.append(h('h1', {}, 'Data Catalog'),
    h('p', { class: 'muted' }, 'Glue databases and tables (GetDatabases, GetTables, GetTable): the schemas Firehose converts records with and the Iceberg tables it writes.'),
    ui.table([
      { title: 'Database', value: (d) => h('a', { href: '#/glue/' + u.enc(d.Name), class: 'glue-db-link' }, d.Name) },
      { title: 'Description', value: (d) => d.Description || '' },
      { title: 'Location', value: (d) => s3Link(h, d.LocationUri) },
      { title: 'Created', value: (d) => ui.fmt.time(d.CreateTime) },
    ], dbs, { empty: 'No databases.' }));
}

async function database(root, name, { ui, aws }) {
  const { h } = ui;
  const [db, tables] = await Promise.all([aws.json('glue', 'GetDatabase', { Name: name }).then((x) => x.Database || {}),
    pages(aws, 'GetTables', { DatabaseName: name }, 'TableList')]);
  root.append(h('h1', {}, h('a', { href: '#/glue' }, 'Data Catalog'), ' / ', name),
    h('div', { class: 'panel' }, ui.kv([['Description', db.Description || '—'], ['Location', s3Link(h, db.LocationUri)], ['Created', ui.fmt.time(db.CreateTime)],
      db.Parameters && Object.keys(db.Parameters).length ? ['Parameters', h('code', {}, JSON.stringify(db.Parameters))] : null])),
    h('h2', {}, 'Tables'),
    ui.table([
      { title: 'Table', value: (t) => h('a', { href: '#/glue/' + u.enc(name) + '/' + u.enc(t.Name), class: 'glue-table-link' }, t.Name) },
      { title: 'Type', value: tableType },
      { title: 'Columns', num: true, value: (t) => String((t.StorageDescriptor?.Columns || []).length) },
      { title: 'Partition keys', value: (t) => (t.PartitionKeys || []).map((k) => k.Name).join(', ') || '—' },
      { title: 'Location', value: (t) => s3Link(h, t.StorageDescriptor?.Location) },
      { title: 'Updated', value: (t) => ui.fmt.time(t.UpdateTime || t.CreateTime) },
    ], tables, { empty: 'No tables.' }));
}

async function table(root, dbName, name, { ui, aws }) {
  const { h } = ui;
  const t = (await aws.json('glue', 'GetTable', { DatabaseName: dbName, Name: name })).Table || {};
  const sd = t.StorageDescriptor || {};
  const params = t.Parameters || {};
  const cols = [{ title: 'Column', value: (c) => h('code', {}, c.Name) }, { title: 'Type', value: (c) => h('code', {}, c.Type || '') },
    { title: 'Comment', value: (c) => c.Comment || '' }];
  ui.fill(root, h('h1', {}, h('a', { href: '#/glue' }, 'Data Catalog'), ' / ', h('a', { href: '#/glue/' + u.enc(dbName) }, dbName), ' / ', name),
    h('div', { class: 'panel' }, ui.kv([
      ['Type', tableType(t)], ['Version', t.VersionId || '—'], ['Location', s3Link(h, sd.Location)],
      params.metadata_location ? ['Iceberg metadata', s3Link(h, params.metadata_location)] : null,
      sd.InputFormat ? ['Input format', h('code', {}, sd.InputFormat)] : null,
      sd.OutputFormat ? ['Output format', h('code', {}, sd.OutputFormat)] : null,
      sd.SerdeInfo?.SerializationLibrary ? ['SerDe', h('code', {}, sd.SerdeInfo.SerializationLibrary)] : null,
      ['Created', ui.fmt.time(t.CreateTime)], ['Updated', ui.fmt.time(t.UpdateTime)],
      t.Description ? ['Description', t.Description] : null,
    ])),
    h('h2', {}, 'Columns'), h('div', { id: 'glue-columns' }, ui.table(cols, sd.Columns || [], { empty: 'No columns.' })),
    h('h2', {}, 'Partition keys'), ui.table(cols, t.PartitionKeys || [], { empty: 'Not partitioned.' }),
    Object.keys(params).length ? [h('h2', {}, 'Parameters'), ui.table([{ title: 'Key', value: (p) => h('code', {}, p[0]) }, { title: 'Value', value: (p) => p[1] }], Object.entries(params))] : null,
    h('details', {}, h('summary', {}, 'Full table (JSON)'), h('pre', {}, JSON.stringify(t, null, 2))));
}
