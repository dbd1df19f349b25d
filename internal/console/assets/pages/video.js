// Video (Kinesis Video Streams): streams (ListStreams) and signaling
// channels with their endpoints (ListSignalingChannels,
// GetSignalingChannelEndpoint) and connected peers (no AWS API lists them:
// the server's thin "signaling" endpoint); a stream's fragment timeline
// (ListFragments), live and archived playback of its HLS session
// (GetHLSStreamingSessionURL, played by the browser's own HLS player, else
// by the vendored hls.js, loaded only here) and clip download (GetClip).
// GetDataEndpoint names the media endpoint: this server itself (the media
// APIs answer on the same port, routed by the signing name kinesisvideo),
// so the console calls them like the control plane, and the session URL's
// playlist and media are fetched from this origin. Routes: #/video,
// #/video/<stream>.
import * as u from './services/util.js';

export async function render(root, route, ctx) {
  if (route[0]) return detail(root, route[0], ctx);
  return list(root, ctx);
}

const kvs = (aws, op, input) => aws.rest('kinesisvideo', 'POST', '/' + op, input);

async function list(root, { ui, aws, info }) {
  const { h, fill } = ui;
  const streams = [];
  let out = await kvs(aws, 'listStreams', { MaxResults: 100 });
  streams.push(...(out.StreamInfoList || []));
  while (out.NextToken && streams.length < 1000) {
    out = await kvs(aws, 'listStreams', { MaxResults: 100, NextToken: out.NextToken });
    streams.push(...(out.StreamInfoList || []));
  }
  const channels = (await kvs(aws, 'listSignalingChannels', { MaxResults: 100 }).catch(() => ({}))).ChannelInfoList || [];
  // Connected peers: no AWS API lists them; the server's thin endpoint does
  // (for an account root).
  const peers = await info('signaling').catch(() => null);
  const chBox = h('div', { id: 'channel-list' });
  root.append(h('h1', {}, 'Video'),
    h('h2', {}, 'Video streams'),
    ui.table([
      { title: 'Stream', value: (s) => h('a', { href: '#/video/' + u.enc(s.StreamName), class: 'video-link' }, s.StreamName) },
      { title: 'Status', value: (s) => ui.badge(s.Status) },
      { title: 'Media type', value: (s) => s.MediaType || '—' },
      { title: 'Retention', num: true, value: (s) => (s.DataRetentionInHours ? s.DataRetentionInHours + ' h' : 'none') },
      { title: 'Created', value: (s) => ui.fmt.time(s.CreationTime) },
    ], streams, { empty: 'No video streams.' }),
    h('h2', {}, 'Signaling channels'), chBox);
  // Each channel's endpoints, as a master would ask for them.
  const eps = await Promise.all(channels.map((c) => kvs(aws, 'getSignalingChannelEndpoint', { ChannelARN: c.ChannelARN,
    SingleMasterChannelEndpointConfiguration: { Protocols: ['WSS', 'HTTPS', 'WEBRTC'], Role: 'MASTER' } })
    .then((x) => x.ResourceEndpointList || [], (e) => [{ Protocol: 'error', ResourceEndpoint: e.message }])));
  fill(chBox, ui.table([
    { title: 'Channel', value: (c) => c.ChannelName },
    { title: 'Type', value: (c) => c.ChannelType || '—' },
    { title: 'Status', value: (c) => ui.badge(c.ChannelStatus) },
    { title: 'Endpoints (master)', value: (c) => h('ul', { class: 'plain' }, eps[channels.indexOf(c)].map((e) => h('li', {}, `${e.Protocol}: `, h('code', {}, e.ResourceEndpoint)))) },
    peers ? { title: 'Connected', value: (c) => {
      const mine = peers.filter((p) => p.channelArn === c.ChannelARN);
      if (!mine.length) return h('span', { class: 'muted' }, 'nobody');
      return h('ul', { class: 'plain peers' }, mine.map((p) => h('li', {}, p.role === 'MASTER' ? 'master' : `viewer ${p.clientId}`,
        h('small', { class: 'muted' }, ` since ${ui.fmt.time(p.connectedAt)}`))));
    } } : null,
    { title: 'Created', value: (c) => ui.fmt.time(c.CreationTime) },
  ].filter(Boolean), channels, { empty: 'No signaling channels.' }),
  peers ? null : h('p', { class: 'muted' }, 'Connected peers are shown to an account root (no AWS API lists them; the server\'s signaling endpoint does).'));
}

