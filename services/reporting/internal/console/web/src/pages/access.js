// Access keys: the owner's page. People's and tools' keys of the
// organisation, each holding one role (owner, admin, viewer, team-admin);
// a new key's secret is shown once, here, and never again; revoking one
// takes effect at every service within a second. Below them, the grants
// that let people sign in through single sign-on (grants.js).
import { call } from '../api.js';
import { listAll } from '../paging.js';
import { h, dateTime, notice, table } from '../format.js';
import { renderGrants } from './grants.js';

const MAX_LABEL = 128;
const ROLES = [['viewer', 'Viewer — reads reports, changes nothing'], ['admin', 'Admin — packs, users, rules, webhooks'],
  ['team-admin', 'Team admin — one team'], ['owner', 'Owner — everything, keys included']];

export async function render(el, ctx) {
  const list = h('div', {});
  const secret = h('div', { 'aria-live': 'polite' });
  el.append(createForm(ctx, secret, () => refresh(list)), secret, h('h2', {}, 'Keys in force'), list);
  await refresh(list);
  const grants = h('section', { 'aria-label': 'Console sign-in grants' });
  el.append(grants);
  await renderGrants(grants, ctx);
}

async function refresh(list) {
  const keys = await listAll('IngestionService', 'ListAccessKeys', {}, 'keys');
  list.replaceChildren(table([
    { label: 'Key id', value: (k) => h('code', {}, k.key_id) },
    { label: 'Role', value: (k) => k.role },
    { label: 'Team', value: (k) => k.role_team_id || '—' },
    { label: 'Label', value: (k) => k.label || '—' },
    { label: 'Created', value: (k) => `${dateTime(k.created_at)} by ${k.created_by || '—'}` },
    { label: '', value: (k) => revokeButton(k, list) },
  ], keys, { testid: 'access-keys' }));
}

function revokeButton(k, list) {
  return h('button', {
    type: 'button', class: 'small', 'aria-label': `Revoke key ${k.key_id}`, onclick: async (e) => {
      e.target.disabled = true;
      try {
        await call('IngestionService', 'RevokeAccessKey', { key_id: k.key_id });
        await refresh(list);
      } catch (err) {
        e.target.disabled = false;
        e.target.after(notice(err.message, 'error'));
      }
    },
  }, 'Revoke');
}

function createForm(ctx, secret, refreshList) {
  const role = h('select', { id: 'access-role' }, ROLES.map(([v, text]) => h('option', { value: v }, text)));
  const team = h('select', { id: 'access-team' }, ctx.teams.map((t) => h('option', { value: t }, t)));
  const teamLabel = h('label', { for: 'access-team', hidden: true }, 'Team', team);
  role.addEventListener('change', () => { teamLabel.hidden = role.value !== 'team-admin'; });
  const label = h('input', { id: 'access-label', type: 'text', maxlength: MAX_LABEL, autocomplete: 'off' });
  const status = h('div', { 'aria-live': 'assertive' });
  return h('form', {
    class: 'access-form', onsubmit: async (e) => {
      e.preventDefault();
      status.replaceChildren();
      try {
        const res = await call('IngestionService', 'CreateAccessKey', {
          role: role.value, role_team_id: role.value === 'team-admin' ? team.value : '', label: label.value.trim(),
        });
        label.value = '';
        secret.replaceChildren(h('div', { class: 'notice good', role: 'status' },
          h('p', {}, `New ${res.key.role} key ${res.key.key_id}. Copy its secret now: it is shown this once and kept nowhere.`),
          h('code', { class: 'secret', 'data-testid': 'new-key-secret' }, res.secret)));
        await refreshList();
      } catch (err) {
        status.replaceChildren(notice(err.message, 'error'));
      }
    },
  },
  h('fieldset', {}, h('legend', {}, 'New access key'),
    h('label', { for: 'access-role' }, 'Role', role), teamLabel,
    h('label', { for: 'access-label' }, `Label (whose key, at most ${MAX_LABEL} characters)`, label)),
  h('button', { type: 'submit' }, 'Create key'),
  status);
}
