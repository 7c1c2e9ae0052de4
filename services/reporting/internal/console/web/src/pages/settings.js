// Settings: the organisation's personal-data setting (every page, export,
// alert and webhook shows people as they are or as keyed pseudonyms by it;
// only the owner changes it) and its time zone (report days follow it;
// owners and admins change it). Each change is recorded with who made it.
import { call } from '../api.js';
import { h, dateTime, notice, setZone } from '../format.js';

const MAX_REASON = 256;

function describe(s) {
  return s.show ? 'People are shown as they are' : 'People are shown as pseudonyms';
}

export async function render(el, ctx) {
  const [{ setting = {} }, { setting: tz = {} }] = await Promise.all([
    call('LedgerService', 'GetPersonalData', {}),
    call('LedgerService', 'GetTimeZone', {}),
  ]);
  const rerender = () => { el.replaceChildren(); render(el, ctx); };
  el.append(zoneSection(tz, ctx));
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

// zoneSection shows the organisation's time zone and, to owners and
// admins, a form to change it (an IANA name; the ledger checks it).
function zoneSection(tz, ctx) {
  const input = h('input', { id: 'time-zone-input', type: 'text', list: 'time-zones', value: tz.zone || 'UTC', maxlength: 64, autocomplete: 'off', spellcheck: 'false' });
  const names = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', {
    class: 'settings', onsubmit: async (e) => {
      e.preventDefault();
      status.replaceChildren(notice('Saving …'));
      try {
        const r = await call('LedgerService', 'SetTimeZone', { zone: input.value.trim(), event_id: crypto.randomUUID() });
        setZone(r.setting.zone);
        ctx.reload(); // the header states the new zone
      } catch (err) {
        status.replaceChildren(notice(err.message, 'error'));
      }
    },
  },
  h('label', { for: 'time-zone-input' }, 'Time zone (an IANA name such as Europe/Berlin)'),
  input, h('datalist', { id: 'time-zones' }, names.map((z) => h('option', { value: z }))),
  h('button', { type: 'submit' }, 'Save'), status);
  return h('section', { 'aria-labelledby': 'time-zone-title' },
    h('h2', { id: 'time-zone-title' }, 'Time zone'),
    h('p', { 'data-testid': 'time-zone-state' }, `Report days, ranges and "this month" are dates in ${tz.zone || 'UTC'}.`),
    h('p', { class: 'hint', 'data-testid': 'time-zone-record' }, tz.set_at ? `Set ${dateTime(tz.set_at)} by ${tz.actor}` : 'Never set: UTC, the default.'),
    h('p', { class: 'hint' }, 'The 24-hour launch window, pack expiry and budget periods keep server time (UTC).'),
    ctx.may.manage ? form : notice('Only the organisation\'s owners and admins may change the time zone.'));
}
