// Token usage summary: the vendor's Token Usage page, for the chosen teams.
import { call } from '../api.js';
import { h, card, tokens, table, day, today } from '../format.js';
import { chart, colors } from '../charts.js';

export async function render(el, ctx) {
  const s = await call('ReportingService', 'GetUsageSummary', { team_ids: ctx.teamIds, range: ctx.range });
  el.append(h('p', { class: 'range-note' }, `${ctx.team || 'All teams'} · ${ctx.rangeLabel}: ${s.from_date} to ${s.to_date}`));
  el.append(h('div', { class: 'cards' },
    card('Tokens used', tokens(s.tokens_used), { testid: 'tokens-used', note: ctx.rangeLabel }),
    card('Tokens remaining', s.tokens_remaining_known ? tokens(s.tokens_remaining) : 'unknown',
      { testid: 'tokens-remaining', note: s.tokens_remaining_known ? 'live packs, now' : 'the ledger did not answer' }),
    card('Added in the last 7 days', tokens(s.tokens_added_last_7_days), { testid: 'tokens-added' }),
    card('Removed in the last 7 days', tokens(s.tokens_removed_last_7_days), { testid: 'tokens-removed' })));

  const days = last365(s.used_by_day || []);
  const total = days.reduce((sum, d) => sum + Number(d.tokens), 0);
  const peak = days.reduce((m, d) => (Number(d.tokens) > Number(m?.tokens ?? -1) ? d : m), null);
  chart(el, {
    label: 'Tokens used per day, last 365 days',
    summary: `${tokens(total)} tokens over the last 365 days, on ${days.filter((d) => Number(d.tokens) > 0).length} days with use${peak ? `; the busiest day was ${peak.day} with ${tokens(peak.tokens)}` : ''}.`,
    config: {
      type: 'bar',
      data: { labels: days.map((d) => d.day), datasets: [{ label: 'Tokens', data: days.map((d) => Number(d.tokens)), backgroundColor: colors.primary }] },
      options: { plugins: { legend: { display: false } }, scales: { x: { ticks: { maxTicksLimit: 12 } } } },
    },
    columns: [{ label: 'Day', value: (d) => d.day }, { label: 'Tokens', num: true, value: (d) => tokens(d.tokens) }],
    rows: days.filter((d) => Number(d.tokens) > 0),
  });

  const byProduct = s.by_product || [];
  el.append(h('h2', {}, `Usage by product · ${ctx.rangeLabel}`));
  el.append(table([
    { label: 'Product', value: (p) => h('a', { href: `#/products/${encodeURIComponent(p.product_code)}` }, p.product_code) },
    { label: 'Group', value: (p) => p.product_group || '—' },
    { label: 'Tokens', num: true, value: (p) => tokens(p.tokens) },
    { label: 'Users', num: true, value: (p) => tokens(p.users) },
    { label: 'Average per month', num: true, value: (p) => tokens(Math.round(p.average_tokens_per_month)) },
  ], byProduct, { testid: 'summary-products' }));

  if ((s.budgets || []).length) {
    el.append(h('h2', {}, 'Budgets this period'));
    el.append(table([
      { label: 'Team', value: (b) => b.team_id },
      { label: 'Budget', value: (b) => budgetName(b.budget) },
      { label: 'Since', value: (b) => day(b.period_start) },
      { label: 'Spent', num: true, value: (b) => tokens(b.spent) },
      { label: 'Of limit', num: true, value: (b) => `${Number(b.percent).toFixed(0)} %` },
    ], s.budgets));
  }
}

function budgetName(b) {
  const scope = (b.scope || '').replace('BUDGET_SCOPE_', '').toLowerCase();
  const period = (b.period || '').replace('BUDGET_PERIOD_', '').toLowerCase();
  const who = b.attribute_key ? `${b.attribute_key}=${b.key}` : b.key;
  return `${scope} ${who} · ${tokens(b.limit_tokens)} a ${period}${b.hard ? ' (hard)' : ''}`;
}

// last365 fills the days without usage, so the chart's axis is a true year
// ending today (in the organisation's zone) and idle stretches show as gaps.
function last365(used) {
  const byDay = new Map(used.map((d) => [d.day, d]));
  const out = [];
  const end = Date.parse(`${today()}T00:00:00Z`);
  for (let i = 364; i >= 0; i--) {
    const key = new Date(end - i * 86_400_000).toISOString().slice(0, 10);
    out.push(byDay.get(key) || { day: key, tokens: '0' });
  }
  return out;
}
