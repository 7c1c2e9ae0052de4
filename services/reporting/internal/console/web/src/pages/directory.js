// Directory: every user of the organisation (or the team picked) who was
// assigned, charged or in a user group, with the teams and products
// assigned now, their groups, last use and status; then the teams' user
// groups (groups.js). Names and e-mail addresses appear only where the organisation
// shows personal data; elsewhere users are pseudonyms. Owners and admins
// may erase a person's personal data from here (LedgerService.EraseUser).
import { call } from '../api.js';
import { h, table, day, notice } from '../format.js';
import { ask } from '../dialog.js';
import * as groups from './groups.js';

const MAX_REASON = 256;

let size = 25;
// The page tokens of the pages shown so far, for one team and page size.
let tokensOf = { query: '', stack: [''] };

const assignments = (u) => (u.assignments || [])
  .map((a) => `${a.team_id}: ${(a.product_codes || []).join(', ')}`).join(' · ') || '—';
const groupsOf = (u) => (u.groups || []).map((g) => `${g.team_id}: ${g.name}`).join(' · ') || '—';

export async function render(el, ctx) {
  const query = `${ctx.team}/${size}`;
  if (tokensOf.query !== query) tokensOf = { query, stack: [''] };
  const page = tokensOf.stack.length;
  const list = () => call('ReportingService', 'ListUsers', { team_id: ctx.team, page_size: size, page_token: tokensOf.stack[page - 1] });
  const [r, shows] = await Promise.all([list(), showsPeople(ctx)]);
  const rerender = () => { el.replaceChildren(); render(el, ctx); };
  const status = h('div', { 'aria-live': 'polite', 'data-testid': 'directory-status' });
  el.append(h('div', { class: 'toolbar' }, h('label', { for: 'directory-size' }, 'Show ',
    h('select', { id: 'directory-size', onchange: (e) => { size = Number(e.target.value); rerender(); } },
      [5, 25, 100].map((v) => h('option', { value: v, selected: v === size }, `${v} per page`))))));
  el.append(h('p', { class: 'range-note' }, ctx.team ? `The users of team ${ctx.team}.` : 'The users of every team.',
    ' Idle: assigned, but without a charge (or a new assignment) for the idle days.'));
  el.append(table([
    { label: 'User', value: (u) => u.user_id },
    { label: 'Name', value: (u) => u.display_name || '—' },
    { label: 'E-mail', value: (u) => u.email || '—' },
    { label: 'Status', value: (u) => h('span', { class: `status ${u.status}` }, u.status) },
    { label: 'Last used', value: (u) => day(u.last_used_at) },
    { label: 'Assigned products', value: assignments },
    { label: 'Groups', value: groupsOf },
    shows ? { label: '', value: (u) => eraseButton(u, status, list, rerender) } : null,
  ].filter(Boolean), r.users || [], { testid: 'directory-table' }), status);
  if (page > 1 || r.next_page_token) {
    el.append(h('div', { class: 'pager', role: 'navigation', 'aria-label': 'Pages of the directory' },
      h('button', { type: 'button', disabled: page === 1, onclick: () => { tokensOf.stack.pop(); rerender(); } }, '← Previous'),
      h('span', { 'data-testid': 'directory-page' }, ` Page ${page} `),
      h('button', { type: 'button', disabled: !r.next_page_token, onclick: () => { tokensOf.stack.push(r.next_page_token); rerender(); } }, 'Next →')));
  }
  await groups.render(el, ctx, rerender);
}

// showsPeople: the erase button is offered to owners and admins where
// people are shown as they are; a pseudonym names no one to erase.
async function showsPeople(ctx) {
  if (!ctx.may.manage) return false;
  const { setting = {} } = await call('LedgerService', 'GetPersonalData', {});
  return Boolean(setting.show);
}

// eraseButton asks for a reason, erases, and shows the page again once the
// directory has stopped naming the user (reporting follows the ledger's log).
function eraseButton(u, status, list, rerender) {
  if (u.user_id.startsWith('u_')) return ''; // shown by pseudonym already: erased
  return h('button', {
    type: 'button', class: 'small secondary', 'aria-label': `Erase ${u.user_id}'s personal data`,
    onclick: async (e) => {
      const answer = await ask({
        title: `Erase ${u.user_id}'s personal data?`, confirm: 'Erase', danger: true,
        text: 'The name and e-mail address are deleted for good, and every report, export, alert and history shows this user by pseudonym from now on. Usage, charges and assignments stay.',
        fields: [{ name: 'reason', label: `Reason (for the record, at most ${MAX_REASON} characters)`, required: true, maxlength: MAX_REASON }],
      });
      if (!answer) return;
      e.target.disabled = true;
      status.replaceChildren(notice('Erasing …'));
      try {
        await call('LedgerService', 'EraseUser', { user_id: u.user_id, reason: answer.reason, event_id: crypto.randomUUID() });
        for (let i = 0; i < 30 && (await list()).users?.some((v) => v.user_id === u.user_id); i++) {
          await new Promise((ok) => { setTimeout(ok, 100); });
        }
        rerender();
      } catch (err) {
        e.target.disabled = false;
        status.replaceChildren(notice(`Could not erase ${u.user_id}: ${err.message}`, 'error'));
      }
    },
  }, 'Erase personal data');
}
