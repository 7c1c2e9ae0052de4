// Money: what the tokens charged in the range cost, at the prices of the
// packs they came from, per team, product, user or attribute value; each
// currency apart, never added together.
import { call } from '../api.js';
import { h, tokens, table, card } from '../format.js';

const groupings = [['SPEND_GROUPING_TEAM', 'Team'], ['SPEND_GROUPING_PRODUCT', 'Product'], ['SPEND_GROUPING_USER', 'User'],
  ['SPEND_GROUPING_ATTRIBUTE', 'Project']];
let groupBy = 'SPEND_GROUPING_TEAM';

// amount shows millionths of a currency unit; tokens of packs without a
// price have no currency and no amount.
export function amount(micros, currency) {
  if (!currency) return 'no price';
  const value = Number(micros ?? 0) / 1e6;
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency, maximumFractionDigits: 2 }).format(value);
  } catch {
    return `${value.toFixed(2)} ${currency}`; // a code Intl does not know
  }
}

// perCurrency is one line per currency: amounts of two currencies are never added.
const perCurrency = (ms) => ((ms || []).length
  ? ms.map((m) => h('div', {}, `${amount(m.amount_micros, m.currency)} `, h('span', { class: 'of' }, `${tokens(m.tokens)} tokens`)))
  : '—');

export async function render(el, ctx) {
  const req = { team_ids: ctx.teamIds, range: ctx.range, group_by: groupBy };
  if (groupBy === 'SPEND_GROUPING_ATTRIBUTE') req.attribute_key = 'project';
  const r = await spend(req);
  const rerender = () => { el.replaceChildren(); render(el, ctx); };
  el.append(h('div', { class: 'cards' },
    card('Spent in range', perCurrency(r.total_spent), { testid: 'spend-total', tone: 'money' }),
    card('Expired unused in range', perCurrency(r.expired_unused), { testid: 'spend-expired', tone: (r.expired_unused || []).length ? 'money warn' : 'money' }),
    card('Left in the packs now', perCurrency(r.remaining), { testid: 'spend-remaining', tone: 'money' })));
  el.append(h('p', { class: 'range-note' },
    `From ${r.from_date} to ${r.to_date}, each charge at the unit prices of the packs its tokens came from. Currencies are shown apart, never added.`));
  el.append(h('div', { class: 'toolbar' },
    h('label', { for: 'spend-group' }, 'Spend by ',
      h('select', { id: 'spend-group', onchange: (e) => { groupBy = e.target.value; rerender(); } },
        groupings.map(([v, t]) => h('option', { value: v, selected: v === groupBy }, t))))));
  const label = groupings.find(([v]) => v === groupBy)?.[1] || 'Group';
  el.append(table([
    { label, value: (row) => row.key || (groupBy === 'SPEND_GROUPING_ATTRIBUTE' ? '(no project)' : '—') },
    { label: 'Currency', value: (row) => row.currency || '—' },
    { label: 'Amount', num: true, value: (row) => amount(row.amount_micros, row.currency) },
    { label: 'Tokens', num: true, value: (row) => tokens(row.tokens) },
    { label: 'Charges', num: true, value: (row) => tokens(row.charges) },
  ], r.rows || [], { testid: 'spend-table' }));
}

// spend is GetSpend with every page of its rows (the totals are on each page).
async function spend(req) {
  const r = await call('ReportingService', 'GetSpend', { ...req, page_size: 1000 });
  for (let token = r.next_page_token; token;) {
    const next = await call('ReportingService', 'GetSpend', { ...req, page_size: 1000, page_token: token });
    r.rows = [...(r.rows || []), ...(next.rows || [])];
    token = next.next_page_token;
  }
  return r;
}
