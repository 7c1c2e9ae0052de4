// Named subscriptions (the seeds' hybrid model): who holds one, and the
// launches they authorized without tokens, shown apart from token use.
import { call } from '../api.js';
import { listAll } from '../paging.js';
import { h, card, tokens, table, day } from '../format.js';

// eventId is a new client-made id for one change; a retry would reuse it.
function eventId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `console-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

// inForce lists the subscriptions in force in teams, from the ledger.
export async function inForce(teams) {
  const lists = await Promise.all(teams.map((t) => listAll('LedgerService', 'ListSubscriptions', { team_id: t }, 'subscriptions')));
  return lists.flat();
}

export const grant = (team, user, products, reason) => call('LedgerService', 'GrantSubscription',
  { event_id: eventId(), team_id: team, user_id: user, product_codes: products, reason });

export const revoke = (team, user, products, reason) => call('LedgerService', 'RevokeSubscription',
  { event_id: eventId(), team_id: team, user_id: user, product_codes: products, reason });

export async function render(el, ctx) {
  const [use, subs] = await Promise.all([
    call('ReportingService', 'GetSubscriptionUsage', { team_ids: ctx.teamIds, range: ctx.range }),
    inForce(ctx.teamIds),
  ]);
  const rerender = () => { el.replaceChildren(); render(el, ctx); };
  el.append(h('p', { class: 'range-note' }, `From ${use.from_date} to ${use.to_date}: launches authorized by a named subscription cost no tokens.`));
  el.append(h('div', { class: 'cards' },
    card('Launches by subscription', tokens(use.subscription_launches), { testid: 'subs-launches', tone: 'good' }),
    card('Launches on tokens', tokens(use.token_launches), { testid: 'subs-token-launches' }),
    card('Tokens charged', tokens(use.tokens_charged), { testid: 'subs-tokens' })));
  el.append(h('h2', {}, 'Subscriptions in force'));
  el.append(table([
    { label: 'User', value: (s) => s.user_id },
    { label: 'Team', value: (s) => s.team_id },
    { label: 'Product', value: (s) => s.product_code },
    { label: 'Ends', value: (s) => (s.ends_at ? day(s.ends_at) : 'until revoked') },
    { label: 'Granted', value: (s) => day(s.granted_at) },
    ctx.may.manage ? {
      label: '', value: (s) => h('button', {
        type: 'button', class: 'small', 'aria-label': `Revoke ${s.user_id}'s ${s.product_code} subscription`,
        onclick: async (e) => { e.target.disabled = true; await revoke(s.team_id, s.user_id, [s.product_code], 'revoked in the console'); rerender(); },
      }, 'Revoke'),
    } : null,
  ].filter(Boolean), subs, { testid: 'subs-table' }));
  el.append(h('h2', {}, 'Use by subscription'));
  el.append(table([
    { label: 'User', value: (u) => u.user_id },
    { label: 'Team', value: (u) => u.team_id },
    { label: 'Product', value: (u) => u.product_code },
    { label: 'Launches', num: true, value: (u) => tokens(u.launches) },
    { label: 'Days used', num: true, value: (u) => tokens(u.days_used) },
    { label: 'Last used', value: (u) => u.last_used },
  ], use.rows || [], { testid: 'subs-use-table' }));
}
