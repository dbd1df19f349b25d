// Small DOM helpers shared by the pages: elements, tables, forms, tabs,
// dialogs, toasts and formatting. No framework: pages build DOM directly.

/** h builds an element: h('button', {class: 'primary', onclick}, 'Text'). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/** clear empties el and appends children. */
export function fill(el, ...children) { el.replaceChildren(); append(el, children); return el; }

let uid = 0;
/** field is a labelled control: field('Stream name', h('input', {...})). */
export function field(label, control, hint) {
  const id = control.id || (control.id = 'f' + (++uid));
  const isCheck = control.type === 'checkbox';
  return h('div', { class: isCheck ? 'field check' : 'field' },
    isCheck ? [control, h('label', { for: id }, label)] : [h('label', { for: id }, label), control],
    hint ? h('small', { class: 'muted' }, hint) : null);
}

/** select builds a <select> of [value, label] pairs (or plain values). */
export function select(options, value, attrs = {}) {
  return h('select', attrs, options.map((o) => {
    const [v, l] = Array.isArray(o) ? o : [o, o];
    return h('option', { value: v, selected: v === value }, l);
  }));
}

/** table renders rows with columns [{title, value(row) -> node|string, num}]. */
export function table(columns, rows, { empty = 'Nothing here yet.', caption } = {}) {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  return h('div', { class: 'table-wrap' }, h('table', {},
    caption ? h('caption', { class: 'muted' }, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : '' }, c.title)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'num' : '' }, c.value(r))))))));
}

/** tabs: [{id, title, render(panel)}]; the selected one is rendered. */
export function tabs(list, selected, onSelect) {
  const bar = h('div', { class: 'tabs', role: 'tablist' });
  const panel = h('div', { role: 'tabpanel' });
  const buttons = list.map((t, i) => h('button', {
    type: 'button', role: 'tab', id: 'tab-' + t.id, 'aria-selected': String(t.id === selected), tabindex: t.id === selected ? '0' : '-1',
    onclick: () => onSelect(t.id),
    onkeydown: (e) => {
      const d = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
      if (d) { const n = list[(i + d + list.length) % list.length]; onSelect(n.id); }
    },
  }, t.title));
  bar.append(...buttons);
  panel.setAttribute('aria-labelledby', 'tab-' + selected);
  return { bar, panel };
}

/** toast shows a message for a few seconds. */
export function toast(msg, kind = 'ok') {
  const el = h('div', { class: 'toast ' + kind, role: kind === 'error' ? 'alert' : 'status' }, msg);
  document.getElementById('toasts').append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

/** confirm asks a yes/no question in a modal dialog; resolves to a boolean. */
export function confirm(title, text, yes = 'Confirm', danger = true) {
  return new Promise((resolve) => {
    const d = h('dialog', { 'aria-labelledby': 'dlg-title' },
      h('h2', { id: 'dlg-title' }, title), h('p', {}, text),
      h('div', { class: 'row' },
        h('button', { type: 'button', class: danger ? 'danger' : 'primary', id: 'dlg-yes', onclick: () => { d.close(); resolve(true); } }, yes),
        h('button', { type: 'button', onclick: () => { d.close(); resolve(false); } }, 'Cancel')));
    d.addEventListener('close', () => { d.remove(); resolve(false); });
    document.body.append(d);
    d.showModal();
  });
}

/** guard runs an async action, shows its error as a toast; returns its result. */
export async function guard(action, okMsg) {
  try {
    const r = await action();
    if (okMsg) toast(okMsg);
    return r;
  } catch (e) {
    toast(e.message || String(e), 'error');
    return undefined;
  }
}

/** badge colours a status word. */
export function badge(status) {
  const kind = { ACTIVE: 'ok', Enabled: 'ok', Active: 'ok', ok: 'ok', CREATING: 'warn', UPDATING: 'warn', DELETING: 'bad',
    Creating: 'warn', Updating: 'warn', Enabling: 'warn', Disabled: 'off', Disabling: 'warn', failed: 'bad' }[status] || 'off';
  return h('span', { class: 'badge ' + kind }, status);
}

/** kv renders a definition list of [key, value] pairs. */
export function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

export const fmt = {
  bytes(n) {
    if (n == null || isNaN(n)) return '—';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']; let i = 0;
    while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + ' ' + u[i];
  },
  rate(n, unit = '/s') { return n == null || isNaN(n) ? '—' : (n >= 100 ? n.toFixed(0) : n.toFixed(n >= 10 ? 1 : 2)) + unit; },
  time(t) {
    if (t == null) return '—';
    const d = typeof t === 'number' ? new Date(t < 1e12 ? t * 1000 : t) : new Date(t);
    return isNaN(d) ? String(t) : d.toISOString().replace('T', ' ').replace('Z', '');
  },
  ms(n) { return n == null ? '—' : n < 1000 ? n + ' ms' : n < 60000 ? (n / 1000).toFixed(1) + ' s' : (n / 60000).toFixed(1) + ' min'; },
};
