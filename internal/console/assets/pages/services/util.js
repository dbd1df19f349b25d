// Helpers shared by the service pages (Firehose, S3, Functions, Analytics,
// Video): ARNs, S3 locations, XML answers, base64 text, downloads, and the
// few REST calls more than one page makes.

import { fromBase64, toBase64 } from '../../lib/decode.js';

export const enc = encodeURIComponent;

/** spaced gives an element a top margin (through CSSOM: the console's
 * Content-Security-Policy allows no style attribute). */
export function spaced(el, margin = '.75rem') {
  el.style.marginTop = margin;
  return el;
}

/** svg builds an SVG element: attributes, then styles (theme colours set
 * through CSSOM, var(--accent)...: the CSP allows no style attribute). */
export function svg(tag, attrs = {}, style = {}, ...kids) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  Object.assign(el.style, style);
  el.append(...kids);
  return el;
}

/** arnName is the resource name at the end of an ARN (after the last / or :). */
export function arnName(arn) {
  if (!arn) return '';
  const i = Math.max(arn.lastIndexOf('/'), arn.lastIndexOf(':'));
  return arn.slice(i + 1);
}

/** arnService is the service part of an ARN (arn:aws:<service>:...). */
export const arnService = (arn) => (arn || '').split(':')[2] || '';

/** bucketOf is the bucket name of an S3 bucket ARN (arn:aws:s3:::name). */
export const bucketOf = (arn) => (arn || '').replace(/^arn:[^:]*:s3:::/, '');

/** staticPrefix is the part of a Firehose prefix before its first
 * expression (!{timestamp:...}, !{partitionKeyFromQuery:...}): where the
 * objects it names start. */
export const staticPrefix = (p) => (p || '').split('!{')[0];

/** s3Href links to a bucket and prefix in the S3 browser. */
export function s3Href(bucket, prefix = '') {
  return '#/s3/' + enc(bucket) + (prefix ? '/p/' + enc(prefix) : '');
}

/** s3ObjectHref links to one object in the S3 browser. */
export const s3ObjectHref = (bucket, key) => '#/s3/' + enc(bucket) + '/o/' + enc(key);

/** streamHref links a Kinesis stream ARN to its Data Streams page. */
export const streamHref = (arn) => '#/streams/' + enc(arnName(arn));

/** b64 encodes text as UTF-8 in base64 (as the JSON APIs carry blobs). */
export const b64 = (text) => toBase64(new TextEncoder().encode(text));

/** unb64 decodes base64 into bytes. */
export const unb64 = fromBase64;

/** xml parses an XML answer (S3's). */
export async function xml(resp) {
  const doc = new DOMParser().parseFromString(await resp.text(), 'application/xml');
  if (doc.querySelector('parsererror')) throw new Error('the answer is not XML');
  return doc;
}

/** kids returns the direct children of el named tag. */
export const kids = (el, tag) => [...el.children].filter((c) => c.localName === tag);

/** text is the text of el's first child named tag ('' when none). */
export const text = (el, tag) => kids(el, tag)[0]?.textContent ?? '';

/** download saves a Blob under a file name. */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/** pretty shows text as indented JSON when it is JSON, each line of JSON
 * lines likewise, else as it is. */
export function pretty(s) {
  try { return JSON.stringify(JSON.parse(s), null, 2); } catch { /* not one JSON value */ }
  const lines = s.split('\n').filter((l) => l.trim() !== '');
  if (lines.length > 1 && lines.length < 2000) {
    try { return lines.map((l) => JSON.stringify(JSON.parse(l), null, 2)).join('\n'); } catch { /* not JSON lines */ }
  }
  return s;
}

/** listObjects lists a bucket's keys and common prefixes under prefix
 * (ListObjectsV2). */
export async function listObjects(aws, bucket, { prefix = '', delimiter = '/', token = '', max = 200 } = {}) {
  let q = 'list-type=2&max-keys=' + max + '&prefix=' + enc(prefix);
  if (delimiter) q += '&delimiter=' + enc(delimiter);
  if (token) q += '&continuation-token=' + enc(token);
  const doc = await xml(await aws.send('s3', { method: 'GET', path: '/' + enc(bucket) + '?' + q }));
  const root = doc.documentElement;
  return {
    prefixes: kids(root, 'CommonPrefixes').map((p) => text(p, 'Prefix')),
    objects: kids(root, 'Contents').map((c) => ({ key: text(c, 'Key'), size: Number(text(c, 'Size')), modified: text(c, 'LastModified'), etag: text(c, 'ETag') })),
    next: text(root, 'IsTruncated') === 'true' ? text(root, 'NextContinuationToken') : '',
  };
}

/** lambdaPath is a Lambda REST path under /2015-03-31/. */
export const lambdaPath = (rest) => '/2015-03-31/' + rest;

/** mappings lists Lambda event source mappings (of a function, or all). */
export async function mappings(aws, functionName) {
  const out = [];
  let marker = '';
  do {
    let q = '?MaxItems=100';
    if (functionName) q += '&FunctionName=' + enc(functionName);
    if (marker) q += '&Marker=' + enc(marker);
    const page = await aws.rest('lambda', 'GET', lambdaPath('event-source-mappings/' + q));
    out.push(...(page.EventSourceMappings || []));
    marker = page.NextMarker || '';
  } while (marker && out.length < 1000);
  return out;
}
