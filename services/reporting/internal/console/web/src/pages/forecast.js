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
    card('Suggested renewal', tokens(f.suggested_renewal), { note: `used: ${tokens(f.used_last_6_months)} in 6 months, ${tokens(f.used_last_12_months)} in 12` }),
    card('Seasonality', f.seasonal ? 'last year’s months' : 'none yet', { testid: 'forecast-seasonal', note: f.seasonal ? 'the projection follows last year’s months and weekdays' : 'needs a year of history' }),
    f.plans ? card('Planned projects', tokens(f.planned_tokens), { testid: 'forecast-planned', note: `${f.plans} plan${f.plans === 1 ? '' : 's'}; without: ${f.run_out_at_without_plans ? day(f.run_out_at_without_plans) : 'no run-out'}` }) : null));
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
  if (f.seasonal) el.append(seasonTable(f));
}

const monthNames = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const weekdayNames = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

// seasonTable lists the factors the projection multiplies the level by:
// each month's use against the yearly mean, and each weekday's.
function seasonTable(f) {
  const rows = [
    ...monthNames.map((m, i) => ({ name: m, kind: 'month', factor: f.month_factors?.[i] })),
    ...weekdayNames.map((d, i) => ({ name: d, kind: 'weekday', factor: f.weekday_factors?.[i] })),
  ];
  return table([
    { label: 'Month or weekday', value: (r) => r.name },
    { label: 'Kind', value: (r) => r.kind },
    { label: 'Factor', num: true, value: (r) => `× ${Number(r.factor ?? 0).toFixed(2)}` },
  ], rows, { caption: 'Seasonal factors', testid: 'forecast-season' });
}
