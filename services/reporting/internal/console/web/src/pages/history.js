// History: a team's audit trail from the ledger (ListTransactions): every
// event with who did it and why, filtered by type and dates, read a page at
// a time ("Show more" asks for the next one).
import { call } from '../api.js';
import { h, tokens, dateTime, notice, table, startOfDay, zone } from '../format.js';

const PAGE = 50;

// The ledger's transaction types, with what the page calls them.
const types = [
  ['pack_added', 'Pack added'],
  ['window_charged', 'Charge'],
  ['tokens_adjusted', 'Removal, refund or move'],
  ['pack_expired', 'Pack expired'],
  ['pool_suspended', 'Merged or suspended'],
  ['launch_denied', 'Launch refused'],
  ['launch_covered', 'Launch in an open window'],
  ['user_assigned', 'User assigned'],
  ['user_unassigned', 'User unassigned'],
  ['budget_set', 'Budget set'],
  ['budget_crossed', 'Budget reached'],
  ['capacity_set', 'Capacity set'],
  ['capacity_used', 'Capacity used'],
  ['capacity_returned', 'Capacity returned'],
  ['product_rate_set', 'Rate change'],
  ['personal_data_set', 'Personal-data setting'],
  ['user_erased', 'Personal data erased'],
  ['time_zone_set', 'Time zone set'],
  ['subscription_granted', 'Subscription granted'],
  ['subscription_revoked', 'Subscription revoked'],
  ['launch_subscribed', 'Launch by subscription'],
  ['user_group_set', 'User group set'],
  ['user_group_members_changed', 'User group members'],
  ['user_group_deleted', 'User group deleted'],
];
const typeLabel = (t) => types.find(([v]) => v === t)?.[1] || t;

// ORG is the picker's value for the organisation's own history (rate
// changes); no team id starts with '_'.
const ORG = '_org';

export async function render(el, ctx) {
  const teamPick = h('select', { id: 'history-team' },
    ctx.teams.map((t) => h('option', { value: t, selected: t === (ctx.team || ctx.teams[0]) }, t)),
    h('option', { value: ORG }, 'Organisation: rates, settings, erasures'));
  const typePick = h('select', { id: 'history-type' }, h('option', { value: '' }, 'Every type'),
    types.map(([v, label]) => h('option', { value: v }, label)));
  const from = h('input', { id: 'history-from', type: 'date' });
  const to = h('input', { id: 'history-to', type: 'date' });
  const results = h('div', { 'aria-live': 'polite' });
  const form = h('form', {
    class: 'history-form', onsubmit: (e) => { e.preventDefault(); show(results, query()); },
  },
  h('label', { for: 'history-team' }, 'Team '), teamPick,
  h('label', { for: 'history-type' }, ' Type '), typePick,
  h('label', { for: 'history-from' }, ' From '), from,
  h('label', { for: 'history-to' }, ' to '), to,
  h('span', { class: 'hint' }, ` (dates in ${zone.name})`),
  ' ', h('button', { type: 'submit' }, 'Show'));
  const query = () => ({
    team_id: teamPick.value === ORG ? '' : teamPick.value,
    types: typePick.value ? [typePick.value] : [],
    // Whole days of the organisation's zone, both included.
    from: from.value ? startOfDay(from.value) : undefined,
    to: to.value ? startOfDay(new Date(Date.parse(`${to.value}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)) : undefined,
  });
  el.append(form, h('p', { class: 'hint' }, 'In the order the ledger recorded them, oldest first. Tokens are signed: a pack adds, a charge takes; an event that moves no tokens says what it changed.'), results);
  if (!ctx.teams.length) {
    results.append(notice('No teams yet: add a pack to a team to start its history.'));
    return;
  }
  await show(results, query());
}

// show lists the first page of q and offers the next ones.
async function show(results, q) {
  const rows = [];
  const more = h('button', { type: 'button', class: 'small', 'data-testid': 'history-more' }, 'Show more');
  const status = h('p', { class: 'range-note', 'data-testid': 'history-count' });
  let token = '';
  const load = async () => {
    more.disabled = true;
    try {
      const res = await call('LedgerService', 'ListTransactions', { ...q, page_size: PAGE, page_token: token });
      rows.push(...(res.transactions || []));
      token = res.next_page_token || '';
    } catch (err) {
      results.replaceChildren(notice(`Could not read the history: ${err.message}`, 'error'));
      return;
    }
    more.disabled = false;
    more.hidden = !token;
    status.textContent = `${rows.length} event${rows.length === 1 ? '' : 's'}${token ? ' so far' : ''}.`;
    results.replaceChildren(status, historyTable(rows), more);
  };
  more.addEventListener('click', load);
  results.replaceChildren(h('div', { class: 'loading', role: 'status' }, 'Loading …'));
  await load();
}

// showsBalance: only events that move tokens, and refusals, carry the pool's
// balance after them.
const showsBalance = (tx) => Number(tx.tokens || 0) !== 0 || tx.type === 'launch_denied' || tx.type === 'pool_suspended';

function historyTable(rows) {
  const about = (tx) => [tx.detail, tx.pack_id && `pack ${tx.pack_id}`, tx.counterparty_team_id && `with ${tx.counterparty_team_id}`]
    .filter(Boolean).join(' · ');
  return table([
    { label: 'When', value: (tx) => dateTime(tx.at) },
    { label: 'Event', value: (tx) => typeLabel(tx.type) },
    { label: 'Tokens', num: true, value: (tx) => (Number(tx.tokens || 0) > 0 ? '+' : '') + tokens(tx.tokens) },
    { label: 'Available after', num: true, value: (tx) => (showsBalance(tx) ? tokens(tx.available_after) : '') },
    { label: 'User', value: (tx) => tx.user_id || '' },
    { label: 'Product', value: (tx) => tx.product_code || '' },
    { label: 'What', value: about },
    { label: 'Reason', value: (tx) => tx.reason || '' },
    { label: 'By', value: (tx) => tx.actor || '' },
  ], rows, { testid: 'history-table', rowClass: (tx) => `tx tx-${tx.type}` });
}
