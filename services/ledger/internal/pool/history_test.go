package pool

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// historyEvents holds one event of every payload kind a pool's history
// holds, with the tokens and words its transaction must show.
func historyEvents() []struct {
	ev     *v1.Event
	tokens int64
	detail string
} {
	env := func(ev *v1.Event) *v1.Event {
		ev.EventId, ev.ServerTime, ev.Actor = "e1", timestamppb.New(t0), &v1.Actor{Kind: "admin", Id: "k1"}
		return ev
	}
	type row = struct {
		ev     *v1.Event
		tokens int64
		detail string
	}
	return []row{
		{env(&v1.Event{Payload: &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: "p1", Tokens: 100}}}), 100, ""},
		{env(&v1.Event{Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{UserId: "ann", Tokens: 10}}}), -10, ""},
		{env(&v1.Event{Payload: &v1.Event_TokensAdjusted{TokensAdjusted: &v1.TokensAdjusted{Tokens: 5, Reason: "refund"}}}), -5, ""},
		{env(&v1.Event{Payload: &v1.Event_PackExpired{PackExpired: &v1.PackExpired{PackId: "p1", TokensLost: 7}}}), -7, ""},
		{env(&v1.Event{Payload: &v1.Event_PoolSuspended{PoolSuspended: &v1.PoolSuspended{MergedIntoTeamId: "civil", TokensMoved: 40}}}), -40, "merged into civil and suspended"},
		{env(&v1.Event{Payload: &v1.Event_LaunchDenied{LaunchDenied: &v1.LaunchDenied{Reason: v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS, TokensRequired: 10}}}), 0, "refused: not enough tokens (10 tokens needed)"},
		{env(&v1.Event{Payload: &v1.Event_LaunchCovered{LaunchCovered: &v1.LaunchCovered{WindowEnd: timestamppb.New(t0)}}}), 0, "covered by the open window until 2026-01-05T09:00:00Z"},
		{env(&v1.Event{Payload: &v1.Event_UserAssigned{UserAssigned: &v1.UserAssigned{UserId: "ann", ProductCodes: []string{"ACAD", "REVIT"}}}}), 0, "assigned to ACAD, REVIT"},
		{env(&v1.Event{Payload: &v1.Event_UserUnassigned{UserUnassigned: &v1.UserUnassigned{UserId: "ann"}}}), 0, "unassigned from every product"},
		{env(&v1.Event{Payload: &v1.Event_BudgetSet{BudgetSet: &v1.BudgetSet{Budget: &v1.Budget{BudgetId: "b1", Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "ann",
			LimitTokens: 50, Period: v1.BudgetPeriod_BUDGET_PERIOD_MONTH, Hard: true}}}}), 0, "budget b1: user ann, 50 tokens a month, hard cap"},
		{env(&v1.Event{Payload: &v1.Event_BudgetCrossed{BudgetCrossed: &v1.BudgetCrossed{BudgetId: "b1", Spent: 52, LimitTokens: 50, PeriodStart: "2026-01-01"}}}), 0,
			"budget b1 reached: 52 of 50 tokens spent in the period from 2026-01-01"},
		{env(&v1.Event{Payload: &v1.Event_CapacitySet{CapacitySet: &v1.CapacitySet{ProductCode: "SEATS", Kind: v1.CapacityKind_CAPACITY_KIND_RETURNABLE, Units: 5}}}), 0, "5 returnable units"},
		{env(&v1.Event{Payload: &v1.Event_CapacityUsed{CapacityUsed: &v1.CapacityUsed{ProductCode: "SEATS", Units: 2, CheckoutId: "c1",
			Capacity: &v1.CapacityFigures{Total: 5, Available: 3}}}}), 0, "2 units used, 3 of 5 left (checkout c1)"},
		{env(&v1.Event{Payload: &v1.Event_CapacityReturned{CapacityReturned: &v1.CapacityReturned{ProductCode: "SEATS", Units: 2, CheckoutId: "c1",
			Capacity: &v1.CapacityFigures{Total: 5, Available: 5}}}}), 0, "2 units returned (checkout c1), 5 of 5 left"},
		{env(&v1.Event{Payload: &v1.Event_ProductRateSet{ProductRateSet: &v1.ProductRateSet{ProductCode: "REVIT", Name: "Revit", DailyRate: 10, EffectiveFrom: timestamppb.New(t0)}}}), 0,
			`daily rate 10 tokens from 2026-01-05T09:00:00Z (name "Revit", group "")`},
		{env(&v1.Event{Payload: &v1.Event_SubscriptionGranted{SubscriptionGranted: &v1.SubscriptionGranted{UserId: "sam", ProductCodes: []string{"REVIT"}, EndsAt: timestamppb.New(t0)}}}), 0,
			"named subscription for REVIT until 2026-01-05T09:00:00Z"},
		{env(&v1.Event{Payload: &v1.Event_SubscriptionRevoked{SubscriptionRevoked: &v1.SubscriptionRevoked{UserId: "sam"}}}), 0, "named subscription revoked for every product"},
		{env(&v1.Event{Payload: &v1.Event_LaunchSubscribed{LaunchSubscribed: &v1.LaunchSubscribed{UserId: "sam", ProductCode: "REVIT"}}}), 0,
			"authorized by the user's named subscription: no tokens"},
		{env(&v1.Event{Payload: &v1.Event_PersonalDataSet{PersonalDataSet: &v1.PersonalDataSet{Show: false, Reason: "policy"}}}), 0,
			"people shown as keyed pseudonyms"},
		{env(&v1.Event{Payload: &v1.Event_UserErased{UserErased: &v1.UserErased{UserId: "ann", Reason: "leaver"}}}), 0,
			"personal data erased: profile key deleted, user shown by pseudonym only"},
		{env(&v1.Event{Payload: &v1.Event_UserGroupSet{UserGroupSet: &v1.UserGroupSet{GroupId: "drafters", Name: "Drafters", ProductCodes: []string{"ACAD"}}}}), 0,
			`user group drafters ("Drafters") opens ACAD`},
		{env(&v1.Event{Payload: &v1.Event_UserGroupMembersChanged{UserGroupMembersChanged: &v1.UserGroupMembersChanged{GroupId: "drafters", AddedUserIds: []string{"ann", "bob"}}}}), 0,
			"user group drafters: 2 added, 0 removed"},
		{env(&v1.Event{Payload: &v1.Event_UserGroupDeleted{UserGroupDeleted: &v1.UserGroupDeleted{GroupId: "drafters"}}}), 0, "user group drafters deleted"},
		{env(&v1.Event{Payload: &v1.Event_TimeZoneSet{TimeZoneSet: &v1.TimeZoneSet{Zone: "Pacific/Auckland"}}}), 0,
			"report days are dates in Pacific/Auckland"},
	}
}

