// Numbers arrive as JSON strings for 64-bit fields; everything shown goes
// through here so the console formats one way.

const nf = new Intl.NumberFormat('en-US');

export const n = (v) => Number(v ?? 0);
export const tokens = (v) => nf.format(n(v));
export const percent = (v, digits = 0) => `${n(v).toFixed(digits)} %`;
export const money = (v, currency = 'USD') =>
  new Intl.NumberFormat('en-US', { style: 'currency', currency: currency || 'USD', maximumFractionDigits: 0 }).format(n(v));
export const day = (iso) => (iso ? new Date(iso).toISOString().slice(0, 10) : '—');
export const dateTime = (iso) => (iso ? new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' }) : '—');
// daysAgo says a count of whole days back from today: "today", "yesterday", "3 days ago".
export const daysAgo = (v) => {
  const d = n(v);
  if (d <= 0) return 'today';
  return d === 1 ? 'yesterday' : `${nf.format(d)} days ago`;
};

// h builds an element: h('td', {class: 'num'}, '12'). Children are text
// unless they are nodes, so no data ever becomes markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// table renders rows with columns [{label, value: row => text|node, num}].
export function table(columns, rows, { caption, testid, rowClass } = {}) {
  return h('table', { 'data-testid': testid },
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : '' }, c.label)))),
    h('tbody', {}, rows.length === 0
      ? h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, 'Nothing in this range.'))
      : rows.map((r) => h('tr', { class: rowClass?.(r) }, columns.map((c) => h('td', { class: c.num ? 'num' : '' }, c.value(r)))))));
}

export function card(label, value, { testid, note, tone } = {}) {
  return h('div', { class: `card ${tone || ''}` },
    h('div', { class: 'card-label' }, label),
    h('div', { class: 'card-value', 'data-testid': testid }, value),
    note ? h('div', { class: 'card-note' }, note) : null);
}

export function notice(text, tone = 'info') {
  return h('p', { class: `notice ${tone}`, role: tone === 'error' ? 'alert' : 'status' }, text);
}
