package tokenctl

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// testTimeZone: an admin sets the organisation's time zone and sees who set
// it; a name that is no IANA zone is refused naming the field. The groups
// beside it read reports of the same organisation, so it sets UTC: their
// days do not move (the zones themselves are tested in reporting).
func testTimeZone(t *testing.T, s *stack) {
	env := s.env(t)
	rows := tableRows(t, ok(t, env, "time-zone", "get"))
	require.Equal(t, []string{"ZONE", "SET_AT", "BY"}, rows[0])
	require.Equal(t, "UTC", rows[1][0], "UTC until set")

	r := ctl(t, env, "time-zone", "set", "Mars/Olympus_Mons")
	require.NotZero(t, r.code)
	require.Contains(t, r.stderr, "zone")
	require.Contains(t, r.stderr, "Mars/Olympus_Mons")

	out := ok(t, env, "time-zone", "set", "UTC")
	require.Contains(t, out, " admin:", "recorded with its actor")
	rows = tableRows(t, ok(t, env, "time-zone", "get"))
	require.Equal(t, "UTC", rows[1][0])
	require.Equal(t, "admin:admin-demo", rows[1][3], "set: with its time and actor")
}
