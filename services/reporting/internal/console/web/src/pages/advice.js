// Licensing advice: whom to move to a named subscription, with the yearly
// saving, and whom to unassign.
import { call } from '../api.js';
import { h, card, tokens, money, table } from '../format.js';

export async function render(el, ctx) {
  const r = await call('ReportingService', 'AdviseLicensing', { team_ids: ctx.teamIds });
  const all = r.advice || [];
  const move = all.filter((a) => a.action === 'RECOMMENDATION_MOVE_TO_SUBSCRIPTION');
  const unassign = all.filter((a) => a.action === 'RECOMMENDATION_UNASSIGN');
  const keep = all.filter((a) => a.action === 'RECOMMENDATION_KEEP_ON_TOKENS');
  el.append(h('p', { class: 'range-note' }, `Over the last 365 days, at ${money(r.token_price, r.currency)} a token.`));
  el.append(h('div', { class: 'cards' },
    card('Yearly saving', money(r.total_yearly_saving, r.currency), { testid: 'advice-saving', tone: move.length ? 'good' : '' }),
    card('Users to move to a subscription', tokens(r.users_to_move), { testid: 'advice-move' }),
    card('Users to unassign', tokens(r.users_to_unassign), { testid: 'advice-unassign' })));
  el.append(h('h2', {}, 'Move to a subscription'));
  el.append(table([
    { label: 'User', value: (a) => a.user_id },
    { label: 'Team', value: (a) => a.team_id },
    { label: 'Product', value: (a) => a.product_code },
    { label: 'Days a year', num: true, value: (a) => tokens(a.days_used_last_year) },
    { label: 'Days a month', num: true, value: (a) => Number(a.average_days_per_month).toFixed(1) },
    { label: 'Tokens a year', num: true, value: (a) => money(a.yearly_token_cost, a.currency) },
    { label: 'Subscription', num: true, value: (a) => `${money(a.yearly_subscription_cost, a.currency)} ${a.subscription_name || ''}` },
    { label: 'Saving', num: true, value: (a) => money(a.yearly_saving, a.currency) },
  ], move, { testid: 'advice-move-table' }));
  el.append(h('h2', {}, 'Unassign (idle)'));
  el.append(table([
    { label: 'User', value: (a) => a.user_id },
    { label: 'Team', value: (a) => a.team_id },
    { label: 'Product', value: (a) => a.product_code },
    { label: 'Last use', value: (a) => a.last_used || 'never' },
  ], unassign, { testid: 'advice-unassign-table' }));
  el.append(h('details', {}, h('summary', {}, `Keep on tokens (${keep.length})`), table([
    { label: 'User', value: (a) => a.user_id },
    { label: 'Product', value: (a) => a.product_code },
    { label: 'Days a year', num: true, value: (a) => tokens(a.days_used_last_year) },
    { label: 'Why', value: (a) => a.recommendation },
  ], keep)));
}
