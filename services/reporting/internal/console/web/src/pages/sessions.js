// Sessions: how long products stayed open and how much of it was idle, who
// has what open right now, the peak of concurrent users per product and
// day, use per device, and the charges of windows open only briefly (a
// day's tokens for a few minutes), a page at a time.
import { call } from '../api.js';
import { h, tokens, percent, table, card, dateTime } from '../format.js';

// Page tokens of the brief charges shown so far, as on the Denials page.
let tokensOf = { query: '', stack: [''] };
// The days of peaks shown, newest first.
const peakDays = 31;

// duration is seconds as "3 h 05 min", "12 min" or "40 s".
export function duration(v) {
  const s = Number(v ?? 0);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

export async function render(el, ctx) {
  const req = { team_ids: ctx.teamIds, range: ctx.range, page_size: 50 };
  const query = JSON.stringify(req);
  if (tokensOf.query !== query) tokensOf = { query, stack: [''] };
  const page = tokensOf.stack.length;
  const r = await call('ReportingService', 'GetSessions', { ...req, page_token: tokensOf.stack[page - 1] });
  const rerender = () => { el.replaceChildren(); render(el, ctx); };
  const highest = Math.max(0, ...(r.by_product || []).map((p) => Number(p.peak_users ?? 0)));
  el.append(h('div', { class: 'cards' },
    card('Sessions in range', tokens(r.sessions), { testid: 'sessions-total' }),
    card('Open now', tokens(r.open_now_total), { testid: 'sessions-open-now' }),
    card('Most users at once', tokens(highest), { testid: 'sessions-peak', note: 'on one product' }),
    card(`Charged, open under ${r.brief_minutes} min`, tokens(r.brief_charges), {
      testid: 'sessions-brief', tone: Number(r.brief_charges ?? 0) ? 'warn' : '',
      note: `${tokens(r.brief_tokens)} of ${tokens(r.charged_tokens)} tokens`,
    })));
  el.append(h('p', { class: 'range-note' }, `From ${r.from_date} to ${r.to_date}. Open time is active plus idle time, `
    + 'from the launchers\' heartbeats; a launcher silent for longer than the gap limit counts no further. '
    + 'Brief: a charged window whose sessions were open less than the threshold in all.'));
  el.append(table([
    { label: 'User', value: (s) => s.user_id },
    { label: 'Product', value: (s) => s.product_code },
    { label: 'Device', value: (s) => s.device_id || '—' },
    { label: 'Team', value: (s) => s.team_id },
    { label: 'Since', value: (s) => dateTime(s.started_at) },
    { label: 'Last seen', value: (s) => dateTime(s.last_seen_at) },
    { label: 'Idle', num: true, value: (s) => duration(s.idle_seconds) },
  ], r.open_now || [], { testid: 'sessions-open-table', caption: 'Open now: who is using what' }));
  el.append(table([
    { label: 'Product', value: (p) => p.product_code },
    { label: 'Sessions', num: true, value: (p) => tokens(p.sessions) },
    { label: 'Users', num: true, value: (p) => tokens(p.users) },
    { label: 'Open', num: true, value: (p) => duration(p.open_seconds) },
    { label: 'Idle', num: true, value: (p) => percent(p.idle_percent) },
    { label: 'Average session', num: true, value: (p) => duration(p.average_session_seconds) },
    { label: 'Peak users', num: true, value: (p) => tokens(p.peak_users) },
    { label: 'Brief charges', num: true, value: (p) => `${tokens(p.brief_charges)} (${tokens(p.brief_tokens)} tokens)` },
  ], r.by_product || [], { testid: 'sessions-products', caption: 'How long each product stayed open, and how much of it idle' }));
  el.append(peaksTable(r.peaks || []));
  el.append(table([
    { label: 'Device', value: (d) => d.device_id || '—' },
    { label: 'Sessions', num: true, value: (d) => tokens(d.sessions) },
    { label: 'Users', num: true, value: (d) => tokens(d.users) },
    { label: 'Products', value: (d) => (d.product_codes || []).join(', ') },
    { label: 'Open', num: true, value: (d) => duration(d.open_seconds) },
    { label: 'Idle', num: true, value: (d) => duration(d.idle_seconds) },
    { label: 'Last seen', value: (d) => dateTime(d.last_seen_at) },
  ], r.by_device || [], { testid: 'sessions-devices', caption: `Use by device (${tokens((r.by_device || []).length)} of ${tokens(r.total_devices)})` }));
  briefList(el, r, page, rerender);
}

// peaksTable is a day per row, newest first, a product per column.
function peaksTable(peaks) {
  const products = [...new Set(peaks.map((p) => p.product_code))].sort();
  const byDay = new Map();
  for (const p of peaks) {
    if (!byDay.has(p.day)) byDay.set(p.day, {});
    byDay.get(p.day)[p.product_code] = p.peak_users;
  }
  const days = [...byDay.keys()].sort().reverse().slice(0, peakDays);
  return table([
    { label: 'Day', value: (d) => d },
    ...products.map((code) => ({ label: code, num: true, value: (d) => (byDay.get(d)[code] ? tokens(byDay.get(d)[code]) : '') })),
  ], days, { testid: 'sessions-peaks', caption: `Peak concurrent users per product, the last ${peakDays} days with use` });
}

function briefList(el, r, page, rerender) {
  el.append(table([
    { label: 'Charged', value: (b) => dateTime(b.charged_at) },
    { label: 'User', value: (b) => b.user_id },
    { label: 'Product', value: (b) => b.product_code },
    { label: 'Team', value: (b) => b.team_id },
    { label: 'Tokens', num: true, value: (b) => tokens(b.tokens) },
    { label: 'Sessions', num: true, value: (b) => tokens(b.sessions) },
    { label: 'Open', num: true, value: (b) => duration(b.open_seconds) },
  ], r.brief || [], { testid: 'sessions-brief-table', caption: 'A day\'s tokens for a brief use, newest first' }));
  if (page > 1 || r.next_page_token) {
    el.append(h('div', { class: 'pager', role: 'navigation', 'aria-label': 'Pages of brief charges' },
      h('button', { type: 'button', disabled: page === 1, onclick: () => { tokensOf.stack.pop(); rerender(); } }, '← Previous'),
      h('span', { 'data-testid': 'sessions-page' }, ` Page ${page} `),
      h('button', { type: 'button', disabled: !r.next_page_token, onclick: () => { tokensOf.stack.push(r.next_page_token); rerender(); } }, 'Next →')));
  }
}
