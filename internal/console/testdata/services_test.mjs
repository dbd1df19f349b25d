// Unit tests of the service pages' pure helpers (node:test), run by
// TestServicePagesJS: the SQL graph's parsing, validation positions, ARNs
// and S3 locations, base64 text, pretty-printing, metric series.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, model } from '../assets/pages/analytics/graph.js';
import { position } from '../assets/pages/analytics.js';
import * as u from '../assets/pages/services/util.js';
import * as mon from '../assets/pages/services/monitor.js';

const code = `-- a comment naming FROM "NOT_A_STREAM"
CREATE OR REPLACE STREAM "DEST" (a INT, b VARCHAR(8));
CREATE OR REPLACE STREAM "MID" (a INT);
CREATE OR REPLACE PUMP "P1" AS INSERT INTO "MID"
  SELECT STREAM EXTRACT(HOUR FROM ROWTIME) FROM "SOURCE_SQL_STREAM_001";
CREATE OR REPLACE PUMP "P2" AS INSERT INTO "DEST"
  SELECT STREAM m.a, r.b FROM "MID" AS m LEFT JOIN "REF" AS r ON m.a = r.a;
create or replace pump p3 as insert into dest
  SELECT STREAM * FROM TABLE(STAGGER(CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 'x'));
/* a block; with a semicolon */
CREATE PUMP "P4" AS INSERT INTO "DEST" SELECT STREAM 'a;b FROM "X"' FROM "MID";`;

test('parse finds streams and pumps, skipping comments and strings', () => {
  const { streams, pumps } = parse(code);
  assert.deepEqual(streams, ['DEST', 'MID']);
  assert.deepEqual(pumps.map((p) => [p.name, p.into]), [['P1', 'MID'], ['P2', 'DEST'], ['P3', 'DEST'], ['P4', 'DEST']]);
  assert.deepEqual(pumps[1].from, ['MID', 'REF']);
  assert.deepEqual(pumps[3].from, ['MID']);
});

test('model links sources, in-app streams, pumps and outputs; FROM inside functions is no stream', () => {
  const app = {
    ApplicationCode: code,
    InputDescriptions: [{ InputId: '1.1', NamePrefix: 'SOURCE_SQL_STREAM', InAppStreamNames: ['SOURCE_SQL_STREAM_001'],
      KinesisStreamsInputDescription: { ResourceARN: 'arn:aws:kinesis:us-east-1:1:stream/in' } }],
    ReferenceDataSourceDescriptions: [{ ReferenceId: '2.1', TableName: 'REF', S3ReferenceDataSourceDescription: { BucketARN: 'arn:aws:s3:::b', FileKey: 'r.csv' } }],
    OutputDescriptions: [{ OutputId: '3.1', Name: 'DEST', KinesisFirehoseOutputDescription: { ResourceARN: 'arn:aws:firehose:us-east-1:1:deliverystream/out' } }],
  };
  const { nodes, edges } = model(app);
  const e = edges.map((x) => x.join('>'));
  for (const want of ['in:1.1>s:SOURCE_SQL_STREAM_001', 'ref:2.1>s:REF', 's:SOURCE_SQL_STREAM_001>p:P1', 'p:P1>s:MID',
    's:MID>p:P2', 's:REF>p:P2', 'p:P2>s:DEST', 's:SOURCE_SQL_STREAM_001>p:P3', 's:DEST>out:3.1']) assert.ok(e.includes(want), want);
  assert.ok(!nodes.some((n) => /ROWTIME|NOT_A_STREAM|"X"/.test(n.id)), nodes.map((n) => n.id).join(' '));
  assert.equal(nodes.find((n) => n.id === 'out:3.1').label, 'firehose/out');
  assert.equal(nodes.find((n) => n.id === 'in:1.1').label, 'stream/in');
});

test('position reads line and column from both validation shapes', () => {
  assert.deepEqual(position('Encountered "SELEC" at line 2, column 1.\nWas expecting one of:'), { line: 2, column: 1 });
  assert.deepEqual(position('At line 12, column 30: unknown identifier'), { line: 12, column: 30 });
  assert.equal(position('Application code is empty.'), null);
});

test('ARNs and S3 locations', () => {
  assert.equal(u.arnName('arn:aws:kinesis:us-east-1:1:stream/orders'), 'orders');
  assert.equal(u.arnName('arn:aws:lambda:us-east-1:1:function:echo'), 'echo');
  assert.equal(u.arnService('arn:aws:firehose:us-east-1:1:deliverystream/x'), 'firehose');
  assert.equal(u.bucketOf('arn:aws:s3:::lake'), 'lake');
  assert.equal(u.staticPrefix('clicks/!{timestamp:yyyy}/'), 'clicks/');
  assert.equal(u.s3Href('lake', 'a b/'), '#/s3/lake/p/a%20b%2F');
  assert.equal(u.s3ObjectHref('lake', 'x/y=1'), '#/s3/lake/o/x%2Fy%3D1');
});

test('base64 of UTF-8 text round-trips', () => {
  const s = 'héllo ✓ {"a":1}\n';
  assert.equal(new TextDecoder().decode(u.unb64(u.b64(s))), s);
  assert.equal(u.b64('hello\n'), 'aGVsbG8K');
});

test('pretty indents JSON and JSON lines, leaves text', () => {
  assert.equal(u.pretty('{"a":1}'), '{\n  "a": 1\n}');
  assert.equal(u.pretty('{"a":1}\n{"a":2}\n'), '{\n  "a": 1\n}\n{\n  "a": 2\n}');
  assert.equal(u.pretty('plain text'), 'plain text');
});

test('metric series by labels', () => {
  const m = { t: [1, 2], series: {
    'rheos_firehose_deliveries_total{destination="S3",outcome="ok",stream="clicks"}': [1, 3],
    'rheos_firehose_deliveries_total{destination="S3",outcome="error",stream="clicks"}': [0, null],
    'rheos_firehose_deliveries_total{destination="S3",outcome="ok",stream="other"}': [5, 6],
  } };
  assert.deepEqual(mon.labelsOf('x{a="1",b="q\\"r"}'), { a: '1', b: 'q\\"r' });
  const sel = mon.select(m, 'rheos_firehose_deliveries_total', { stream: 'clicks', outcome: 'ok' });
  assert.equal(sel.length, 1);
  assert.equal(mon.latest(sel[0].values), 3);
  assert.equal(mon.latest([0, null]), 0);
  assert.equal(mon.select(null, 'x').length, 0);
});
