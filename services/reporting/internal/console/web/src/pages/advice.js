// Licensing advice: whom to move to a named subscription, with the yearly
// saving, and whom to unassign. A move is applied in one step (the ledger
// grants the named subscription) and undone by revoking it.
import { call } from '../api.js';
import { h, card, tokens, money, table } from '../format.js';
import { inForce, grant, revoke } from './subscriptions.js';

// acted keeps the rows moved or undone on this page: advice leaves out a
// user who holds the subscription (and lists one again only once the
// projection has the revocation), so the row and its Undo stay at hand.
const acted = new Map();
const keyOf = (a) => `${a.team_id}/${a.user_id}/${a.product_code}`;

export async function render(el, ctx) {
  const [r, subs] = await Promise.all([call('ReportingService', 'AdviseLicensing', { team_ids: ctx.teamIds }), inForce(ctx.teamIds)]);
  const all = r.advice || [];
  const rerender = () => { el.replaceChildren(); render(el, ctx); };
  const held = new Set(subs.map((s) => `${s.team_id}/${s.user_id}/${s.product_code}`));
  const listed = all.filter((a) => a.action === 'RECOMMENDATION_MOVE_TO_SUBSCRIPTION');
  const keys = new Set(listed.map(keyOf));
  for (const k of keys) if (!held.has(k)) acted.delete(k); // listed again: the server's row will do
  const move = listed.concat([...acted.values()].filter((a) => !keys.has(keyOf(a)) && ctx.teamIds.includes(a.team_id)));
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
    ctx.may.manage ? { label: '', value: (a) => applyButton(a, r.pseudonymous, held, rerender) } : null,
  ].filter(Boolean), move, { testid: 'advice-move-table' }));
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

// applyButton moves the row's user to a named subscription for its product,
// or, once moved, undoes it. Pseudonyms are not user ids: nothing to apply.
function applyButton(a, pseudonymous, held, rerender) {
  if (pseudonymous) return h('span', { class: 'muted' }, 'grant by the real user id');
  const on = held.has(keyOf(a));
  const act = async (e) => {
    e.target.disabled = true;
    if (on) await revoke(a.team_id, a.user_id, [a.product_code], 'licensing advice undone in the console');
    else await grant(a.team_id, a.user_id, [a.product_code], 'licensing advice: move to subscription');
    acted.set(keyOf(a), a);
    rerender();
  };
  return h('span', {},
    on ? h('span', { class: 'on-subscription' }, 'On subscription ') : null,
    h('button', { type: 'button', class: 'small', 'aria-label': `${on ? 'Undo' : 'Move'} ${a.user_id} ${a.product_code}`, onclick: act },
      on ? 'Undo' : 'Move to subscription'));
}
