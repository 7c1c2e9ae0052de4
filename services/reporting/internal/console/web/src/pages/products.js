// By product, with a drill-down into one product (#/products/<code>).
import { call } from '../api.js';
import { h, card, tokens, table } from '../format.js';
import { chart, colors } from '../charts.js';

export async function render(el, ctx, [code]) {
  if (code) return drill(el, ctx, code);
  const r = await call('ReportingService', 'GetUsageByProduct', { team_ids: ctx.teamIds, range: ctx.range, user_limit: 1 });
  const products = r.products || [];
  el.append(h('p', { class: 'range-note' }, `${ctx.team || 'All teams'} · ${r.from_date} to ${r.to_date} (${r.months} months)`));
  el.append(h('div', { class: 'cards' },
    card('Total tokens', tokens(r.total_tokens), { testid: 'products-total' }),
    card('Products used', tokens(r.products_used), { testid: 'products-used' })));
  chart(el, {
    label: 'Tokens by product',
    summary: products.slice(0, 5).map((p) => `${p.product_code} ${tokens(p.tokens)}`).join(', '),
    config: {
      type: 'bar',
      data: { labels: products.map((p) => p.product_code), datasets: [{ label: 'Tokens', data: products.map((p) => Number(p.tokens)), backgroundColor: colors.primary }] },
      options: { indexAxis: 'y', plugins: { legend: { display: false } } },
    },
    columns: [{ label: 'Product', value: (p) => p.product_code }, { label: 'Tokens', num: true, value: (p) => tokens(p.tokens) }],
    rows: products,
    height: Math.max(160, products.length * 28),
  });
  el.append(table([
    { label: 'Product', value: (p) => h('a', { href: `#/products/${encodeURIComponent(p.product_code)}` }, p.product_code) },
    { label: 'Group', value: (p) => p.product_group || '—' },
    { label: 'Tokens', num: true, value: (p) => tokens(p.tokens) },
    { label: 'Users', num: true, value: (p) => tokens(p.users) },
    { label: 'Average per month', num: true, value: (p) => tokens(Math.round(p.average_tokens_per_month)) },
  ], products, { testid: 'products-table', caption: 'Choose a product to see its users, versions and token distribution.' }));
  if ((r.groups || []).some((g) => (g.product_codes || []).length > 1)) {
    el.append(h('h2', {}, 'Product groups'));
    el.append(table([
      { label: 'Group', value: (g) => g.product_group },
      { label: 'Products', value: (g) => (g.product_codes || []).join(', ') },
      { label: 'Tokens', num: true, value: (g) => tokens(g.tokens) },
      { label: 'Users', num: true, value: (g) => tokens(g.users) },
    ], r.groups));
  }
}

async function drill(el, ctx, code) {
  const r = await call('ReportingService', 'GetUsageByProduct', {
    team_ids: ctx.teamIds, range: ctx.range, product_codes: [code], user_limit: 500,
  });
  const p = (r.products || [])[0];
  el.append(h('p', {}, h('a', { href: '#/products' }, '← All products')));
  el.append(h('h2', { 'data-testid': 'drill-title' }, code));
  if (!p) {
    el.append(h('p', { class: 'empty' }, `No use of ${code} in ${ctx.rangeLabel.toLowerCase()}.`));
    return;
  }
  el.append(h('div', { class: 'cards' },
    card('Total tokens', tokens(p.tokens), { testid: 'drill-tokens' }),
    card('Users', tokens(p.users), { testid: 'drill-users' }),
    card('Average per month', tokens(Math.round(p.average_tokens_per_month)), { note: `over ${r.months} months` })));
  const buckets = p.token_buckets || [];
  const bucketLabel = (b) => (Number(b.max_tokens) ? `${tokens(b.min_tokens)}–${tokens(b.max_tokens)}` : `${tokens(b.min_tokens)}+`);
  chart(el, {
    label: 'Users by tokens spent',
    summary: buckets.map((b) => `${bucketLabel(b)} tokens: ${b.users} users`).join('; '),
    config: {
      type: 'bar',
      data: { labels: buckets.map(bucketLabel), datasets: [{ label: 'Users', data: buckets.map((b) => Number(b.users)), backgroundColor: colors.primary }] },
      options: { plugins: { legend: { display: false } }, scales: { y: { ticks: { precision: 0 } } } },
    },
    columns: [{ label: 'Tokens', value: bucketLabel }, { label: 'Users', num: true, value: (b) => tokens(b.users) }],
    rows: buckets,
    height: 220,
  });
  el.append(h('h2', {}, 'Users by version'));
  el.append(table([
    { label: 'Version', value: (v) => v.product_version || '—' },
    { label: 'Users', num: true, value: (v) => tokens(v.users) },
    { label: 'Launches', num: true, value: (v) => tokens(v.launches) },
  ], p.versions || [], { testid: 'drill-versions' }));
  el.append(h('h2', {}, 'Users'));
  el.append(table([
    { label: 'User', value: (u) => u.user_id },
    { label: 'Tokens', num: true, value: (u) => tokens(u.tokens) },
    { label: 'Days used', num: true, value: (u) => tokens(u.days_used) },
    { label: 'Average per month', num: true, value: (u) => tokens(Math.round(u.average_tokens_per_month)) },
  ], p.user_usage || [], { testid: 'drill-users-table' }));
}
