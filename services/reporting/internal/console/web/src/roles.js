// What the signed-in role may change, so the console offers no button the
// services would refuse. The services decide (libs/access); this mirrors
// the role sets of that table: owners and admins change the organisation,
// owners alone its access keys and settings. A team admin changes its
// team's packs, users, budgets and user groups (the console offers the
// groups: changes(team)), and it reads its team's reports, not the
// organisation's (org: exports, the personal-data setting).
export function abilities(me) {
  const role = me?.role || '';
  return {
    role,
    team: me?.role_team_id || '',
    org: role !== 'team-admin',
    manage: role === 'owner' || role === 'admin',
    own: role === 'owner',
    // changes says whether the role may change team's packs, users and groups.
    changes: (team) => role === 'owner' || role === 'admin' || (role === 'team-admin' && team === me?.role_team_id),
  };
}
