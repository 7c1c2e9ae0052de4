package tokenctl

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// testSubscriptions: a user on Revit 110 days of the last year gets the
// advice to move to a subscription; `advice apply` grants it in one step,
// their next launch is authorized by subscription without tokens and
// `report subscriptions` shows it; `advice undo` puts them back on tokens.
func testSubscriptions(t *testing.T, s *stack) {
	env := s.env(t)
	now := time.Now().UTC()
	monthStart := time.Date(now.Year(), now.Month(), 1, 9, 0, 0, 0, time.UTC)
	ok(t, env, "packs", "add", "sub-a", "sub-a-pack", "5000", "--purchased", now.AddDate(0, -13, 0).Format(time.DateOnly),
		"--expires", now.AddDate(0, 2, 0).Format(time.DateOnly))
	ok(t, env, "products", "set-rate", "REVIT", "10", "--effective", now.AddDate(0, -13, 0).Format(time.DateOnly))
	ok(t, env, "users", "assign", "sub-a", "dev", "--products", "REVIT")
	conn, err := grpcserver.Dial(s.Ledger.Addr(), devstack.ServiceKey)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	svc := v1.NewLedgerServiceClient(conn)
	ctx := auth.ActingFor(t.Context(), devstack.DemoOrg)
	launch := func(id string, at time.Time) *v1.LaunchResponse {
		resp, err := svc.Authorize(ctx, &v1.AuthorizeRequest{ReceivedAt: timestamppb.New(at), Launch: &v1.LaunchRequest{
			EventId: id, TeamId: "sub-a", UserId: "dev", ProductCode: "REVIT", DeviceId: "pc"}})
		require.NoError(t, err)
		return resp.GetResult()
	}
	for i := range 110 { // every other day of the complete months before this one
		require.EqualValues(t, 10, launch(fmt.Sprintf("sub-heavy-%03d", i), monthStart.AddDate(0, 0, -2*(110-i))).GetTokensCharged())
	}
	var adv v1.AdviseLicensingResponse
	poll(t, env, func(out string) bool {
		protoOut(t, out, &adv)
		return len(adv.GetAdvice()) == 1 && adv.GetAdvice()[0].GetDaysUsedLastYear() == 110
	}, "report", "advice", "--team", "sub-a", "-o", "json")
	require.Equal(t, v1.Recommendation_RECOMMENDATION_MOVE_TO_SUBSCRIPTION, adv.GetAdvice()[0].GetAction())

	r := ctl(t, env, "advice", "apply", "sub-a", "ann")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "no 'move to subscription' advice for ann in sub-a")

	out := ok(t, env, "advice", "apply", "sub-a", "dev", "--event-id", "sub-apply-1")
	require.Equal(t, []string{"sub-a", "dev", "REVIT", "until", "revoked"}, tableRows(t, out)[1][:5])
	res := launch("sub-after-1", now)
	require.True(t, res.GetBySubscription())
	require.Zero(t, res.GetTokensCharged())
	var use v1.GetSubscriptionUsageResponse
	poll(t, env, func(out string) bool {
		protoOut(t, out, &use)
		return use.GetSubscriptionLaunches() == 1
	}, "report", "subscriptions", "--team", "sub-a", "--range", "this-month", "-o", "json")
	require.Equal(t, "dev", use.GetRows()[0].GetUserId())
	require.Len(t, tableRows(t, ok(t, env, "subscriptions", "list", "sub-a")), 2)
	poll(t, env, func(out string) bool {
		protoOut(t, out, &adv)
		return len(adv.GetAdvice()) == 0
	}, "report", "advice", "--team", "sub-a", "-o", "json")

	ok(t, env, "advice", "undo", "sub-a", "dev", "--event-id", "sub-undo-1")
	var left v1.ListSubscriptionsResponse
	protoOut(t, ok(t, env, "subscriptions", "list", "sub-a", "-o", "json"), &left)
	require.Empty(t, left.GetSubscriptions())
	require.EqualValues(t, 10, launch("sub-after-2", now.Add(time.Minute)).GetTokensCharged(), "back on tokens")
	poll(t, env, func(out string) bool {
		protoOut(t, out, &adv)
		return len(adv.GetAdvice()) == 1
	}, "report", "advice", "--team", "sub-a", "-o", "json")
	require.Equal(t, v1.Recommendation_RECOMMENDATION_MOVE_TO_SUBSCRIPTION, adv.GetAdvice()[0].GetAction())
}
