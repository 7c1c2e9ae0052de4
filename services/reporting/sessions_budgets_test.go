package reporting_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Sessions come from the USAGE stream and budgets from the LEDGER stream;
// the by-user report shows each user's active and idle time, the summary
// each budget's spending in its current period, each confined to its
// organisation.
func TestSessionsAndBudgets(t *testing.T) {
	t.Parallel()
	natsURL, _ := testkit.NATS(t)
	showPersonalData(t, natsURL, "acme")
	svc := startServiceWith(t, natsURL, nil)
	js := logAs(t, natsURL, "admin")

	t0 := time.Now().UTC().Truncate(24 * time.Hour).Add(time.Minute)
	at := func(min int) *timestamppb.Timestamp { return timestamppb.New(t0.Add(time.Duration(min) * time.Minute)) }
	n := 0
	appendTo := func(subject func(org, team string) string, org string, min int, ev *v1.Event) uint64 {
		n++
		ev.EventId, ev.OrgId, ev.TeamId, ev.ServerTime = "ev-"+org+"-"+time.Duration(n).String(), org, "design", at(min)
		ack, err := eventlog.Append(t.Context(), js, subject(org, "design"), ev, nil)
		require.NoError(t, err)
		return ack.Sequence
	}
	ledger := func(org string, min int, ev *v1.Event) uint64 { return appendTo(eventlog.LedgerSubject, org, min, ev) }
	usage := func(org string, min int, ev *v1.Event) uint64 { return appendTo(eventlog.UsageSubject, org, min, ev) }
	charged := func(user, product, group, project string, tokens int64) *v1.Event {
		return &v1.Event{Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{
			UserId: user, ProductCode: product, ProductGroup: group, Tokens: tokens, WindowId: "w-" + user,
			Attributes: map[string]string{"project": project}}}}
	}
	budget := func(b *v1.Budget) *v1.Event {
		return &v1.Event{Payload: &v1.Event_BudgetSet{BudgetSet: &v1.BudgetSet{Budget: b}}}
	}
	month := v1.BudgetPeriod_BUDGET_PERIOD_MONTH
	periodStart := time.Date(t0.Year(), t0.Month(), 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)

	var lastLedger, lastUsage uint64
	for _, org := range []string{"acme", "globex"} {
		ledger(org, 0, budget(&v1.Budget{BudgetId: "proj", Scope: v1.BudgetScope_BUDGET_SCOPE_ATTRIBUTE, AttributeKey: "project", Key: "P1",
			LimitTokens: 100, Period: month}))
		ledger(org, 0, budget(&v1.Budget{BudgetId: "gone", Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "bob", LimitTokens: 5, Period: month}))
		ledger(org, 1, charged("ann", "REVIT", "AEC", "P1", 10)) // before ann's budget: it does not count there
		ledger(org, 2, budget(&v1.Budget{BudgetId: "ann", Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "ann", LimitTokens: 15,
			Period: month, Hard: true}))
		ledger(org, 3, charged("ann", "ACAD", "AutoCAD", "P2", 7))
		ledger(org, 4, charged("bob", "ACAD", "AutoCAD", "P1", 7))
		ledger(org, 5, budget(&v1.Budget{BudgetId: "gone", Deleted: true}))
		ledger(org, 6, budget(&v1.Budget{BudgetId: "group", Scope: v1.BudgetScope_BUDGET_SCOPE_GROUP, Key: "AutoCAD", LimitTokens: 14,
			Period: v1.BudgetPeriod_BUDGET_PERIOD_DAY}))
		ledger(org, 7, charged("ann", "ACAD", "AutoCAD", "P2", 7))
		lastLedger = ledger(org, 7, &v1.Event{Payload: &v1.Event_BudgetCrossed{BudgetCrossed: &v1.BudgetCrossed{
			BudgetId: "ann", PeriodStart: periodStart, Spent: 14, LimitTokens: 15, Hard: true}}})

		launch := func(device string, decision v1.Decision) *v1.Event {
			return &v1.Event{Payload: &v1.Event_LaunchReceived{LaunchReceived: &v1.LaunchReceived{
				UserId: "ann", ProductCode: "REVIT", DeviceId: device, WindowId: "w-ann", Decision: decision}}}
		}
		beat := func(active bool) *v1.Event {
			return &v1.Event{Payload: &v1.Event_HeartbeatReceived{HeartbeatReceived: &v1.HeartbeatReceived{
				UserId: "ann", ProductCode: "REVIT", DeviceId: "pc-1", WindowId: "w-ann", Active: active}}}
		}
		usage(org, 1, launch("pc-1", v1.Decision_DECISION_AUTHORIZED))
		usage(org, 6, beat(true))                                                                // 5 min active
		usage(org, 11, beat(false))                                                              // 5 min idle
		usage(org, 31, beat(true))                                                               // 20 min, capped at 15, active
		usage(org, 33, &v1.Event{Payload: &v1.Event_SessionEnded{SessionEnded: &v1.SessionEnded{ // 2 min, as before: active
			UserId: "ann", ProductCode: "REVIT", DeviceId: "pc-1", WindowId: "w-ann"}}})
		usage(org, 40, launch("pc-2", v1.Decision_DECISION_AUTHORIZED)) // left open
		lastUsage = usage(org, 41, launch("pc-3", v1.Decision_DECISION_DENIED))
	}
	require.Eventually(t, func() bool { return svc.CaughtUpTo() >= lastLedger && svc.UsageCaughtUpTo() >= lastUsage },
		10*time.Second, 10*time.Millisecond)

	c := client(t, svc.Addr(), acmeKey)
	byUser, err := c.GetUsageByUser(t.Context(), &v1.GetUsageByUserRequest{TeamIds: []string{"design"}, SortBy: v1.SortBy_SORT_BY_NAME})
	require.NoError(t, err)
	require.Len(t, byUser.GetUsers(), 2)
	ann, bob := byUser.GetUsers()[0], byUser.GetUsers()[1]
	require.Equal(t, "ann", ann.GetUserId())
	require.Equal(t, int64(2), ann.GetSessions())
	require.Equal(t, int64(1), ann.GetOpenSessions())
	require.Equal(t, int64((5+15+2)*60), ann.GetActiveSeconds())
	require.Equal(t, int64(5*60), ann.GetIdleSeconds())
	require.True(t, t0.Add(time.Minute).Equal(ann.GetFirstSessionAt().AsTime()))
	require.True(t, t0.Add(40*time.Minute).Equal(ann.GetLastSessionAt().AsTime()))
	require.Zero(t, bob.GetSessions())

	sum, err := c.GetUsageSummary(t.Context(), &v1.GetUsageSummaryRequest{TeamIds: []string{"design"}})
	require.NoError(t, err)
	type spend struct {
		spent   int64
		crossed bool
	}
	got := map[string]spend{}
	for _, b := range sum.GetBudgets() {
		require.Equal(t, "design", b.GetTeamId())
		got[b.GetBudget().GetBudgetId()] = spend{b.GetSpent(), b.GetCrossed()}
		if b.GetBudget().GetBudgetId() == "ann" {
			require.Equal(t, periodStart, b.GetPeriodStart())
			require.True(t, b.GetBudget().GetHard())
			require.Equal(t, v1.BudgetScope_BUDGET_SCOPE_USER, b.GetBudget().GetScope())
			require.InDelta(t, 93.33, b.GetPercent(), 0.01)
		}
	}
	require.Equal(t, map[string]spend{
		"ann":   {14, true},  // the two ACAD charges after it was set
		"proj":  {17, false}, // ann's REVIT and bob's ACAD on P1
		"group": {7, false},  // AutoCAD after it was set
	}, got)
}
