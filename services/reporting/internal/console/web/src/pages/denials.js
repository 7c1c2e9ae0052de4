// Denials: who was refused, when, for which product and why — counted by
// day, team, user, product or reason, then each refusal, newest first, a
// page at a time.
import { call } from '../api.js';
import { h, tokens, table, dateTime } from '../format.js';

const groupings = [['DENIAL_GROUPING_DAY', 'Day'], ['DENIAL_GROUPING_TEAM', 'Team'], ['DENIAL_GROUPING_USER', 'User'],
  ['DENIAL_GROUPING_PRODUCT', 'Product'], ['DENIAL_GROUPING_REASON', 'Reason']];
let groupBy = 'DENIAL_GROUPING_REASON';
// Page tokens of the refusals shown so far, as on the By user page.
let tokensOf = { query: '', stack: [''] };

// reason is DENY_REASON_INSUFFICIENT_TOKENS as "insufficient tokens"; the
// groups by reason carry the table's name, "insufficient_tokens".
export const reason = (r) => String(r || '').replace(/^DENY_REASON_/, '').replaceAll('_', ' ').toLowerCase();

export async function render(el, ctx) {
  const req = { team_ids: ctx.teamIds, range: ctx.range, group_by: groupBy, page_size: 50 };
  const query = JSON.stringify({ ...req, group_by: '' });
  if (tokensOf.query !== query) tokensOf = { query, stack: [''] };
  const page = tokensOf.stack.length;
  const r = await call('ReportingService', 'GetDenials', { ...req, page_token: tokensOf.stack[page - 1] });
  const rerender = () => { el.replaceChildren(); render(el, ctx); };
  const byReason = (r.by_reason || []).map((c) => `${reason(c.reason)} ${tokens(c.denials)}`).join(', ');
  el.append(h('p', { class: 'range-note' },
    h('span', { 'data-testid': 'denials-total' }, tokens(r.total_denials)),
    ` launches refused from ${r.from_date} to ${r.to_date}${byReason ? `: ${byReason}` : ''}.`));
  el.append(h('div', { class: 'toolbar' },
    h('label', { for: 'denial-group' }, 'Count by ',
      h('select', { id: 'denial-group', onchange: (e) => { groupBy = e.target.value; rerender(); } },
        groupings.map(([v, t]) => h('option', { value: v, selected: v === groupBy }, t))))));
  const label = groupings.find(([v]) => v === groupBy)?.[1] || 'Group';
  el.append(table([
    { label, value: (g) => (groupBy === 'DENIAL_GROUPING_REASON' ? reason(g.key) : g.key) },
    { label: 'Refused', num: true, value: (g) => tokens(g.denials) },
    { label: 'Users', num: true, value: (g) => tokens(g.users) },
    { label: 'Tokens asked', num: true, value: (g) => tokens(g.tokens_required) },
    { label: 'Why', value: (g) => (g.by_reason || []).map((c) => `${reason(c.reason)} ${tokens(c.denials)}`).join(', ') },
  ], r.groups || [], { testid: 'denial-groups', caption: `Refusals by ${label.toLowerCase()}` }));
  el.append(table([
    { label: 'When', value: (d) => dateTime(d.at) },
    { label: 'Team', value: (d) => d.team_id },
    { label: 'User', value: (d) => d.user_id },
    { label: 'Product', value: (d) => d.product_code },
    { label: 'Why', value: (d) => reason(d.reason) + (d.renewal ? ' (renewal)' : '') },
    { label: 'Tokens asked', num: true, value: (d) => tokens(d.tokens_required) },
  ], r.denials || [], { testid: 'denials-table', caption: 'Each refusal, newest first' }));
  if (page > 1 || r.next_page_token) {
    el.append(h('div', { class: 'pager', role: 'navigation', 'aria-label': 'Pages of refusals' },
      h('button', { type: 'button', disabled: page === 1, onclick: () => { tokensOf.stack.pop(); rerender(); } }, '← Previous'),
      h('span', { 'data-testid': 'denials-page' }, ` Page ${page} `),
      h('button', { type: 'button', disabled: !r.next_page_token, onclick: () => { tokensOf.stack.push(r.next_page_token); rerender(); } }, 'Next →')));
  }
}
