package reporting_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting"
)

// Launches authorized by named subscriptions are projected as their own
// outcome and reported apart from token use: GetSubscriptionUsage counts
// them per user and product beside the range's token launches, and the
// token reports (versions, last use) do not count them.
func TestGetSubscriptionUsage(t *testing.T) {
	t.Parallel()
	acme, globex, day := startSubscriptionFixture(t)

	resp, err := acme.GetSubscriptionUsage(t.Context(), &v1.GetSubscriptionUsageRequest{TeamIds: []string{"design", "ops"}})
	require.NoError(t, err)
	var rows []string
	for _, r := range resp.GetRows() {
		rows = append(rows, fmt.Sprintf("%s/%s/%s %d launches %d days last %s", r.GetTeamId(), r.GetUserId(), r.GetProductCode(), r.GetLaunches(), r.GetDaysUsed(), r.GetLastUsed()))
	}
	require.Equal(t, []string{
		"design/sam/REVIT 3 launches 2 days last " + day(1),
		"design/sam/ACAD 1 launches 1 days last " + day(1),
		"ops/cat/REVIT 1 launches 1 days last " + day(1),
	}, rows)
	require.Equal(t, []int64{5, 2, 10}, []int64{resp.GetSubscriptionLaunches(), resp.GetTokenLaunches(), resp.GetTokensCharged()},
		"subscription launches, token launches (charged and covered), tokens charged")

	design, err := acme.GetSubscriptionUsage(t.Context(), &v1.GetSubscriptionUsageRequest{TeamIds: []string{"design"},
		Range: &v1.UsageRange{FromDate: day(2), ToDate: day(2)}})
	require.NoError(t, err)
	require.Len(t, design.GetRows(), 1)
	require.Equal(t, []int64{2, 0, 0}, []int64{design.GetSubscriptionLaunches(), design.GetTokenLaunches(), design.GetTokensCharged()})

	byProduct, err := acme.GetUsageByProduct(t.Context(), &v1.GetUsageByProductRequest{TeamIds: []string{"design"}, ProductCodes: []string{"REVIT"}})
	require.NoError(t, err)
	var versions []string
	for _, p := range byProduct.GetProducts() {
		for _, v := range p.GetVersions() {
			versions = append(versions, v.GetProductVersion())
		}
	}
	require.Equal(t, []string{"2026"}, versions, "subscription launches (version 2027) are not token use")

	gl, err := globex.GetSubscriptionUsage(t.Context(), &v1.GetSubscriptionUsageRequest{TeamIds: []string{"design"}})
	require.NoError(t, err)
	require.Len(t, gl.GetRows(), 1)
	require.NotEqual(t, "gil", gl.GetRows()[0].GetUserId(), "globex sees pseudonyms")
	require.EqualValues(t, 1, gl.GetSubscriptionLaunches(), "confined to the caller's organisation")

	// Advice can be applied by its user ids only where they are real.
	adv, err := acme.AdviseLicensing(t.Context(), &v1.AdviseLicensingRequest{TeamIds: []string{"design"}})
	require.NoError(t, err)
	require.False(t, adv.GetPseudonymous())
	adv, err = globex.AdviseLicensing(t.Context(), &v1.AdviseLicensingRequest{TeamIds: []string{"design"}})
	require.NoError(t, err)
	require.True(t, adv.GetPseudonymous())
}

// startSubscriptionFixture appends launches on tokens, by subscription and
// refused, in two organisations, and returns their clients once projected
// and day(n), the date n days ago.
func startSubscriptionFixture(t *testing.T) (acme, globex v1.ReportingServiceClient, day func(int) string) {
	t.Helper()
	natsURL, _ := testkit.NATS(t)
	showPersonalData(t, natsURL, "acme")
	svc := startServiceWith(t, natsURL, func(*reporting.Config) {})
	js := logAs(t, natsURL, "admin")
	today := time.Now().UTC().Truncate(24 * time.Hour)
	ago := func(days int) time.Time { return today.AddDate(0, 0, -days).Add(time.Hour) }
	day = func(n int) string { return today.AddDate(0, 0, -n).Format(time.DateOnly) }
	sub := func(user, product string) *v1.Event {
		return &v1.Event{Payload: &v1.Event_LaunchSubscribed{LaunchSubscribed: &v1.LaunchSubscribed{UserId: user, ProductCode: product, ProductVersion: "2027"}}}
	}
	events := []struct {
		org, team string
		at        time.Time
		ev        *v1.Event
	}{
		{"acme", "design", ago(3), &v1.Event{Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{UserId: "ann", ProductCode: "REVIT",
			ProductVersion: "2026", Tokens: 10, WindowStart: timestamppb.New(ago(3)), WindowEnd: timestamppb.New(ago(2))}}}},
		{"acme", "design", ago(3), &v1.Event{Payload: &v1.Event_LaunchCovered{LaunchCovered: &v1.LaunchCovered{UserId: "ann", ProductCode: "REVIT", ProductVersion: "2026"}}}},
		{"acme", "design", ago(2), sub("sam", "REVIT")},
		{"acme", "design", ago(2), sub("sam", "REVIT")},
		{"acme", "design", ago(1), sub("sam", "REVIT")},
		{"acme", "design", ago(1), sub("sam", "ACAD")},
		{"acme", "ops", ago(1), sub("cat", "REVIT")},
		{"acme", "design", ago(0), &v1.Event{Payload: &v1.Event_LaunchDenied{LaunchDenied: &v1.LaunchDenied{UserId: "eve", ProductCode: "REVIT", TokensRequired: 10}}}},
		{"globex", "design", ago(1), sub("gil", "REVIT")},
	}
	for i, e := range events {
		e.ev.EventId, e.ev.OrgId, e.ev.TeamId, e.ev.ServerTime = fmt.Sprintf("s-%02d", i), e.org, e.team, timestamppb.New(e.at)
		_, err := eventlog.Append(t.Context(), js, eventlog.LedgerSubject(e.org, e.team), e.ev, nil)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return svc.CaughtUpTo() >= uint64(len(events)) }, 20*time.Second, 10*time.Millisecond)
	return client(t, svc.Addr(), acmeKey), client(t, svc.Addr(), globexKey), day
}

