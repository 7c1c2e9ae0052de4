package tokenctl

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/tools/devstack"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func testKeys(t *testing.T, s *stack) {
	env := s.env(t)
	r := ctl(t, env, "keys", "create", "key-team", "--label", "office launchers")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "the secret is shown this once")
	rows := tableRows(t, r.out)
	require.Equal(t, []string{"KEY_ID", "TEAM", "LABEL", "SECRET"}, rows[0])
	id := rows[1][0]
	require.Equal(t, "key-team", rows[1][1])

	var made v1.CreateLauncherKeyResponse
	protoOut(t, ok(t, env, "keys", "create", "key-team", "-o", "json"), &made)
	require.NotEmpty(t, made.GetSecret())

	list := csvRows(t, ok(t, env, "keys", "list", "--team", "key-team", "-o", "csv"))
	require.Equal(t, []string{"key_id", "team", "label", "created", "created_by", "revoked"}, list[0])
	require.Len(t, list, 3)
	require.NotContains(t, ok(t, env, "keys", "list", "-o", "json"), made.GetSecret(), "a list never shows secrets")

	rows = tableRows(t, ok(t, env, "keys", "revoke", id))
	require.Equal(t, id, rows[1][0])
	require.NotEqual(t, "-", rows[1][len(rows[1])-1], "revoked now")
	var live v1.ListLauncherKeysResponse
	protoOut(t, ok(t, env, "keys", "list", "--team", "key-team", "-o", "json"), &live)
	require.Len(t, live.GetKeys(), 1)
	require.Equal(t, made.GetKey().GetKeyId(), live.GetKeys()[0].GetKeyId())
	protoOut(t, ok(t, env, "keys", "list", "--team", "key-team", "--revoked", "-o", "json"), &live)
	require.Len(t, live.GetKeys(), 2)
}

// An owner makes, lists and revokes access keys; an admin may not; the new
// key works with its role (a viewer reads balances and adds no pack).
func testAccess(t *testing.T, s *stack) {
	env := s.env(t)
	r := ctl(t, env, "access", "create", "viewer", "--label", "auditor")
	require.NotEqual(t, 0, r.code, "an admin key grants no role")
	env["TOKENMETER_API_KEY"] = devstack.OwnerKey
	var made v1.CreateAccessKeyResponse
	protoOut(t, ok(t, env, "access", "create", "viewer", "--label", "auditor", "-o", "json"), &made)
	require.Equal(t, "viewer", made.GetKey().GetRole())
	rows := tableRows(t, ok(t, env, "access", "create", "team-admin", "--team", "design"))
	require.Equal(t, []string{"KEY_ID", "ROLE", "TEAM", "LABEL", "SECRET"}, rows[0])
	require.Equal(t, []string{"team-admin", "design"}, rows[1][1:3])

	list := csvRows(t, ok(t, env, "access", "list", "-o", "csv"))
	require.Equal(t, []string{"key_id", "role", "team", "label", "created", "created_by", "revoked"}, list[0])
	require.Len(t, list, 3)

	viewer := s.env(t)
	viewer["TOKENMETER_API_KEY"] = made.GetSecret()
	require.Eventually(t, func() bool { return ctl(t, viewer, "balance", "design").code == 0 }, 5*time.Second, 200*time.Millisecond)
	rows = tableRows(t, ok(t, viewer, "whoami"))
	require.Equal(t, []string{"demo", "viewer", "-", made.GetKey().GetKeyId(), "UTC"}, rows[1])
	r = ctl(t, viewer, "packs", "add", "design", "viewer-pack", "10")
	require.NotEqual(t, 0, r.code, "a viewer adds no pack")
	require.Contains(t, r.stderr, "may not")

	ok(t, env, "access", "revoke", made.GetKey().GetKeyId())
	require.Len(t, csvRows(t, ok(t, env, "access", "list", "-o", "csv")), 2)
}

// An owner grants console roles to an e-mail address and to a role-claim
// value, lists them and revokes one; an admin may not; bad input is refused
// naming the field, and --email and --claim go one at a time.
func testGrants(t *testing.T, s *stack) {
	env := s.env(t)
	r := ctl(t, env, "access", "grants", "create", "viewer", "--email", "ann@demo.example")
	require.NotEqual(t, 0, r.code, "an admin key grants no role")
	env["TOKENMETER_API_KEY"] = devstack.OwnerKey
	var made v1.CreateRoleGrantResponse
	protoOut(t, ok(t, env, "access", "grants", "create", "viewer", "--email", "Ann@Demo.example", "-o", "json"), &made)
	require.Equal(t, "ann@demo.example", made.GetGrant().GetClaimValue())
	rows := tableRows(t, ok(t, env, "access", "grants", "create", "team-admin", "--claim", "design-leads", "--team", "design"))
	require.Equal(t, []string{"GRANT_ID", "MATCH", "VALUE", "ROLE", "TEAM"}, rows[0][:5])
	require.Equal(t, []string{"role", "design-leads", "team-admin", "design"}, rows[1][1:5])

	r = ctl(t, env, "access", "grants", "create", "viewer", "--email", "a@b.example", "--claim", "staff")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "none of the others can be")
	r = ctl(t, env, "access", "grants", "create", "viewer", "--email", "not-an-address")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "claim_value")

	list := csvRows(t, ok(t, env, "access", "grants", "list", "-o", "csv"))
	require.Equal(t, []string{"grant_id", "match", "value", "role", "team", "created", "created_by", "revoked", "revoked_by"}, list[0])
	require.Len(t, list, 3)
	rows = tableRows(t, ok(t, env, "access", "grants", "revoke", made.GetGrant().GetGrantId()))
	require.NotEqual(t, "-", rows[1][len(rows[1])-1], "revoked, by whom")
	require.Len(t, csvRows(t, ok(t, env, "access", "grants", "list", "-o", "csv")), 2)
	require.Len(t, csvRows(t, ok(t, env, "access", "grants", "list", "--revoked", "-o", "csv")), 3)
}