const RANGES = [['300', 'Last 5 minutes'], ['3600', 'Last hour'], ['86400', 'Last 24 hours'], ['604800', 'Last 7 days']];

/** fragments lists a stream's fragments by server timestamp over the last span seconds, oldest first. */
async function fragments(aws, name, span) {
  const now = Date.now() / 1000;
  const sel = { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: now - span, EndTimestamp: now + 60 } };
  const out = [];
  let token = '';
  do {
    const page = await aws.rest('kinesisvideo', 'POST', '/listFragments', token ? { StreamName: name, NextToken: token, MaxResults: 1000 } : { StreamName: name, FragmentSelector: sel, MaxResults: 1000 });
    out.push(...(page.Fragments || []));
    token = page.NextToken || '';
  } while (token && out.length < 5000);
  return out.sort((a, b) => a.ServerTimestamp - b.ServerTimestamp);
}

const iso = (t) => new Date(t * 1000).toISOString();

const s = u.svg;

/** timeline draws fragments along their producer time (what they cover:
 * a recording uploaded at once has nearly one server time); onPick(fragment)
 * on a click or Enter. */
function timeline(frags, t0, t1, onPick) {
  const W = 800, H = 46, span = Math.max(1, t1 - t0);
  const x = (t) => ((t - t0) / span) * W;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'group', 'aria-label': `${frags.length} fragments` }, { height: 'auto', maxWidth: '100%' },
    s('line', { x1: 0, y1: 30, x2: W, y2: 30 }, { stroke: 'var(--border)' }),
    s('text', { x: 0, y: 44 }, { fill: 'var(--muted)', fontSize: '10px' }, new Date(t0 * 1000).toISOString().replace('T', ' ').slice(0, 19)),
    s('text', { x: W, y: 44, 'text-anchor': 'end' }, { fill: 'var(--muted)', fontSize: '10px' }, new Date(t1 * 1000).toISOString().replace('T', ' ').slice(0, 19)));
  for (const f of frags) {
    const len = (f.FragmentLengthInMilliseconds || 0) / 1000;
    const r = s('rect', { x: x(f.ProducerTimestamp), y: 6, width: Math.max(2, x(f.ProducerTimestamp + len) - x(f.ProducerTimestamp) - 1), height: 22, tabindex: '0', class: 'fragment',
      role: 'button', 'aria-label': `Start the range at fragment ${f.FragmentNumber}, ${iso(f.ProducerTimestamp)}` },
      { fill: 'var(--accent)', fillOpacity: '0.6', cursor: 'pointer' },
      s('title', {}, {}, `Fragment ${f.FragmentNumber}: ${iso(f.ProducerTimestamp)} (producer), ${iso(f.ServerTimestamp)} (server), ${f.FragmentLengthInMilliseconds} ms, ${f.FragmentSizeInBytes} bytes`));
    r.addEventListener('click', () => onPick(f));
    r.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onPick(f); } });
    svg.append(r);
  }
  return svg;
}

let hlsLoaded = null;
/** loadHls loads the vendored hls.js once (a classic script: it sets window.Hls). */
function loadHls() {
  hlsLoaded ||= new Promise((resolve, reject) => {
    const el = document.createElement('script');
    el.src = '/console/assets/vendor/hls.light.min.js';
    el.onload = () => (window.Hls ? resolve(window.Hls) : reject(new Error('hls.js did not load')));
    el.onerror = () => { hlsLoaded = null; reject(new Error('hls.js could not be loaded')); };
    document.head.append(el);
  });
  return hlsLoaded;
}

