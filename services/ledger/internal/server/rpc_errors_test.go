package server

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/store"
)

// The errors ledger.proto lists for an RPC are the ones it returns: each
// case provokes one listed code (and, for InvalidArgument, the field named).
func TestRPCErrorsAreTheListedOnes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url, _ := testkit.NATS(t)
	nc, js, err := eventlog.Connect(ctx, testkit.Client(t, url, "ledger"), "rpc-errors-test", slog.New(slog.DiscardHandler),
		eventlog.Streams{Options: eventlog.StreamOptions{Replicas: 1}, Own: []string{eventlog.LedgerStream}})
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	l := &Ledger{JS: js, Store: store.New(js, slog.New(slog.DiscardHandler)), Now: time.Now}
	admin := auth.WithPrincipal(ctx, auth.Principal{KeyID: "k", Org: "acme", Role: auth.RoleAdmin})
	pack := func(event, team, id string) error {
		_, err := l.AddPack(admin, &v1.AddPackRequest{EventId: event, TeamId: team, PackId: id, Tokens: 100,
			Source: v1.PackSource_PACK_SOURCE_PURCHASE})
		return err
	}
	require.NoError(t, pack("pack-event-1", "design", "p1"))
	require.NoError(t, pack("pack-event-2", "old", "p2"))
	_, err = l.MergeTeams(admin, &v1.MergeTeamsRequest{EventId: "merge-event-1", FromTeamId: "old", IntoTeamId: "design"})
	require.NoError(t, err)

	for _, tt := range []struct {
		rpc   string
		call  func() error
		code  codes.Code
		field string
	}{
		{"AddPack", func() error { return pack("pack-event-3", "design", "p1") }, codes.AlreadyExists, ""},
		{"AddPack", func() error { return pack("pack-event-4", "old", "p4") }, codes.FailedPrecondition, ""},
		{"AdjustBalance", func() error {
			_, err := l.AdjustBalance(admin, &v1.AdjustBalanceRequest{EventId: "adj-event-1", TeamId: "design", Tokens: 10_000,
				Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE, Reason: "audit"})
			return err
		}, codes.FailedPrecondition, ""},
		{"AdjustBalance", func() error {
			_, err := l.AdjustBalance(admin, &v1.AdjustBalanceRequest{EventId: "adj-event-2", TeamId: "design", Tokens: 1})
			return err
		}, codes.InvalidArgument, "reason"},
		{"UnassignUser", func() error {
			_, err := l.UnassignUser(admin, &v1.UnassignUserRequest{EventId: "un-event-1", TeamId: "design", UserId: "nobody"})
			return err
		}, codes.NotFound, ""},
		{"MergeTeams", func() error {
			_, err := l.MergeTeams(admin, &v1.MergeTeamsRequest{EventId: "merge-event-2", FromTeamId: "design", IntoTeamId: "old"})
			return err
		}, codes.FailedPrecondition, ""},
		{"SetBudget", func() error {
			_, err := l.SetBudget(admin, &v1.SetBudgetRequest{EventId: "b-event-1", TeamId: "design", Budget: &v1.Budget{
				BudgetId: "gone", Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "ann", Period: v1.BudgetPeriod_BUDGET_PERIOD_MONTH,
				LimitTokens: 10, Deleted: true}})
			return err
		}, codes.NotFound, ""},
		{"UseCapacity", func() error {
			_, err := l.UseCapacity(admin, &v1.UseCapacityRequest{EventId: "use-event-1", TeamId: "design", ProductCode: "API", UserId: "ann", Units: 1})
			return err
		}, codes.NotFound, ""},
		{"ReturnCapacity", func() error {
			_, err := l.ReturnCapacity(admin, &v1.ReturnCapacityRequest{EventId: "ret-event-1", TeamId: "design", ProductCode: "SEAT", CheckoutId: "use-event-0"})
			return err
		}, codes.NotFound, ""},
		{"GrantSubscription", func() error {
			_, err := l.GrantSubscription(admin, &v1.GrantSubscriptionRequest{EventId: "g-event-1", TeamId: "design", UserId: "ann"})
			return err
		}, codes.InvalidArgument, "product_codes"},
		{"GrantSubscription", func() error {
			_, err := l.GrantSubscription(admin, &v1.GrantSubscriptionRequest{EventId: "g-event-2", TeamId: "old", UserId: "ann", ProductCodes: []string{"REVIT"}})
			return err
		}, codes.FailedPrecondition, ""},
		{"RevokeSubscription", func() error {
			_, err := l.RevokeSubscription(admin, &v1.RevokeSubscriptionRequest{EventId: "r-event-1", TeamId: "design", UserId: "ann"})
			return err
		}, codes.NotFound, ""},
		{"AuthorizeBatch", func() error {
			_, err := l.AuthorizeBatch(admin, &v1.AuthorizeBatchRequest{Launches: make([]*v1.AuthorizeRequest, MaxAuthorizeBatch+1)})
			return err
		}, codes.InvalidArgument, "launches"},
		{"PlanAssignments", func() error {
			_, err := l.PlanAssignments(admin, &v1.PlanAssignmentsRequest{})
			return err
		}, codes.InvalidArgument, "rows"},
	} {
		err := tt.call()
		st := status.Convert(err)
		require.Equal(t, tt.code, st.Code(), "%s: %v", tt.rpc, err)
		if tt.field == "" {
			continue
		}
		var fields []string
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					fields = append(fields, v.GetField())
				}
			}
		}
		require.Contains(t, fields, tt.field, "%s: %v", tt.rpc, err)
	}
}