// AdviseLicensing does not tell an admin to move a user to a subscription
// they already hold: grants and revocations are projected, and a user counts
// as subscribed while their last grant of the product stands (not revoked
// for it or for every product since, not ended).
func TestAdviceSkipsUsersAlreadySubscribed(t *testing.T) {
	t.Parallel()
	natsURL, _ := testkit.NATS(t)
	showPersonalData(t, natsURL, "acme")
	svc := startServiceWith(t, natsURL, func(c *reporting.Config) {
		c.TokenPrice, c.Subscriptions, c.HeavyDaysPerYear = 1, "REVIT=1:Revit named user", 2
	})
	js := logAs(t, natsURL, "admin")
	now := time.Now().UTC()
	lastMonth := time.Date(now.Year(), now.Month(), 1, 9, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	grant := func(user string, ends time.Time, products ...string) *v1.Event {
		g := &v1.SubscriptionGranted{UserId: user, ProductCodes: products}
		if !ends.IsZero() {
			g.EndsAt = timestamppb.New(ends)
		}
		return &v1.Event{Payload: &v1.Event_SubscriptionGranted{SubscriptionGranted: g}}
	}
	revoke := func(user string, products ...string) *v1.Event {
		return &v1.Event{Payload: &v1.Event_SubscriptionRevoked{SubscriptionRevoked: &v1.SubscriptionRevoked{UserId: user, ProductCodes: products}}}
	}
	type event struct {
		team string
		ev   *v1.Event
	}
	var events []event
	for _, u := range []string{"hal", "sam", "rev", "all", "old", "two"} {
		for d := range 3 {
			at := lastMonth.AddDate(0, 0, d)
			events = append(events, event{"design", &v1.Event{Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{
				UserId: u, ProductCode: "REVIT", Tokens: 10, WindowStart: timestamppb.New(at), WindowEnd: timestamppb.New(at.Add(time.Hour))}}}})
		}
	}
	events = append(events,
		event{"design", grant("sam", time.Time{}, "REVIT")},
		event{"ops", grant("hal", time.Time{}, "REVIT")}, // another team's subscription
		event{"design", grant("rev", time.Time{}, "REVIT", "ACAD")},
		event{"design", revoke("rev", "REVIT")},
		event{"design", grant("all", time.Time{}, "REVIT", "ACAD")},
		event{"design", revoke("all")},
		event{"design", grant("old", now.Add(-time.Hour), "REVIT")},
		event{"design", grant("two", time.Time{}, "REVIT")},
		event{"design", revoke("two")},
		event{"design", grant("two", now.Add(24*time.Hour), "REVIT")},
	)
	for i, e := range events {
		e.ev.EventId, e.ev.OrgId, e.ev.TeamId, e.ev.ServerTime = fmt.Sprintf("a-%02d", i), "acme", e.team, timestamppb.New(lastMonth)
		_, err := eventlog.Append(t.Context(), js, eventlog.LedgerSubject("acme", e.team), e.ev, nil)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return svc.CaughtUpTo() >= uint64(len(events)) }, 20*time.Second, 10*time.Millisecond)

	resp, err := client(t, svc.Addr(), acmeKey).AdviseLicensing(t.Context(), &v1.AdviseLicensingRequest{TeamIds: []string{"design"}})
	require.NoError(t, err)
	var moves []string
	for _, a := range resp.GetAdvice() {
		require.Equal(t, v1.Recommendation_RECOMMENDATION_MOVE_TO_SUBSCRIPTION, a.GetAction(), a.GetUserId())
		moves = append(moves, a.GetUserId())
	}
	require.ElementsMatch(t, []string{"hal", "rev", "all", "old"}, moves, "sam and two hold the subscription")
	require.EqualValues(t, 4, resp.GetUsersToMove())
}
