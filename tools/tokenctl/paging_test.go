package tokenctl

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// testPaging: every list command reads to the last page, whatever the page size.
func testPaging(t *testing.T, s *stack) {
	env := s.env(t)
	conn, err := grpcserver.Dial(s.Alerting.Addr(), devstack.AdminKey)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	alerting := v1.NewAlertingServiceClient(conn)
	// More webhooks than the server's default page of 100, over 11 teams
	// (a team holds at most MaxWebhooksPerTeam).
	var hookTeams []string
	for i := range 11 {
		hookTeams = append(hookTeams, fmt.Sprintf("pg-hooks-%d", i))
	}
	for i := range 105 {
		_, err := alerting.SetWebhook(t.Context(), &v1.SetWebhookRequest{Webhook: &v1.Webhook{
			TeamId: hookTeams[i%11], WebhookId: fmt.Sprintf("hook-%03d", i), Url: "http://127.0.0.1:1/hook"}})
		require.NoError(t, err)
	}
	allHooks := strings.Join(hookTeams, ",")
	var hooks v1.ListWebhooksResponse
	protoOut(t, ok(t, env, "alerts", "webhooks", "list", "--team", allHooks, "-o", "json"), &hooks)
	require.Equal(t, 105, len(hooks.GetWebhooks()))
	seen := map[string]bool{}
	for _, h := range hooks.GetWebhooks() {
		seen[h.GetWebhookId()] = true
	}
	require.Len(t, seen, 105, "every webhook once")

	small := Options{pageSize: 2}
	for _, team := range []string{"pg-0", "pg-1", "pg-2"} {
		ok(t, env, "alerts", "rules", "set", team, "spike.factor=4")
		ok(t, env, "keys", "create", team)
	}
	run := func(args ...string) string {
		r := ctlWith(t, small, env, args...)
		require.Equal(t, 0, r.code, r.stderr)
		return r.out
	}
	var rules v1.ListRulesResponse
	protoOut(t, run("alerts", "rules", "list", "--team", "pg-0,pg-1,pg-2", "-o", "json"), &rules)
	require.Len(t, rules.GetTeams(), 3)
	require.NotNil(t, rules.GetDefaults())
	protoOut(t, run("alerts", "webhooks", "list", "--team", allHooks, "-o", "json"), &hooks)
	require.Equal(t, 105, len(hooks.GetWebhooks()))
	var keys v1.ListLauncherKeysResponse
	protoOut(t, run("keys", "list", "--team", "pg-1", "-o", "json"), &keys)
	require.Len(t, keys.GetKeys(), 1)
	protoOut(t, run("keys", "list", "-o", "json"), &keys)
	require.GreaterOrEqual(t, len(keys.GetKeys()), 3)
	run("alerts", "webhooks", "dead-letters", "--team", allHooks)
	run("alerts", "list", "--limit", "0")
}
