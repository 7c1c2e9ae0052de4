// User groups of the Directory page: what their members may launch and who
// they are, and, for owners, admins and the team's own admin, the changes
// (LedgerService's CreateUserGroup, RenameUserGroup, SetUserGroupProducts,
// ChangeUserGroupMembers, DeleteUserGroup), each recorded with a reason.
import { call } from '../api.js';
import { listAll } from '../paging.js';
import { h, table, notice } from '../format.js';
import { ask, list } from '../dialog.js';

// The ledger's limits (services/ledger/internal/pool): ids, names, reasons.
const ID = { maxlength: 64, pattern: '[A-Za-z0-9][A-Za-z0-9_\\-]*' };
const NAME = { maxlength: 128 };
const reason = { name: 'reason', label: 'Reason (for the record, optional)', maxlength: 512 };
const codesHint = 'Product codes separated by commas; * for every product; none: the group opens nothing (a budget only).';
const usersHint = 'User ids separated by commas, as the ledger knows them (not pseudonyms).';

const change = (method, g, body, why) => call('LedgerService', method,
  { team_id: g.team_id, group_id: g.group_id, event_id: crypto.randomUUID(), reason: why || '', ...body });

export async function render(el, ctx, rerender) {
  const teams = ctx.team ? [ctx.team] : ctx.teams;
  const lists = await Promise.all(teams.map((t) => listAll('LedgerService', 'ListUserGroups', { team_id: t }, 'groups')));
  const mine = teams.filter((t) => ctx.may.changes(t));
  const status = h('div', { 'aria-live': 'polite', 'data-testid': 'groups-status' });
  // act runs one change and shows the page again, or says why it failed.
  const act = async (what, fn) => {
    status.replaceChildren(notice(`${what} …`));
    try {
      await fn();
      rerender();
    } catch (err) {
      status.replaceChildren(notice(`${what} failed: ${err.message}`, 'error'));
    }
  };
  el.append(h('h2', {}, 'User groups'),
    h('p', { class: 'range-note' }, 'Members may launch the group\'s products as if assigned them; a budget of scope user group caps them together.'),
    table([
      { label: 'Team', value: (g) => g.team_id },
      { label: 'Group', value: (g) => g.name },
      { label: 'Id', value: (g) => g.group_id },
      { label: 'Products', value: (g) => (g.product_codes || []).join(', ') || '—' },
      { label: 'Members', value: (g) => (g.member_ids || []).length },
      { label: 'Who', value: (g) => (g.member_ids || []).join(', ') || '—' },
      mine.length ? { label: '', value: (g) => (ctx.may.changes(g.team_id) ? buttons(g, act) : '') } : null,
    ].filter(Boolean), lists.flat(), { testid: 'groups-table' }), status);
  if (mine.length) el.append(createButton(mine, act));
}

function buttons(g, act) {
  const button = (label, onclick) => h('button', { type: 'button', class: 'small secondary', 'aria-label': `${label} ${g.group_id}`, onclick }, label);
  return h('span', { class: 'row-buttons' },
    button('Rename', async () => {
      const a = await ask({ title: `Rename ${g.group_id}`, confirm: 'Rename', fields: [{ name: 'name', label: 'Name', value: g.name, required: true, ...NAME }, reason] });
      if (a) act(`Renaming ${g.group_id}`, () => change('RenameUserGroup', g, { name: a.name }, a.reason));
    }),
    button('Products', async () => {
      const a = await ask({ title: `Products of ${g.group_id}`, confirm: 'Save', fields: [
        { name: 'products', label: 'Products', value: (g.product_codes || []).join(', '), hint: codesHint }, reason] });
      if (a) act(`Setting ${g.group_id}'s products`, () => change('SetUserGroupProducts', g, { product_codes: list(a.products) }, a.reason));
    }),
    button('Members', async () => {
      const a = await ask({ title: `Members of ${g.group_id}`, text: `Now: ${(g.member_ids || []).join(', ') || 'none'}.`, confirm: 'Change', fields: [
        { name: 'add', label: 'Add', hint: usersHint }, { name: 'remove', label: 'Remove' }, reason] });
      if (a) act(`Changing ${g.group_id}'s members`, () => change('ChangeUserGroupMembers', g, { add_user_ids: list(a.add), remove_user_ids: list(a.remove) }, a.reason));
    }),
    button('Delete', async () => {
      const a = await ask({ title: `Delete ${g.group_id}?`, confirm: 'Delete', danger: true, fields: [reason],
        text: `Its members lose what only this group allowed them, and budgets of this group stop counting. Its history stays.` });
      if (a) act(`Deleting ${g.group_id}`, () => change('DeleteUserGroup', g, {}, a.reason));
    }));
}

// createButton makes a group in one of the teams the role may change, then
// sets its products and members when given.
function createButton(teams, act) {
  return h('button', {
    type: 'button', onclick: async () => {
      const a = await ask({ title: 'Create a user group', confirm: 'Create', fields: [
        { name: 'team', label: 'Team', value: teams[0], options: teams },
        { name: 'group', label: 'Group id (letters, digits, - or _)', required: true, ...ID },
        { name: 'name', label: 'Name', required: true, ...NAME },
        { name: 'products', label: 'Products', hint: codesHint },
        { name: 'members', label: 'Members', hint: usersHint }, reason] });
      if (!a) return;
      const g = { team_id: a.team, group_id: a.group };
      act(`Creating ${a.group}`, async () => {
        await change('CreateUserGroup', g, { name: a.name }, a.reason);
        if (a.products) await change('SetUserGroupProducts', g, { product_codes: list(a.products) }, a.reason);
        if (a.members) await change('ChangeUserGroupMembers', g, { add_user_ids: list(a.members) }, a.reason);
      });
    },
  }, 'Create group');
}
