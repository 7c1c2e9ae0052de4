// Numbers arrive as JSON strings for 64-bit fields; everything shown goes
// through here so the console formats one way.

const nf = new Intl.NumberFormat('en-US');

export const n = (v) => Number(v ?? 0);
export const tokens = (v) => nf.format(n(v));
export const percent = (v, digits = 0) => `${n(v).toFixed(digits)} %`;
export const money = (v, currency = 'USD') =>
  new Intl.NumberFormat('en-US', { style: 'currency', currency: currency || 'USD', maximumFractionDigits: 0 }).format(n(v));

// zone is the organisation's time zone (WhoAmI): report days are its dates,
// and every date and time the console shows is in it.
export const zone = { name: 'UTC' };
export function setZone(name) {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: name });
    zone.name = name;
  } catch {
    zone.name = 'UTC'; // a zone this browser does not know: show UTC rather than guess
  }
}
const ymd = (t) => new Intl.DateTimeFormat('en-CA', { timeZone: zone.name, year: 'numeric', month: '2-digit', day: '2-digit' }).format(t);
// day is a timestamp's date in the zone; a report's date (YYYY-MM-DD) is one already.
export const day = (iso) => {
  if (!iso) return '—';
  return /^\d{4}-\d{2}-\d{2}$/.test(iso) ? iso : ymd(new Date(iso));
};
export const dateTime = (iso) => (iso ? new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: zone.name }) : '—');
// today is the zone's date now (YYYY-MM-DD).
export const today = () => ymd(new Date());
// startOfDay is the instant (ISO) a date (YYYY-MM-DD) begins in the zone.
export function startOfDay(date) {
  const guess = Date.parse(`${date}T00:00:00Z`);
  const offset = (t) => {
    const p = Object.fromEntries(new Intl.DateTimeFormat('en-US', { timeZone: zone.name, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
      .formatToParts(t).map(({ type, value }) => [type, Number(value)]));
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - t;
  };
  let t = guess - offset(guess);
  t = guess - offset(t); // once more: the offset may differ across a DST change
  return new Date(t).toISOString();
}
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
