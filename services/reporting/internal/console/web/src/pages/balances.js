// Balances: a card per pool and per capacity product, with a status bar that
// is green above 20 % available and red at or below.
import { call } from '../api.js';
import { listAll } from '../paging.js';
import { h, tokens, day, notice } from '../format.js';
import { termLine, showUsage } from './capacity.js';

const RED_AT = 20;

export async function render(el, ctx) {
  const eachTeam = () => Promise.all(ctx.teams.map(async (t) => (await call('LedgerService', 'GetBalance', { team_id: t })).balance));
  let balances;
  try {
    // A team admin asks for its team's balance; ListTeams is the organisation's.
    balances = ctx.may.org ? await listAll('LedgerService', 'ListTeams', {}, 'teams') : await eachTeam();
  } catch (err) {
    if (!err.notConfigured) throw err;
    balances = await eachTeam(); // an older ledger without ListTeams
  }
  if (ctx.team) balances = balances.filter((b) => b.team_id === ctx.team);
  if (!balances.length) {
    el.append(notice('No pools yet: add a pack to a team to create its pool.'));
    return;
  }
  el.append(h('div', { class: 'cards balances' }, balances.map(poolCard)));
  const capacities = balances.flatMap((b) => (b.capacities || []).map((c) => ({ ...c, team_id: b.team_id })));
  if (capacities.length) {
    el.append(h('h2', {}, 'Capacity products'));
    const panel = h('section', { class: 'capacity-usage', 'data-testid': 'capacity-usage', 'aria-live': 'polite' });
    const open = (c) => { showUsage(panel, c, ctx).catch((err) => panel.replaceChildren(notice(err.message, 'error'))); };
    el.append(h('div', { class: 'cards balances' }, capacities.map((c) => capacityCard(c, open))), panel);
  }
}

function poolCard(b) {
  const total = Number(b.live);
  const available = Number(b.available);
  const share = total > 0 ? (available / total) * 100 : 0;
  return statusCard({
    testid: `pool-${b.team_id}`,
    title: b.team_id + (b.suspended ? ' (suspended)' : ''),
    available, total, share,
    lines: [
      `${(100 - share).toFixed(0)} % used`,
      `Next expiry: ${b.next_expiry ? day(b.next_expiry) : 'none'}`,
      `Used ${tokens(b.used)} · expired ${tokens(b.expired)} · removed ${tokens(b.removed)}`,
    ],
  });
}

function capacityCard(c, open) {
  const total = Number(c.total);
  const available = Number(c.available);
  const share = total > 0 ? (available / total) * 100 : 0;
  const kind = c.kind === 'CAPACITY_KIND_RETURNABLE' ? 'checked out' : 'used this month';
  const testid = `capacity-${c.team_id}-${c.product_code}`;
  const card = statusCard({
    testid,
    title: `${c.product_code} · ${c.team_id}${c.expired ? ' (expired)' : ''}`,
    available, total, share, red: c.status_red,
    lines: [`${(100 - share).toFixed(0)} % used · ${tokens(total)} units bought`, `${tokens(c.in_use)} ${kind}`,
      h('span', { 'data-testid': `${testid}-term` }, termLine(c))],
    unit: 'units',
  });
  card.append(h('button', { type: 'button', class: 'link', onclick: () => open(c) }, 'View usage details'));
  return card;
}

function statusCard({ testid, title, available, total, share, red, lines, unit = 'tokens' }) {
  const low = red ?? share <= RED_AT;
  const bar = h('div', { class: 'bar-fill' });
  bar.style.width = `${Math.max(0, Math.min(100, share)).toFixed(1)}%`;
  return h('section', { class: `card pool ${low ? 'red' : 'green'}`, 'data-testid': testid, 'aria-label': title },
    h('h3', {}, title),
    h('div', { class: 'card-value' }, h('span', { 'data-testid': `${testid}-available` }, tokens(available)), h('span', { class: 'of' }, ` of ${tokens(total)} ${unit} available`)),
    h('div', {
      class: 'statusbar', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': share.toFixed(0),
      'aria-label': `${share.toFixed(0)} % available, ${low ? 'low (20 % or less)' : 'healthy'}`,
    }, bar),
    lines.map((l) => h('div', { class: 'card-note' }, l)));
}
