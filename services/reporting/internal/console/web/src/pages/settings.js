// Settings: the organisation's personal-data setting. Every page, export,
// alert and webhook shows people as they are or as keyed pseudonyms by it;
// only the owner changes it, and each change is recorded with who and why.
import { call } from '../api.js';
import { h, dateTime, notice } from '../format.js';

const MAX_REASON = 256;

function describe(s) {
  return s.show ? 'People are shown as they are' : 'People are shown as pseudonyms';
}

export async function render(el, ctx) {
  const { setting = {} } = await call('LedgerService', 'GetPersonalData', {});
  const rerender = () => { el.replaceChildren(); render(el, ctx); };
  el.append(h('section', { 'aria-labelledby': 'personal-data-title' },
    h('h2', { id: 'personal-data-title' }, 'Personal data'),
    h('p', { 'data-testid': 'personal-data-state' }, describe(setting)),
    h('p', { class: 'hint', 'data-testid': 'personal-data-record' }, setting.set_at
      ? `Set ${dateTime(setting.set_at)} by ${setting.actor}${setting.reason ? ` — ${setting.reason}` : ''}`
      : 'Never set: pseudonyms, the default.'),
    h('p', { class: 'hint' }, 'Pseudonyms (u_…, d_…, e_…) stand for users, devices, launch ids and attributes that name a person, in every report, export, history, alert and webhook.'),
    ctx.may.own ? form(setting, rerender) : notice('Only the organisation\'s owner may change this setting.')));
}

function form(setting, rerender) {
  const radio = (value, label) => h('label', { class: 'radio' },
    h('input', { type: 'radio', name: 'people', value, checked: (value === 'show') === Boolean(setting.show) }), ` ${label}`);
  const reason = h('input', { id: 'personal-data-reason', type: 'text', maxlength: MAX_REASON, autocomplete: 'off' });
  const status = h('div', { 'aria-live': 'polite' });
  return h('form', {
    class: 'settings', onsubmit: async (e) => {
      e.preventDefault();
      const show = e.target.elements.people.value === 'show';
      status.replaceChildren(notice('Saving …'));
      try {
        await call('LedgerService', 'SetPersonalData', { show, reason: reason.value.trim(), event_id: crypto.randomUUID() });
        rerender();
      } catch (err) {
        status.replaceChildren(notice(err.message, 'error'));
      }
    },
  },
  h('fieldset', {}, h('legend', {}, 'Show people'),
    radio('show', 'As they are (names, devices, launch ids)'),
    radio('pseudonyms', 'As pseudonyms')),
  h('label', { for: 'personal-data-reason' }, `Reason (for the record, at most ${MAX_REASON} characters)`),
  reason,
  h('button', { type: 'submit' }, 'Save'),
  status);
}
