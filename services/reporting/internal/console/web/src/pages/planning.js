// Planning: a team's planned projects (users × days × products from a date)
// and the Flex Estimator's questions: how many tokens a plan takes, and
// when the team runs out with it and without it. One team at a time.
import { call, ApiError } from '../api.js';
import { listAll } from '../paging.js';
import { h, card, tokens, day, table, notice } from '../format.js';

function eventId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `console-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

const runOut = (at) => (at ? day(at) : 'not before the packs expire');
const isoDay = (d) => d.toISOString().slice(0, 10);

function daysText(s) {
  return Number(s.days) > 0 ? `${tokens(s.days)} days in all` : `${s.days_per_week} days a week`;
}

// field is a labelled input of the plan form.
function field(id, label, attrs) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name: id, ...attrs }));
}

export async function render(el, ctx) {
  const team = ctx.team || ctx.teams[0];
  if (!team) {
    el.append(notice('No team yet.'));
    return;
  }
  if (!ctx.team) el.append(notice(`Plans are per team: showing ${team}. Pick another team above.`));
  const [f, plans, products] = await Promise.all([
    call('ReportingService', 'Forecast', { team_id: team }),
    listAll('ReportingService', 'ListPlannedProjects', { team_id: team }, 'projects'),
    catalog(ctx, team),
  ]);
  const rerender = () => { el.replaceChildren(); render(el, ctx); };
  el.append(h('h2', {}, team));
  el.append(h('div', { class: 'cards' },
    card('Run-out with the plans', runOut(f.run_out_at), { testid: 'plan-run-out-with', tone: f.run_out_at ? 'warn' : '' }),
    card('Run-out without them', runOut(f.run_out_at_without_plans), { testid: 'plan-run-out-without' }),
    card('Planned tokens', tokens(f.planned_tokens), { testid: 'planned-tokens', note: `${f.plans || 0} planned project${f.plans === 1 ? '' : 's'}, from today on` }),
    card('Available now', tokens(f.tokens_available)),
    card('Seasonality', f.seasonal ? 'last year’s months' : 'none yet', { testid: 'plan-seasonal', note: f.seasonal ? 'and the weekday profile' : 'needs a year of history' })));
  el.append(h('h2', {}, 'Planned projects'));
  el.append(table([
    { label: 'Project', value: (p) => p.spec.name },
    { label: 'Users', num: true, value: (p) => tokens(p.spec.users) },
    { label: 'Days', value: (p) => daysText(p.spec) },
    { label: 'Products', value: (p) => (p.spec.product_codes || []).join(', ') },
    { label: 'From', value: (p) => p.spec.start_date },
    { label: 'To', value: (p) => p.spec.end_date },
    { label: 'Tokens', num: true, value: (p) => tokens(p.estimate.tokens) },
    { label: 'Added by', value: (p) => p.added_by },
    ctx.may.manage && {
      label: '', value: (p) => h('button', {
        type: 'button', class: 'small', 'aria-label': `Remove ${p.spec.name}`,
        onclick: async (e) => {
          e.target.disabled = true;
          await call('ReportingService', 'RemovePlannedProject', { event_id: eventId(), team_id: team, plan_id: p.plan_id });
          rerender();
        },
      }, 'Remove'),
    },
  ].filter(Boolean), plans, { testid: 'plans-table' }));
  el.append(h('h2', {}, 'Estimate a plan'));
  el.append(planForm(team, products, ctx.may.manage, rerender));
}

// catalog is the products a plan may name: the organisation's catalog, or
// for a team admin (whose calls name its team; the catalog names none) the
// products its team has used, whose rates the estimate then shows.
async function catalog(ctx, team) {
  if (ctx.may.org) return listAll('LedgerService', 'ListProducts', {}, 'products');
  const r = await call('ReportingService', 'GetUsageByProduct', { team_ids: [team], range: ctx.range, user_limit: 1 });
  return (r.products || []).map((p) => ({ product_code: p.product_code }));
}

// Only owners and admins record plans; everyone who reads may estimate.
function planForm(team, products, manage, rerender) {
  const monday = new Date();
  monday.setUTCDate(monday.getUTCDate() + ((8 - monday.getUTCDay()) % 7 || 7));
  const end = new Date(monday);
  end.setUTCDate(end.getUTCDate() + 27);
  const result = h('div', { 'aria-live': 'polite', 'data-testid': 'plan-result' });
  const productBox = h('fieldset', { class: 'products' }, h('legend', {}, 'Products'),
    products.map((p) => h('label', { class: 'radio' },
      h('input', { type: 'checkbox', name: 'product', value: p.product_code }), p.daily_rate ? ` ${p.product_code} (${tokens(p.daily_rate)} a day)` : ` ${p.product_code}`)));
  const form = h('form', { class: 'export-form plan-form', onsubmit: (e) => e.preventDefault() },
    field('plan-name', 'Project name', { required: true, maxlength: 128 }),
    field('plan-users', 'Users', { type: 'number', min: 1, max: 10000, value: 5, required: true }),
    field('plan-days-per-week', 'Days a week (1–7)', { type: 'number', min: 1, max: 7, value: 3 }),
    field('plan-days', 'or days in all per user', { type: 'number', min: 1 }),
    productBox,
    field('plan-start', 'From', { type: 'date', value: isoDay(monday), required: true }),
    field('plan-end', 'To', { type: 'date', value: isoDay(end), required: true }));
  const spec = () => {
    const data = new FormData(form);
    const days = Number(data.get('plan-days') || 0);
    return {
      name: data.get('plan-name'), users: Number(data.get('plan-users') || 0),
      days_per_week: days > 0 ? 0 : Number(data.get('plan-days-per-week') || 0), days,
      product_codes: data.getAll('product'), start_date: data.get('plan-start'), end_date: data.get('plan-end'),
    };
  };
  const run = async (fn) => {
    try {
      await fn();
    } catch (err) {
      result.replaceChildren(notice(err instanceof ApiError ? err.message : `Failed: ${err.message}`, 'error'));
    }
  };
  const estimate = h('button', {
    type: 'button', onclick: () => run(async () => {
      const r = await call('ReportingService', 'EstimatePlan', { team_id: team, plan: spec() });
      result.replaceChildren(estimateView(r));
    }),
  }, 'Estimate');
  const add = h('button', {
    type: 'button', onclick: () => run(async () => {
      await call('ReportingService', 'AddPlannedProject', { event_id: eventId(), team_id: team, plan: spec() });
      rerender();
    }),
  }, 'Add to the forecast');
  form.append(h('div', { class: 'buttons' }, estimate, manage ? [' ', add] : null));
  return h('div', {}, form, result);
}

function estimateView(r) {
  const e = r.estimate;
  return h('div', {},
    h('div', { class: 'cards' },
      card('Tokens for this plan', tokens(e.tokens), { testid: 'estimate-tokens', note: `${tokens(e.user_days)} user-days (${tokens(e.days_per_user)} each)` }),
      card('Run-out without it', runOut(r.run_out_at_without_plan), { testid: 'estimate-run-out-without' }),
      card('Run-out with it', runOut(r.run_out_at_with_plan), { testid: 'estimate-run-out-with', tone: r.run_out_at_with_plan ? 'warn' : '' })),
    table([
      { label: 'Product', value: (p) => p.product_code },
      { label: 'Daily rate', num: true, value: (p) => tokens(p.daily_rate) },
      { label: 'Tokens', num: true, value: (p) => tokens(p.tokens) },
    ], e.products || [], { testid: 'estimate-products' }));
}
