// Console role grants, on the owner's Access keys page: which people the
// identity provider vouches for sign into this console, and with what role —
// by their verified e-mail address or by a value of the role claim (a
// group). Revoking a grant ends the sessions it opened within a second.
import { call } from '../api.js';
import { listAll } from '../paging.js';
import { h, dateTime, notice, table } from '../format.js';

const MAX_VALUE = 255;
const ROLES = [['viewer', 'Viewer'], ['admin', 'Admin'], ['team-admin', 'Team admin — one team'], ['owner', 'Owner']];
const MATCHES = [['GRANT_CLAIM_EMAIL', 'E-mail address'], ['GRANT_CLAIM_ROLE', 'Role claim value (a group)']];

export async function renderGrants(el, ctx) {
  const list = h('div', {});
  el.append(h('h2', { id: 'grants-heading' }, 'Console sign-in grants'),
    h('p', { class: 'hint' }, "People who sign in through your identity provider get the role of the first grant that matches them: the console's grants file, then their verified e-mail address, then a group. Revoking a grant signs out the people it let in."),
    grantForm(ctx, () => refresh(list)), list);
  await refresh(list);
}

async function refresh(list) {
  const grants = await listAll('IngestionService', 'ListRoleGrants', {}, 'grants');
  list.replaceChildren(table([
    { label: 'Grant id', value: (g) => h('code', {}, g.grant_id) },
    { label: 'Matches', value: (g) => (g.claim === 'GRANT_CLAIM_EMAIL' ? 'e-mail' : 'role claim') },
    { label: 'Value', value: (g) => g.claim_value },
    { label: 'Role', value: (g) => g.role },
    { label: 'Team', value: (g) => g.role_team_id || '—' },
    { label: 'Created', value: (g) => `${dateTime(g.created_at)} by ${g.created_by || '—'}` },
    { label: '', value: (g) => revokeButton(g, list) },
  ], grants, { testid: 'role-grants' }));
}

function revokeButton(g, list) {
  return h('button', {
    type: 'button', class: 'small', 'aria-label': `Revoke grant ${g.grant_id}`, onclick: async (e) => {
      e.target.disabled = true;
      try {
        await call('IngestionService', 'RevokeRoleGrant', { grant_id: g.grant_id });
        await refresh(list);
      } catch (err) {
        e.target.disabled = false;
        e.target.after(notice(err.message, 'error'));
      }
    },
  }, 'Revoke');
}

function grantForm(ctx, refreshList) {
  const match = h('select', { id: 'grant-claim' }, MATCHES.map(([v, text]) => h('option', { value: v }, text)));
  const value = h('input', { id: 'grant-value', type: 'text', maxlength: MAX_VALUE, autocomplete: 'off', required: true });
  const role = h('select', { id: 'grant-role' }, ROLES.map(([v, text]) => h('option', { value: v }, text)));
  const team = h('select', { id: 'grant-team' }, ctx.teams.map((t) => h('option', { value: t }, t)));
  const teamLabel = h('label', { for: 'grant-team', hidden: true }, 'Team', team);
  role.addEventListener('change', () => { teamLabel.hidden = role.value !== 'team-admin'; });
  const status = h('div', { 'aria-live': 'assertive' });
  return h('form', {
    class: 'access-form', 'aria-labelledby': 'grants-heading', onsubmit: async (e) => {
      e.preventDefault();
      status.replaceChildren();
      try {
        await call('IngestionService', 'CreateRoleGrant', {
          claim: match.value, claim_value: value.value.trim(), role: role.value,
          role_team_id: role.value === 'team-admin' ? team.value : '',
        });
        value.value = '';
        await refreshList();
      } catch (err) {
        status.replaceChildren(notice(err.message, 'error'));
      }
    },
  },
  h('fieldset', {}, h('legend', {}, 'New grant'),
    h('label', { for: 'grant-claim' }, 'Matches', match),
    h('label', { for: 'grant-value' }, `Value (at most ${MAX_VALUE} characters)`, value),
    h('label', { for: 'grant-role' }, 'Role', role), teamLabel),
  h('button', { type: 'submit' }, 'Create grant'),
  status);
}
