// A capacity product's term ("ends in 30 days, refreshes in 12 days") and
// its usage details: units used per day, week or month over the range,
// from reporting's capacity history (seed 004).
import { call } from '../api.js';
import { h, tokens, day } from '../format.js';
import { chart, colors } from '../charts.js';

const DAY_MS = 24 * 3600 * 1000;
// Returnable capacity shows daily history, exhaustible daily, weekly and monthly (seed 004).
const buckets = [['CAPACITY_BUCKET_DAY', 'Day'], ['CAPACITY_BUCKET_WEEK', 'Week'], ['CAPACITY_BUCKET_MONTH', 'Month']];

const inDays = (iso, now) => Math.ceil((new Date(iso).getTime() - now) / DAY_MS);

// termLine says when a card's term ends and its allowance refreshes.
export function termLine(c, now = Date.now()) {
  const parts = [];
  if (c.expired) parts.push(`Expired on ${day(c.ends_at)}`);
  else if (c.ends_at) parts.push(`Ends in ${tokens(inDays(c.ends_at, now))} days`);
  if (c.refreshes_at) parts.push(`${parts.length ? 'refreshes' : 'Refreshes'} in ${tokens(inDays(c.refreshes_at, now))} days`);
  if (!parts.length) return c.kind === 'CAPACITY_KIND_RETURNABLE' ? 'No end date' : 'No end date · refreshes monthly';
  return parts.join(', ');
}

// showUsage renders the usage details of capacity c into panel.
export async function showUsage(panel, c, ctx, bucket = 'CAPACITY_BUCKET_DAY') {
  const choices = c.kind === 'CAPACITY_KIND_RETURNABLE' ? buckets.slice(0, 1) : buckets;
  const r = await call('ReportingService', 'GetCapacityUsage', { team_id: c.team_id, product_code: c.product_code, bucket, range: ctx.range });
  const rows = r.buckets || [];
  const returnable = c.kind === 'CAPACITY_KIND_RETURNABLE';
  const label = choices.find(([v]) => v === bucket)?.[1] || 'Day';
  panel.replaceChildren(
    h('h2', {}, `Usage details · ${c.product_code} · ${c.team_id}`),
    h('p', { class: 'range-note', 'data-testid': 'capacity-usage-total' },
      `${tokens(r.units_used)} units ${returnable ? 'checked out' : 'used'}${returnable ? `, ${tokens(r.units_returned)} returned` : ''} in ${tokens(r.uses)} uses from ${r.from_date} to ${r.to_date}.`),
    h('div', { class: 'toolbar' },
      h('label', { for: 'capacity-bucket' }, 'By ',
        h('select', { id: 'capacity-bucket', onchange: (e) => showUsage(panel, c, ctx, e.target.value) },
          choices.map(([v, t]) => h('option', { value: v, selected: v === bucket }, t))))));
  const datasets = [{ label: returnable ? 'Checked out' : 'Used', data: rows.map((b) => Number(b.units_used)), backgroundColor: colors.primary }];
  if (returnable) datasets.push({ label: 'Returned', data: rows.map((b) => Number(b.units_returned)), backgroundColor: colors.muted });
  chart(panel, {
    label: `Units per ${label.toLowerCase()}`,
    summary: `${tokens(r.units_used)} units over ${rows.length} ${label.toLowerCase()}s, ${rows.filter((b) => Number(b.uses) > 0).length} with use.`,
    config: {
      type: 'bar',
      data: { labels: rows.map((b) => b.start_date), datasets },
      options: { plugins: { legend: { display: returnable } }, scales: { x: { ticks: { maxTicksLimit: 12 } } } },
    },
    columns: [
      { label: label, value: (b) => b.start_date },
      { label: 'Units used', num: true, value: (b) => tokens(b.units_used) },
      ...(returnable ? [{ label: 'Returned', num: true, value: (b) => tokens(b.units_returned) }] : []),
      { label: 'Uses', num: true, value: (b) => tokens(b.uses) },
      { label: 'Users', num: true, value: (b) => tokens(b.users) },
    ],
    rows: rows.filter((b) => Number(b.uses) > 0 || Number(b.units_returned) > 0),
  });
  panel.querySelector('table')?.setAttribute('data-testid', 'capacity-usage-table');
}
