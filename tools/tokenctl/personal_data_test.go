package tokenctl

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// testPersonalData: owners set the organisation's personal-data setting with
// a reason and see who set it; an admin may read it but not change it. The
// stack shows the demo's people; the test sets that again, so the groups
// beside it see no change.
func testPersonalData(t *testing.T, s *stack) {
	env := s.env(t)
	rows := tableRows(t, ok(t, env, "personal-data", "get"))
	require.Equal(t, []string{"PEOPLE", "SET_AT", "BY", "REASON"}, rows[0])
	require.Equal(t, "show", rows[1][0], "as the stack's owner set it")

	r := ctl(t, env, "personal-data", "set", "pseudonyms")
	require.NotZero(t, r.code)
	require.Contains(t, r.stderr, "this key's role admin may not call SetPersonalData (only an owner may); ask an owner of your organisation to do it")
	r = ctl(t, env, "personal-data", "set", "maybe")
	require.NotZero(t, r.code)
	require.Contains(t, r.stderr, `invalid setting "maybe"`)

	env["TOKENMETER_API_KEY"] = devstack.OwnerKey
	r = ctl(t, env, "personal-data", "set", "show", "--reason", string(make([]byte, 300)))
	require.NotZero(t, r.code)
	require.Contains(t, r.stderr, "reason")
	ok(t, env, "personal-data", "set", "show", "--reason", "policy-2026")
	out := ok(t, env, "personal-data", "get")
	rows = tableRows(t, out)
	require.Equal(t, "show", rows[1][0])
	require.Contains(t, rows[1], "policy-2026")
	require.Contains(t, out, " owner:", "recorded with its actor")
}

// testDirectory: the directory lists a team's users with their assignments,
// status and, the demo showing its people, the profile set for one.
func testDirectory(t *testing.T, s *stack) {
	env := s.env(t)
	ok(t, env, "users", "assign", "dir-a", "dana", "--products", "REVIT,ACAD")
	ok(t, env, "users", "assign", "dir-a", "dora", "--products", "*")
	ok(t, env, "users", "set-profile", "dana", "--name", "Dana Example", "--email", "dana@example.com")
	r := ctl(t, env, "users", "set-profile", "dana", "--email", "not an address")
	require.NotZero(t, r.code)
	require.Contains(t, r.stderr, "email")

	var rows [][]string
	poll(t, env, func(out string) bool {
		rows = csvRows(t, out)
		return len(rows) == 3
	}, "users", "list", "--team", "dir-a", "-o", "csv")

	require.Equal(t, []string{"user", "name", "email", "status", "last_used", "assignments", "groups"}, rows[0])
	require.Equal(t, []string{"dana", "Dana Example", "dana@example.com", "assigned", "", "dir-a:ACAD,REVIT", ""}, rows[1])
	require.Equal(t, []string{"dora", "", "", "assigned", "", "dir-a:*", ""}, rows[2])
	erased := csvRows(t, ok(t, env, "users", "erase", "dana", "--reason", "left", "-o", "csv"))
	require.Equal(t, "dana", erased[1][0])
	require.Contains(t, erased[1][2], "admin:", "recorded with its actor")
	require.Equal(t, erased, csvRows(t, ok(t, env, "users", "erase", "dana", "-o", "csv")), "erasing again answers the first erasure")
	rows = csvRows(t, ok(t, env, "users", "list", "--team", "dir-a", "-o", "csv"))
	require.Len(t, rows, 3)
	out := fmt.Sprint(rows)
	require.NotContains(t, out, "dana", "the erased user is shown by pseudonym, without name or address")
	require.Contains(t, out, "dora")
	require.Contains(t, out, "u_")
	r = ctl(t, env, "users", "set-profile", "dana", "--name", "Dana")
	require.Contains(t, r.stderr, "ledger refused: user_id was erased")
}
