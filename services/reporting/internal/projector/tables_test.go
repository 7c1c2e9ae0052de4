package projector_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/projector"
)

// Every projection maps the events it holds to one value per column, and
// skips the others.
func TestProjectionsMapTheirEvents(t *testing.T) {
	t.Parallel()
	at := timestamppb.New(time.Date(2025, 3, 31, 23, 0, 0, 0, time.UTC))
	events := []*v1.Event{
		{Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{UserId: "u", Tokens: 7}}},
		{Payload: &v1.Event_LaunchCovered{LaunchCovered: &v1.LaunchCovered{UserId: "u"}}},
		{Payload: &v1.Event_LaunchDenied{LaunchDenied: &v1.LaunchDenied{UserId: "u", Reason: v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS}}},
		{Payload: &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: "p", Tokens: 100}}},
		{Payload: &v1.Event_TokensAdjusted{TokensAdjusted: &v1.TokensAdjusted{Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_MOVE_OUT, Tokens: 5}}},
		{Payload: &v1.Event_PackExpired{PackExpired: &v1.PackExpired{PackId: "p", TokensLost: 3}}},
		{Payload: &v1.Event_PoolSuspended{PoolSuspended: &v1.PoolSuspended{TokensMoved: 9}}},
		{Payload: &v1.Event_UserAssigned{UserAssigned: &v1.UserAssigned{UserId: "u"}}},
		{Payload: &v1.Event_UserUnassigned{UserUnassigned: &v1.UserUnassigned{UserId: "u"}}},
		{Payload: &v1.Event_ProductRateSet{ProductRateSet: &v1.ProductRateSet{ProductCode: "REVIT", DailyRate: 10}}},
		{Payload: &v1.Event_LaunchReceived{LaunchReceived: &v1.LaunchReceived{UserId: "u"}}},
		{Payload: &v1.Event_HeartbeatReceived{HeartbeatReceived: &v1.HeartbeatReceived{UserId: "u", Active: true}}},
		{Payload: &v1.Event_SessionEnded{SessionEnded: &v1.SessionEnded{UserId: "u"}}},
		{Payload: &v1.Event_BudgetSet{BudgetSet: &v1.BudgetSet{Budget: &v1.Budget{BudgetId: "b"}}}},
		{Payload: &v1.Event_BudgetCrossed{BudgetCrossed: &v1.BudgetCrossed{BudgetId: "b", PeriodStart: "2025-03-01"}}},
		{Payload: &v1.Event_LaunchReceived{LaunchReceived: &v1.LaunchReceived{UserId: "u", Decision: v1.Decision_DECISION_DENIED}}},
		{Payload: &v1.Event_CapacitySet{CapacitySet: &v1.CapacitySet{ProductCode: "API", Units: 10, EndsAt: at}}},
		{Payload: &v1.Event_CapacityUsed{CapacityUsed: &v1.CapacityUsed{ProductCode: "API", Units: 2, UserId: "u"}}},
		{Payload: &v1.Event_CapacityReturned{CapacityReturned: &v1.CapacityReturned{ProductCode: "API", Units: 2}}},
		{Payload: &v1.Event_UserGroupSet{UserGroupSet: &v1.UserGroupSet{GroupId: "g", Name: "G", ProductCodes: []string{"ACAD"}}}},
		{Payload: &v1.Event_UserGroupMembersChanged{UserGroupMembersChanged: &v1.UserGroupMembersChanged{GroupId: "g", AddedUserIds: []string{"u"}}}},
		{Payload: &v1.Event_UserGroupDeleted{UserGroupDeleted: &v1.UserGroupDeleted{GroupId: "g"}}},
		{Payload: &v1.Event_SubscriptionGranted{SubscriptionGranted: &v1.SubscriptionGranted{UserId: "u", ProductCodes: []string{"REVIT"}, EndsAt: at}}},
		{Payload: &v1.Event_SubscriptionRevoked{SubscriptionRevoked: &v1.SubscriptionRevoked{UserId: "u"}}},
	}
	want := map[string]int{"charges_v2": 1, "launches_v2": 3, "pool_events_v2": 4, "assignments_v2": 2, "products": 1, "usage_events": 4,
		"budget_events_v2": 2, "sessions_v2": 3, "capacity_events": 3, "user_group_events": 3, "subscription_events": 2}
	for _, p := range projector.Projections() {
		n := 0
		for i, ev := range events {
			ev.ServerTime, ev.OrgId, ev.TeamId = at, "acme", "design"
			rec, ok := p.Map(uint64(i+1), ev)
			if !ok {
				continue
			}
			n++
			require.Len(t, rec.Values(), len(p.Columns), "%s: %s", p.Table, eventlog.TypeOf(ev))
			require.Equal(t, uint64(i+1), rec.Sequence())
			require.Equal(t, 202503, rec.Partition())
		}
		require.Equal(t, want[p.Table], n, p.Table)
	}
}