// Every payload kind of a pool's history becomes a transaction named as the
// log names it, with its actor, signed tokens and words.
func TestTransactionOfEveryHistoryType(t *testing.T) {
	var seen []string
	for _, c := range historyEvents() {
		tx, ok := Transaction(c.ev)
		require.True(t, ok, "%T", c.ev.GetPayload())
		require.Equal(t, eventlog.TypeOf(c.ev), tx.GetType())
		require.True(t, IsHistoryType(tx.GetType()))
		require.Equal(t, c.tokens, tx.GetTokens(), tx.GetType())
		require.Equal(t, c.detail, tx.GetDetail(), tx.GetType())
		require.Equal(t, "admin:k1", tx.GetActor())
		require.Equal(t, t0, tx.GetAt().AsTime())
		seen = append(seen, tx.GetType())
	}
	slices.Sort(seen)
	want := slices.Clone(HistoryTypes)
	slices.Sort(want)
	require.Equal(t, want, seen, "HistoryTypes is exactly the kinds Transaction lists")

	for _, ev := range []*v1.Event{{}, {Payload: &v1.Event_LaunchReceived{LaunchReceived: &v1.LaunchReceived{}}}, {Payload: &v1.Event_Alert{Alert: &v1.Alert{}}}} {
		_, ok := Transaction(ev)
		require.False(t, ok, "%T is no pool history", ev.GetPayload())
	}
	require.False(t, IsHistoryType("alert"))
}

// FuzzTransaction: any decodable event either is no history or becomes a
// transaction of a known type named as the log names it.
func FuzzTransaction(f *testing.F) {
	for _, c := range historyEvents() {
		b, err := proto.Marshal(c.ev)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev v1.Event
		if proto.Unmarshal(b, &ev) != nil {
			return
		}
		tx, ok := Transaction(&ev)
		if !ok {
			return
		}
		if !IsHistoryType(tx.GetType()) || tx.GetType() != eventlog.TypeOf(&ev) {
			t.Fatalf("type %q of a %q event", tx.GetType(), eventlog.TypeOf(&ev))
		}
	})
}
