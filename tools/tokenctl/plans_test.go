package tokenctl

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// testPlans: estimate a planned project, record it, see it in the list and
// in the forecast, remove it.
func testPlans(t *testing.T, s *stack) {
	env := s.env(t)
	now := time.Now().UTC()
	ok(t, env, "packs", "add", "plan-a", "plan-a-pack", "3000", "--expires", now.AddDate(0, 6, 0).Format(time.DateOnly))
	ok(t, env, "products", "set-rate", "FUSION", "2", "--effective", now.AddDate(0, -1, 0).Format(time.DateOnly))
	monday := now.Truncate(24*time.Hour).AddDate(0, 0, 7)
	for monday.Weekday() != time.Monday {
		monday = monday.AddDate(0, 0, 1)
	}
	spec := []string{"--name", "Survey", "--users", "4", "--days-per-week", "2", "--products", "FUSION",
		"--start", monday.Format(time.DateOnly), "--end", monday.AddDate(0, 0, 13).Format(time.DateOnly)}

	var est v1.EstimatePlanResponse
	require.Eventually(t, func() bool {
		r := ctl(t, env, append([]string{"plans", "estimate", "plan-a", "-o", "json"}, spec...)...)
		if r.code != 0 {
			return false // reporting has not projected the rate yet
		}
		protoOut(t, r.out, &est)
		return true
	}, 30*time.Second, 100*time.Millisecond)
	require.EqualValues(t, 32, est.GetEstimate().GetTokens(), "4 users × 2 days × 2 weeks × 2 tokens")
	require.Contains(t, ok(t, env, append([]string{"plans", "estimate", "plan-a"}, spec...)...), "32 tokens: 4 users × 4 days")

	out := ok(t, env, append([]string{"plans", "add", "plan-a", "--event-id", "plan-a-survey-1"}, spec...)...)
	require.Equal(t, []string{"plan-a-survey-1", "Survey", "4", "2/week"}, tableRows(t, out)[1][:4])
	rows := tableRows(t, ok(t, env, "plans", "list", "plan-a"))
	require.Len(t, rows, 2)
	require.Equal(t, "32", rows[1][7])
	require.Contains(t, ok(t, env, "report", "forecast", "plan-a"), "1 planned projects add 32 tokens")
	require.NotContains(t, ok(t, env, "report", "forecast", "plan-a", "--exclude-plans"), "planned projects")

	r := ctl(t, env, "plans", "add", "plan-a", "--users", "4", "--days-per-week", "9", "--products", "FUSION",
		"--start", monday.Format(time.DateOnly), "--end", monday.Format(time.DateOnly))
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "days_per_week")
	ok(t, env, "plans", "remove", "plan-a", "plan-a-survey-1")
	require.NotContains(t, ok(t, env, "plans", "list", "plan-a"), "plan-a-survey-1")
}