// Every LEDGER table survives crashes between its INSERT and the point the
// projector learns of it: each resumes after its own max(seq).
func TestEveryLedgerTableCrashAfterInsertDoesNotDoubleCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, charges := e.publish(t, "acme", "design", 45, 10)
	packs := 45 - charges
	for _, p := range projector.Projections() {
		if p.Stream != eventlog.LedgerStream {
			continue
		}
		sink := &crashingSink{Sink: projector.NewClickHouseSink(e.ch, p, subject.Unpartitioned), t: t}
		sink.failAfter.Store(2)
		sink.failBefore.Store(1)
		proj, err := projector.New(e.js, p, sink, e.log, projector.Options{BatchSize: 4, FlushInterval: 10 * time.Millisecond, RetryDelay: 5 * time.Millisecond})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- proj.Run(ctx) }()
		require.Eventually(t, func() bool { return proj.CaughtUpTo() >= e.last }, 10*time.Second, 5*time.Millisecond, p.Table)
		cancel()
		require.NoError(t, <-done)
	}
	count := func(table string) (rows, seqs uint64) {
		require.NoError(t, e.ch.QueryRow(t.Context(), "SELECT count(), uniqExact(seq) FROM "+table).Scan(&rows, &seqs))
		return rows, seqs
	}
	for table, want := range map[string]int{"charges_v2": charges, "launches_v2": charges, "pool_events_v2": packs, "assignments_v2": 0, "products": 0, "budget_events_v2": 0} {
		rows, seqs := count(table)
		require.Equal(t, uint64(want), rows, table)
		require.Equal(t, rows, seqs, "%s: no sequence twice", table)
	}
}

// One reader for every LEDGER table: each table fails on its own (before or
// after its INSERT lands), the run restarts from each table's own max(seq),
// and every table ends with each of its rows exactly once.
func TestStreamProjectorCrashesPerTableDoNotDoubleCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, charges := e.publish(t, "acme", "design", 45, 10)
	packs := 45 - charges
	var tables []projector.Table
	for i, p := range projector.Projections() {
		if p.Stream != eventlog.LedgerStream {
			continue
		}
		sink := &crashingSink{Sink: projector.NewClickHouseSink(e.ch, p, subject.Unpartitioned), t: t}
		sink.failAfter.Store(int32(i % 3))
		sink.failBefore.Store(int32(i % 2))
		tables = append(tables, projector.Table{Projection: p, Sink: sink})
	}
	proj, err := projector.NewStream(e.js, eventlog.LedgerStream, tables, e.log,
		projector.Options{BatchSize: 4, FlushInterval: 10 * time.Millisecond, RetryDelay: 5 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- proj.Run(ctx) }()
	require.Eventually(t, func() bool { return proj.CaughtUpTo() >= e.last }, 10*time.Second, 5*time.Millisecond)
	// Live events after the crashes are projected too.
	_, more := e.publish(t, "acme", "design", 9, 10)
	require.Eventually(t, func() bool { return proj.CaughtUpTo() >= e.last }, 10*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	charges += more
	packs += 9 - more
	for table, want := range map[string]int{"charges_v2": charges, "launches_v2": charges, "pool_events_v2": packs} {
		var rows, seqs uint64
		require.NoError(t, e.ch.QueryRow(t.Context(), "SELECT count(), uniqExact(seq) FROM "+table).Scan(&rows, &seqs))
		require.Equal(t, uint64(want), rows, table)
		require.Equal(t, rows, seqs, "%s: no sequence twice", table)
	}
}
