package server

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFilterSubjects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		teams, kinds []string
		want         []string
	}{
		{"whole organisation", nil, nil, []string{"alerts.acme.>"}},
		{"teams", []string{"build", "design"}, nil, []string{"alerts.acme.build.*", "alerts.acme.design.*"}},
		{"kinds", nil, []string{"low_balance"}, []string{"alerts.acme.*.low_balance"}},
		{"teams and kinds", []string{"build", "design"}, []string{"launch_denied", "low_balance"}, []string{
			"alerts.acme.build.launch_denied", "alerts.acme.build.low_balance",
			"alerts.acme.design.launch_denied", "alerts.acme.design.low_balance",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, filterSubjects("acme", tt.teams, tt.kinds))
		})
	}
}

func TestCheckIDsSortsAndDeduplicates(t *testing.T) {
	t.Parallel()
	got, err := checkIDs("team_ids", "team id", []string{"design", "build", "design"})
	require.NoError(t, err)
	require.Equal(t, []string{"build", "design"}, got)

	for _, bad := range []string{"", "a.b", "*", ">", "_catalog", "a b"} {
		_, err := checkIDs("team_ids", "team id", []string{"ok", bad})
		require.ErrorContains(t, err, "team_ids[1]", "id %q", bad)
	}
	_, err = checkIDs("kinds", "kind", make([]string, 101))
	require.ErrorContains(t, err, "at most 100")
}
