// The shell: reads the session (principal, CSRF token, pages), draws the
// navigation, routes #/<page>/<rest...> to the page's module (loaded on
// first use) and owns the theme toggle and sign-out.
import * as api from './lib/api.js';
import * as ui from './lib/ui.js';
import * as chart from './lib/chart.js';
import { toggleTheme } from './theme.js';

const { h, fill } = ui;
const main = document.getElementById('main');
const nav = document.getElementById('nav');
let sess, leave = null, seq = 0;

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  return { id: parts[0] || sess.pages[0]?.id, rest: parts.slice(1).filter((p) => p !== '') };
}

function drawNav(current) {
  const groups = new Map();
  for (const p of sess.pages) {
    if (!groups.has(p.group)) groups.set(p.group, []);
    groups.get(p.group).push(p);
  }
  fill(nav, [...groups].map(([g, ps]) => [g ? h('h2', {}, g) : null,
    ps.map((p) => h('a', { href: '#/' + p.id, 'aria-current': p.id === current ? 'page' : false, onclick: () => nav.classList.remove('open') }, p.title))]));
}

async function show() {
  const my = ++seq;
  if (leave) { try { leave(); } catch {} leave = null; }
  const r = route();
  drawNav(r.id);
  const page = sess.pages.find((p) => p.id === r.id);
  if (!page) { fill(main, h('h1', {}, 'Not found'), h('p', {}, 'No page ' + r.id + '.')); return; }
  document.title = page.title + ' · Rheos console';
  fill(main, h('p', { class: 'muted' }, 'Loading…'));
  try {
    const mod = await import('./' + page.module);
    if (my !== seq) return;
    fill(main);
    const ctx = { aws: api, info: api.info, metrics: api.metrics, ui, chart, session: sess, page, go: (hash) => { location.hash = hash; } };
    const done = await mod.render(main, r.rest, ctx);
    if (my !== seq) { if (typeof done === 'function') done(); return; }
    leave = typeof done === 'function' ? done : null;
  } catch (e) {
    if (my === seq) fill(main, h('h1', {}, page.title), h('p', { class: 'error', role: 'alert' }, e.message || String(e)));
  }
}

async function start() {
  sess = await api.session();
  document.getElementById('version').textContent = sess.version || '';
  const who = sess.noLogin ? 'no login (loopback)' : sess.principal.name;
  document.getElementById('who').textContent = who;
  const out = document.getElementById('logout');
  out.hidden = sess.noLogin;
  out.addEventListener('click', async () => { await api.logout(); location.href = '/console/login'; });
  document.getElementById('theme').addEventListener('click', toggleTheme);
  const tog = document.getElementById('nav-toggle');
  tog.addEventListener('click', () => tog.setAttribute('aria-expanded', String(nav.classList.toggle('open'))));
  window.addEventListener('hashchange', () => { show(); main.focus({ preventScroll: true }); });
  await show();
  document.documentElement.dataset.ready = '1';
}

start().catch((e) => fill(main, h('p', { class: 'error', role: 'alert' }, 'The console could not start: ' + (e.message || e))));
