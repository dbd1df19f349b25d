// The console's one way to the server: AWS API requests, sent through the
// console backend (POST /console/api/aws/{service}), which signs them as
// the signed-in principal and serves them through the server's own router.
// Plus the thin read-only endpoints (info, metrics) and the session.

let csrf = '';

/** An AWS error answer: status, the exception's short name, its message. */
export class AWSError extends Error {
  constructor(status, type, message) {
    super(type ? `${type}: ${message}` : message);
    this.status = status; this.type = type; this.awsMessage = message;
  }
}

// The X-Amz-Target prefixes of the JSON-RPC services, by signing name.
export const targets = {
  kinesis: 'Kinesis_20131202',
  firehose: 'Firehose_20150804',
  kinesisanalytics: 'KinesisAnalytics_20180523',
  glue: 'AWSGlue',
  kms: 'TrentService',
};

function shortType(t) {
  if (!t) return '';
  t = t.split(':')[0];
  return t.includes('#') ? t.split('#').pop() : t;
}

async function check(resp) {
  if (resp.status === 401 && resp.headers.get('Content-Type')?.includes('json')) {
    const b = await resp.clone().json().catch(() => ({}));
    // Only the console's own login: a 401 body passed through from an API
    // must not choose where the page goes.
    if (b.login === '/console/login') { location.href = b.login; throw new AWSError(401, 'NotSignedIn', 'not signed in'); }
  }
  return resp;
}

async function fail(resp) {
  let body = {};
  const text = await resp.text();
  try { body = JSON.parse(text); } catch { body = { message: text.replace(/<[^>]+>/g, ' ').trim() }; }
  const type = shortType(resp.headers.get('X-Amzn-Errortype') || body.__type || body.code || body.Code);
  throw new AWSError(resp.status, type, body.message || body.Message || body.error || resp.statusText);
}

/** send posts one AWS request: service is the signing name; headers are
 * the request's own (Range, X-Amz-Log-Type...: those the backend passes on). */
export async function send(service, { method = 'POST', path = '/', target, contentType, body, headers: extra = {} } = {}) {
  const headers = { ...extra, 'X-CSRF-Token': csrf, 'X-Rheos-Method': method, 'X-Rheos-Path': path };
  if (target) headers['X-Amz-Target'] = target;
  if (contentType) headers['Content-Type'] = contentType;
  const resp = await check(await fetch(`/console/api/aws/${service}`, { method: 'POST', headers, body, credentials: 'same-origin' }));
  if (!resp.ok) await fail(resp);
  return resp;
}

/** json calls operation op of a JSON-RPC service (Kinesis, Firehose...). */
export async function json(service, op, input = {}) {
  const resp = await send(service, {
    target: `${targets[service]}.${op}`, contentType: 'application/x-amz-json-1.1', body: JSON.stringify(input),
  });
  const text = await resp.text();
  return text ? JSON.parse(text) : {};
}

/** rest calls a REST service (Lambda, S3, Video): path includes the query. */
export async function rest(service, method, path, input) {
  const opts = { method, path };
  if (input !== undefined) {
    opts.body = typeof input === 'string' || input instanceof Blob || input instanceof ArrayBuffer ? input : JSON.stringify(input);
    opts.contentType = 'application/json';
  }
  const resp = await send(service, opts);
  const ct = resp.headers.get('Content-Type') || '';
  if (ct.includes('json')) { const t = await resp.text(); return t ? JSON.parse(t) : {}; }
  return resp;
}

async function getJSON(url) {
  const resp = await check(await fetch(url, { credentials: 'same-origin' }));
  if (!resp.ok) await fail(resp);
  return resp.json();
}

/** info reads a thin read-only endpoint (health, version, config, disk). */
export const info = (name) => getJSON(`/console/api/info/${encodeURIComponent(name)}`);

/** metrics reads the sampled metric history of series starting with a prefix. */
export const metrics = (...prefixes) =>
  getJSON('/console/api/metrics?' + prefixes.map((p) => 'match=' + encodeURIComponent(p)).join('&'));

/** session returns who is signed in, the pages and the CSRF token (kept here). */
export async function session() {
  const s = await getJSON('/console/api/session');
  csrf = s.csrf;
  return s;
}

/** logout ends the session. */
export async function logout() {
  const resp = await fetch('/console/logout', { method: 'POST', headers: { 'X-CSRF-Token': csrf } });
  return resp.ok ? resp.json() : {};
}
