// Forecast: the term's cumulative usage with the projected run-out date and
// the tokens that will expire before they can be spent. One team at a time.
import { call } from '../api.js';
import { h, card, tokens, day, table, notice } from '../format.js';
import { chart, colors } from '../charts.js';

export async function render(el, ctx) {
  const team = ctx.team || ctx.teams[0];
  if (!team) {
    el.append(notice('No team yet.'));
    return;
  }
  if (!ctx.team) el.append(notice(`A forecast is per team: showing ${team}. Pick another team above.`));
  const f = await call('ReportingService', 'Forecast', { team_id: team });
  el.append(h('h2', {}, team));
  el.append(h('div', { class: 'cards' },
    card('Projected run-out', f.run_out_at ? day(f.run_out_at) : 'not before the packs expire', { testid: 'run-out', tone: f.run_out_at ? 'warn' : '' }),
    card('Tokens at risk of expiry', tokens(f.tokens_expiring_unspent), { testid: 'expiring-unspent', note: 'will expire before they can be spent at this pace', tone: Number(f.tokens_expiring_unspent) > 0 ? 'warn' : '' }),
    card('Burn rate', `${Number(f.burn_rate_30_days).toFixed(1)} / day`, { note: `90 days: ${Number(f.burn_rate_90_days).toFixed(1)} / day` }),
    card('Available now', tokens(f.tokens_available)),
    card('Suggested renewal', tokens(f.suggested_renewal), { note: `used: ${tokens(f.used_last_6_months)} in 6 months, ${tokens(f.used_last_12_months)} in 12` })));
  const months = f.months || [];
  const term = Number(f.term_tokens);
  chart(el, {
    label: 'Cumulative tokens used this term',
    summary: `${months.filter((m) => !m.projected).length} months so far, ${tokens(months.at(-1)?.cumulative_tokens)} by the term's end at this pace against ${tokens(term)} tokens bought${f.run_out_at ? `; projected to run out on ${day(f.run_out_at)}` : ''}.`,
    config: {
      type: 'line',
      data: {
        labels: months.map((m) => m.month),
        datasets: [
          {
            label: 'Cumulative tokens', data: months.map((m) => Number(m.cumulative_tokens)), borderColor: colors.primary, backgroundColor: colors.primary,
            segment: { borderDash: (c) => (months[c.p1DataIndex]?.projected ? [6, 4] : undefined) },
          },
          { label: 'Tokens of the term', data: months.map(() => term), borderColor: colors.red, pointRadius: 0, borderDash: [2, 2] },
        ],
      },
      options: { plugins: { legend: { position: 'bottom' } }, scales: { y: { beginAtZero: true } } },
    },
    columns: [
      { label: 'Month', value: (m) => m.month + (m.projected ? ' (projected)' : '') },
      { label: 'Used', num: true, value: (m) => tokens(m.tokens_used) },
      { label: 'Cumulative', num: true, value: (m) => tokens(m.cumulative_tokens) },
      { label: '% of term', num: true, value: (m) => `${Number(m.cumulative_percent).toFixed(1)} %` },
    ],
    rows: months,
  });
  el.append(table([
    { label: 'Month', value: (m) => m.month },
    { label: 'Used', num: true, value: (m) => tokens(m.tokens_used) },
    { label: 'Cumulative', num: true, value: (m) => tokens(m.cumulative_tokens) },
    { label: '% of term', num: true, value: (m) => `${Number(m.cumulative_percent).toFixed(1)} %` },
    { label: 'Run-out at this pace', value: (m) => m.projected_run_out_month || 'lasts the term' },
    { label: '', value: (m) => (m.projected ? 'projected' : '') },
  ], months, { testid: 'forecast-months' }));
}
