// By user: who spends the tokens, with the days two products were opened
// (each a separate charge) marked. Long lists are read a page at a time.
import { call } from '../api.js';
import { h, tokens, table, dateTime, daysAgo } from '../format.js';

const sorts = [['SORT_BY_TOKENS', 'Tokens'], ['SORT_BY_DAYS_USED', 'Days used'], ['SORT_BY_LAST_USED', 'Last use'], ['SORT_BY_NAME', 'Name']];
let sortBy = 'SORT_BY_TOKENS';
let limit = 50;
// The page tokens of the pages shown so far ('' is the first): Previous
// goes back one, Next follows the answer's next_page_token. They belong to
// one query, and start over when it changes.
let tokensOf = { query: '', stack: [''] };

export async function render(el, ctx) {
  // Names sort A to Z and the rest highest first by default, so no sort asks for ascending.
  const req = { team_ids: ctx.teamIds, range: ctx.range, sort_by: sortBy, limit };
  const query = JSON.stringify(req);
  if (tokensOf.query !== query) tokensOf = { query, stack: [''] };
  const page = tokensOf.stack.length;
  const r = await call('ReportingService', 'GetUsageByUser', { ...req, page_token: tokensOf.stack[page - 1] });
  const users = r.users || [];
  const doubled = users.filter((u) => Number(u.double_charge_days) > 0).length;
  const rerender = () => { el.replaceChildren(); render(el, ctx); };
  el.append(h('div', { class: 'toolbar' },
    h('label', { for: 'user-sort' }, 'Sort by ',
      h('select', { id: 'user-sort', onchange: (e) => { sortBy = e.target.value; rerender(); } },
        sorts.map(([v, t]) => h('option', { value: v, selected: v === sortBy }, t)))),
    h('label', { for: 'user-limit' }, ' Show ',
      h('select', { id: 'user-limit', onchange: (e) => { limit = Number(e.target.value); rerender(); } },
        [[5, '5 per page'], [10, '10 per page'], [50, '50 per page'], [0, 'all']].map(([v, t]) => h('option', { value: v, selected: v === limit }, t))))));
  el.append(h('p', { class: 'range-note' },
    `${tokens(r.total_users)} users spent ${tokens(r.total_tokens)} tokens from ${r.from_date} to ${r.to_date}. `,
    doubled ? h('span', { class: 'double' }, `${doubled} opened two products on one day (marked ⚠): each opening was charged.`) : ''));
  el.append(table([
    { label: 'User', value: (u) => u.user_id },
    { label: 'Products', value: (u) => (u.product_codes || []).join(', ') },
    { label: 'Tokens', num: true, value: (u) => tokens(u.tokens) },
    { label: 'Days used', num: true, value: (u) => tokens(u.days_used) },
    { label: 'Last used', value: (u) => h('span', { title: dateTime(u.last_used_at) }, daysAgo(u.days_since_last_use)) },
    { label: 'Days without use in range', num: true, value: (u) => tokens(u.days_inactive) },
    {
      label: 'Two products on a day', value: (u) => (Number(u.double_charge_days) > 0
        ? h('details', { class: 'double' }, h('summary', { 'aria-label': `${u.double_charge_days} days with two products or more` }, `⚠ ${u.double_charge_days} days`),
          h('ul', {}, (u.same_day || []).map((d) => h('li', {}, `${d.day}: ${(d.product_codes || []).join(' + ')} (${tokens(d.tokens)} tokens)`))))
        : '—'),
    },
  ], users, { testid: 'users-table', rowClass: (u) => (Number(u.double_charge_days) > 0 ? 'double-row' : '') }));
  if (page > 1 || r.next_page_token) {
    el.append(h('div', { class: 'pager', role: 'navigation', 'aria-label': 'Pages of users' },
      h('button', { type: 'button', disabled: page === 1, onclick: () => { tokensOf.stack.pop(); rerender(); } }, '← Previous'),
      h('span', { 'data-testid': 'users-page' }, ` Page ${page} `),
      h('button', { type: 'button', disabled: !r.next_page_token, onclick: () => { tokensOf.stack.push(r.next_page_token); rerender(); } }, 'Next →')));
  }
}
