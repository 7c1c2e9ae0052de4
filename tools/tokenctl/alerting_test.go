package tokenctl

import (
	"testing"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func testAlerting(t *testing.T, s *stack) {
	env := s.env(t)

	// Rules: the defaults, then a team's own settings over them.
	rows := tableRows(t, ok(t, env, "alerts", "rules", "list"))
	require.Equal(t, []string{"TEAM", "SETTING", "VALUE", "SOURCE"}, rows[0])
	require.Contains(t, rows, []string{"*", "low_balance.percent", "20", "default"})

	out := ok(t, env, "alerts", "rules", "set", "alr-a", "low_balance.percent=15", "pack_expiry.days=60,30,7", "usage_tiers.enabled=true")
	rows = tableRows(t, out)
	require.Contains(t, rows, []string{"alr-a", "low_balance.percent", "15", "team"})
	require.Contains(t, rows, []string{"alr-a", "pack_expiry.days", "60,30,7", "team"})
	require.Contains(t, rows, []string{"alr-a", "spike.factor", rows[rowOfSetting(t, rows, "spike.factor")][2], "default"})
	// Another setting keeps the first ones; "default" clears one.
	ok(t, env, "alerts", "rules", "set", "alr-a", "spike.factor=4", "low_balance.percent=default")
	list := csvRows(t, ok(t, env, "alerts", "rules", "list", "--team", "alr-a", "-o", "csv"))
	require.Equal(t, []string{"team", "setting", "value", "source"}, list[0])
	require.Contains(t, list, []string{"alr-a", "spike.factor", "4", "team"})
	require.Contains(t, list, []string{"alr-a", "pack_expiry.days", "60,30,7", "team"})
	require.Contains(t, list, []string{"alr-a", "low_balance.percent", "20", "default"})
	var rules v1.ListRulesResponse
	protoOut(t, ok(t, env, "alerts", "rules", "list", "--team", "alr-a", "-o", "json"), &rules)
	require.Len(t, rules.GetTeams(), 1)
	require.InDelta(t, 4, rules.GetTeams()[0].GetSettings().GetSpike().GetFactor(), 0)

	r := ctl(t, env, "alerts", "rules", "set", "alr-a", "low_balance.percnt=3")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, `rule low_balance has no setting "percnt"`)

	// Webhooks.
	r = ctl(t, env, "alerts", "webhooks", "set", "alr-a", "ops", "http://127.0.0.1:1/hook", "--kind", "low_balance", "--min-severity", "warning")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "the generated secret is shown this once")
	rows = tableRows(t, r.out)
	require.Equal(t, []string{"TEAM", "WEBHOOK", "URL", "KINDS", "MIN_SEVERITY", "DISABLED", "SECRET"}, rows[0])
	id := rows[1][1]
	require.Equal(t, "ops", id)
	var hooks v1.ListWebhooksResponse
	protoOut(t, ok(t, env, "alerts", "webhooks", "list", "--team", "alr-a", "-o", "json"), &hooks)
	require.Len(t, hooks.GetWebhooks(), 1)
	require.Equal(t, []string{"low_balance"}, hooks.GetWebhooks()[0].GetKinds())
	require.Empty(t, hooks.GetWebhooks()[0].GetSecret())
	wl := csvRows(t, ok(t, env, "alerts", "webhooks", "list", "-o", "csv"))
	require.Contains(t, wl, []string{"alr-a", id, "http://127.0.0.1:1/hook", "low_balance", "warning", ""})
	ok(t, env, "alerts", "webhooks", "set", "alr-a", id, "http://127.0.0.1:1/other", "--secret", "s3cret-s3cret-s3cret", "--disabled")
	protoOut(t, ok(t, env, "alerts", "webhooks", "list", "--team", "alr-a", "-o", "json"), &hooks)
	require.Len(t, hooks.GetWebhooks(), 1)
	require.True(t, hooks.GetWebhooks()[0].GetDisabled())
	ok(t, env, "alerts", "webhooks", "delete", "alr-a", id)
	require.Len(t, csvRows(t, ok(t, env, "alerts", "webhooks", "list", "--team", "alr-a", "-o", "csv")), 1)
	require.Equal(t, []string{"failed", "team", "webhook", "url", "alert", "attempts", "last_error"},
		csvRows(t, ok(t, env, "alerts", "webhooks", "dead-letters", "-o", "csv"))[0])

	// Alerts list speaks csv too.
	require.Equal(t, []string{"seq", "time", "severity", "team", "kind", "ack", "id", "message"},
		csvRows(t, ok(t, env, "alerts", "list", "-o", "csv"))[0])
}

func rowOfSetting(t *testing.T, rows [][]string, setting string) int {
	t.Helper()
	for i, r := range rows {
		if len(r) > 1 && r[1] == setting {
			return i
		}
	}
	t.Fatalf("no setting %s", setting)
	return -1
}
