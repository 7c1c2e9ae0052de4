package tokenctl

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// testPersonalData: owners set the organisation's personal-data setting with
// a reason and see who set it; an admin may read it but not change it. The
// test sets pseudonyms (the default), so the groups beside it see no change.
func testPersonalData(t *testing.T, s *stack) {
	env := s.env(t)
	rows := tableRows(t, ok(t, env, "personal-data", "get"))
	require.Equal(t, []string{"PEOPLE", "SET_AT", "BY", "REASON"}, rows[0])
	require.Equal(t, "pseudonyms", rows[1][0], "never set: pseudonyms")

	r := ctl(t, env, "personal-data", "set", "pseudonyms")
	require.NotZero(t, r.code)
	require.Contains(t, r.stderr, "an admin key may not call /tokenmeter.v1.LedgerService/SetPersonalData")
	r = ctl(t, env, "personal-data", "set", "maybe")
	require.NotZero(t, r.code)
	require.Contains(t, r.stderr, `invalid setting "maybe"`)

	env["TOKENMETER_API_KEY"] = devstack.OwnerKey
	r = ctl(t, env, "personal-data", "set", "pseudonyms", "--reason", string(make([]byte, 300)))
	require.NotZero(t, r.code)
	require.Contains(t, r.stderr, "reason")
	ok(t, env, "personal-data", "set", "pseudonyms", "--reason", "policy-2026")
	out := ok(t, env, "personal-data", "get")
	rows = tableRows(t, out)
	require.Equal(t, "pseudonyms", rows[1][0])
	require.Contains(t, rows[1], "policy-2026")
	require.Contains(t, out, " owner:", "recorded with its actor")
}
