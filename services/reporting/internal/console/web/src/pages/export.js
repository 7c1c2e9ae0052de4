// Export: usage, packs, users, denials or spend for a range, as CSV or XLSX, downloaded.
import { download } from '../api.js';
import { h, notice, zone } from '../format.js';

const presets = [['this-month', 'This month'], ['3m', 'Last 3 months'], ['6m', 'Last 6 months'], ['9m', 'Last 9 months'], ['12m', 'Last 12 months'], ['dates', 'Dates …']];

export async function render(el, ctx) {
  const status = h('div', { 'aria-live': 'polite', 'data-testid': 'export-status' });
  const from = h('input', { id: 'export-from', type: 'date' });
  const to = h('input', { id: 'export-to', type: 'date' });
  const dates = h('fieldset', { class: 'dates', hidden: true }, h('legend', {}, `Dates (inclusive, in ${zone.name})`),
    h('label', { for: 'export-from' }, 'From '), from, h('label', { for: 'export-to' }, ' to '), to);
  const rangeSelect = h('select', { id: 'export-range', name: 'range', onchange: (e) => { dates.hidden = e.target.value !== 'dates'; } },
    presets.map(([v, t]) => h('option', { value: v, selected: v === '12m' }, t)));
  const radio = (name, value, label, checked) => h('label', { class: 'radio' },
    h('input', { type: 'radio', name, value, checked }), ` ${label}`);
  const button = h('button', { type: 'submit' }, 'Download');
  let controller;
  const form = h('form', {
    class: 'export-form', onsubmit: async (e) => {
      e.preventDefault();
      const data = new FormData(form);
      const params = new URLSearchParams({ kind: data.get('kind'), format: data.get('format') });
      if (rangeSelect.value === 'dates') {
        if (!from.value || !to.value) {
          status.replaceChildren(notice('Choose both dates.', 'error'));
          return;
        }
        params.set('from', from.value);
        params.set('to', to.value);
      } else {
        params.set('range', rangeSelect.value);
      }
      for (const t of ctx.teamIds) params.append('team', t);
      button.disabled = true;
      controller = new AbortController();
      const progress = h('progress', { 'aria-label': 'Export progress' });
      const text = h('span', {}, ' Preparing …');
      const cancel = h('button', { type: 'button', class: 'link', onclick: () => controller.abort() }, 'Cancel');
      status.replaceChildren(h('p', {}, progress, text, ' ', cancel));
      try {
        const { name, bytes } = await download(params, (n) => { text.textContent = ` ${(n / 1024).toFixed(0)} kB received …`; }, controller.signal);
        status.replaceChildren(notice(`Downloaded ${name} (${(bytes / 1024).toFixed(1)} kB).`));
      } catch (err) {
        status.replaceChildren(notice(err.name === 'AbortError' ? 'Export cancelled.' : `Export failed: ${err.message}`, 'error'));
      } finally {
        button.disabled = false;
      }
    },
  },
  h('fieldset', {}, h('legend', {}, 'What'),
    radio('kind', 'usage', 'Usage: one row per charge', true),
    radio('kind', 'packs', 'Packs (subscriptions)', false),
    radio('kind', 'users', 'Users', false),
    radio('kind', 'denials', 'Denials: every refused launch', false),
    radio('kind', 'spend', 'Spend: cost by team, product and user', false)),
  h('fieldset', {}, h('legend', {}, 'Range'), h('label', { for: 'export-range' }, 'Range '), rangeSelect, dates),
  h('fieldset', {}, h('legend', {}, 'Format'),
    radio('format', 'csv', 'CSV', true),
    radio('format', 'xlsx', 'Excel (XLSX)', false)),
  h('p', { class: 'hint' }, `Teams: ${ctx.team || 'all teams'} (change it at the top). Usage has one row per charge: day, team, user, product, version, device, tokens, the packs it came from, the 24-hour window and the launch attributes. Days are dates in ${zone.name}. Column names and order never change, so spreadsheets built on an export keep working.`),
  button);
  el.append(form, status);
}