const epoch = (v) => { const t = Date.parse(v); if (isNaN(t)) throw new Error('not a time: ' + v); return t / 1000; };

async function detail(root, name, { ui, aws }) {
  const { h, fill, field, guard, select } = ui;
  const info = (await kvs(aws, 'describeStream', { StreamName: name })).StreamInfo || {};
  const ep = await kvs(aws, 'getDataEndpoint', { StreamName: name, APIName: 'GET_HLS_STREAMING_SESSION_URL' }).catch(() => ({}));
  const rangeSel = select(RANGES, '86400', { id: 'video-range' });
  const tl = h('div', { id: 'video-timeline' });
  const fragTable = h('div', { id: 'video-fragments' });
  const mode = select([['ON_DEMAND', 'Archived (the range below)'], ['LIVE', 'Live']], 'ON_DEMAND', { id: 'video-mode' });
  const container = select([['FRAGMENTED_MP4', 'fMP4'], ['MPEG_TS', 'MPEG-TS']], 'FRAGMENTED_MP4', { id: 'video-container' });
  const player = select([['auto', 'Browser HLS if it has one, else hls.js'], ['hlsjs', 'hls.js']], 'auto', { id: 'video-player-kind' });
  const from = h('input', { id: 'video-from', size: 26 });
  const to = h('input', { id: 'video-to', size: 26 });
  const video = h('video', { id: 'video-player', controls: true, muted: true, playsinline: true, width: 640, height: 360 });
  video.style.maxWidth = '100%';
  video.style.background = '#000';
  const status = h('p', { id: 'video-status', class: 'muted', 'aria-live': 'polite' });
  let hls = null, frags = [];

  async function loadFragments() {
    frags = await fragments(aws, name, Number(rangeSel.value));
    // The timeline spans the fragments found (with a margin), not the
    // whole range asked: a short recording in a day would be one pixel.
    const end = (f, ts) => f[ts] + (f.FragmentLengthInMilliseconds || 0) / 1000;
    const last = frags[frags.length - 1];
    const t0 = frags.length ? frags[0].ServerTimestamp : 0, t1 = frags.length ? end(last, 'ServerTimestamp') : 0;
    const p0 = Math.min(...frags.map((f) => f.ProducerTimestamp)), p1 = Math.max(...frags.map((f) => end(f, 'ProducerTimestamp')));
    const pad = Math.max(0.5, (p1 - p0) * 0.02);
    fill(tl, frags.length ? timeline(frags, p0 - pad, p1 + pad, (f) => {
      from.value = iso(f.ServerTimestamp);
      status.textContent = `The range starts at fragment ${f.FragmentNumber}: Play or Download clip.`;
    }) : h('p', { class: 'muted' }, 'No fragments in this range.'));
    fill(fragTable, ui.table([
      { title: 'Fragment', value: (f) => h('code', {}, f.FragmentNumber) },
      { title: 'Server time', value: (f) => ui.fmt.time(f.ServerTimestamp) },
      { title: 'Producer time', value: (f) => ui.fmt.time(f.ProducerTimestamp) },
      { title: 'Length', num: true, value: (f) => ui.fmt.ms(f.FragmentLengthInMilliseconds) },
      { title: 'Size', num: true, value: (f) => ui.fmt.bytes(f.FragmentSizeInBytes) },
    ], frags.slice(-20).reverse(), { empty: '', caption: frags.length > 20 ? `The newest 20 of ${frags.length} fragments.` : '' }));
    if (frags.length) {
      if (!from.value) from.value = iso(t0);
      if (!to.value) to.value = iso(t1);
    }
  }
  rangeSel.addEventListener('change', () => guard(loadFragments));

  function stopPlayback() {
    if (hls) { hls.destroy(); hls = null; }
    delete video.dataset.player;
    video.removeAttribute('src');
    video.load(); // a new load: the decoded frame counts start again
  }

  async function play() {
    stopPlayback();
    const input = { StreamName: name, PlaybackMode: mode.value, ContainerFormat: container.value, Expires: 3600 };
    if (mode.value === 'ON_DEMAND') {
      input.HLSFragmentSelector = { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: epoch(from.value), EndTimestamp: epoch(to.value) } };
    }
    const out = await kvs(aws, 'getHLSStreamingSessionURL', input);
    // The session URL names the data endpoint: this server. Played from
    // this origin (the console's Content-Security-Policy allows no other).
    const url = new URL(out.HLSStreamingSessionURL, location.href);
    const src = url.pathname + url.search;
    const native = player.value === 'auto' && video.canPlayType('application/vnd.apple.mpegurl');
    if (native) {
      video.src = src;
      status.textContent = 'Playing with the browser\'s own HLS player.';
    } else {
      const Hls = await loadHls();
      if (!Hls.isSupported()) throw new Error('This browser can play neither HLS nor Media Source Extensions.');
      hls = new Hls({ enableWorker: false, lowLatencyMode: false });
      hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) status.textContent = 'hls.js: ' + d.type + ' ' + d.details; });
      hls.loadSource(src);
      hls.attachMedia(video);
      status.textContent = `Playing with hls.js ${Hls.version}.`;
    }
    video.dataset.player = native ? 'native' : 'hls.js';
    await video.play().catch(() => { /* autoplay refused: the controls start it */ });
  }

  async function clip() {
    const resp = await aws.send('kinesisvideo', { method: 'POST', path: '/getClip', contentType: 'application/json', body: JSON.stringify({ StreamName: name,
      ClipFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: epoch(from.value), EndTimestamp: epoch(to.value) } } }) });
    u.download(await resp.blob(), `${name}-${from.value.replace(/[:.]/g, '-')}.mp4`);
  }

  root.append(h('h1', {}, h('a', { href: '#/video' }, 'Video'), ' / ', name),
    h('div', { class: 'panel' }, ui.kv([
      ['Status', ui.badge(info.Status)], ['ARN', h('code', {}, info.StreamARN)], ['Media type', info.MediaType || '—'],
      ['Retention', info.DataRetentionInHours ? info.DataRetentionInHours + ' h' : 'none (no archive)'], ['Created', ui.fmt.time(info.CreationTime)],
      ['Device', info.DeviceName || '—'], ['Data endpoint', h('span', {}, 'this server', ep.DataEndpoint ? h('span', { class: 'muted' }, ' (GetDataEndpoint: ', h('code', {}, ep.DataEndpoint), ')') : null)],
    ])),
    h('section', { class: 'panel', 'aria-labelledby': 'tl-title' }, h('h2', { id: 'tl-title' }, 'Fragments'),
      h('div', { class: 'row' }, field('Range', rangeSel), h('button', { type: 'button', onclick: () => guard(loadFragments) }, 'Refresh')),
      h('p', { class: 'muted' }, 'ListFragments by server timestamp, drawn along their producer time; pick a fragment to play or clip from its server time.'), tl, fragTable),
    h('section', { class: 'panel', 'aria-labelledby': 'play-title' }, h('h2', { id: 'play-title' }, 'Playback'),
      h('div', { class: 'row' }, field('Mode', mode), field('Container', container), field('Player', player)),
      h('div', { class: 'row' }, field('From (server time, ISO 8601)', from), field('To', to),
        h('button', { type: 'button', class: 'primary', id: 'video-play', onclick: () => guard(play) }, 'Play'),
        h('button', { type: 'button', id: 'video-stop', onclick: stopPlayback }, 'Stop'),
        h('button', { type: 'button', id: 'video-clip', onclick: () => guard(clip, 'Clip downloaded') }, 'Download clip (MP4)')),
      status, video));
  await loadFragments();
  return () => { stopPlayback(); };
}
