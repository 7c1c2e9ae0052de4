package ledger_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Moves, merges, budgets and renewal through the gRPC contract.
func TestAdminAndRenewalThroughGRPC(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	r := startReplica(t, natsURL, "solo")
	admin := client(t, r.svc.Addr(), adminKey)
	svc := client(t, r.svc.Addr(), serviceKey)
	acme := auth.ActingFor(ctx, "acme")

	_, err := admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: uuid.NewString(), ProductCode: "REVIT", DailyRate: 10, Group: "Revit"})
	require.NoError(t, err)
	for _, team := range []string{"design", "civil"} {
		_, err := admin.AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: team, PackId: "p1", Tokens: 100})
		require.NoError(t, err)
		_, err = admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: uuid.NewString(), TeamId: team, UserId: "ann", ProductCodes: []string{"*"}})
		require.NoError(t, err)
	}

	t.Run("move keeps both sides whole and a retry adds nothing", func(t *testing.T) {
		req := &v1.AdjustBalanceRequest{EventId: "move-0001", TeamId: "design", Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_MOVE_OUT,
			Tokens: 30, Reason: "rebalance", CounterpartyTeamId: "civil"}
		for i := 0; i < 2; i++ {
			resp, err := admin.AdjustBalance(ctx, req)
			require.NoError(t, err)
			require.EqualValues(t, 70, resp.GetBalance().GetAvailable())
		}
		civil, err := admin.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: "civil"})
		require.NoError(t, err)
		require.EqualValues(t, 130, civil.GetBalance().GetAvailable())
	})

	t.Run("renewal at the 24-hour mark", func(t *testing.T) {
		start := time.Now().UTC()
		launch, err := svc.Authorize(acme, &v1.AuthorizeRequest{
			Launch:     &v1.LaunchRequest{EventId: "launch-0001", TeamId: "design", UserId: "ann", ProductCode: "REVIT"},
			ReceivedAt: timestamppb.New(start)})
		require.NoError(t, err)
		require.EqualValues(t, 10, launch.GetResult().GetTokensCharged())
		hb, err := svc.RecordHeartbeat(acme, &v1.RecordHeartbeatRequest{
			Heartbeat:  &v1.HeartbeatRequest{EventId: "heartbeat-0001", TeamId: "design", UserId: "ann", ProductCode: "REVIT", Active: true},
			ReceivedAt: timestamppb.New(start.Add(24*time.Hour + 2*time.Minute))})
		require.NoError(t, err)
		require.True(t, hb.GetResult().GetKeepRunning())
		require.EqualValues(t, 10, hb.GetResult().GetTokensCharged())
		require.Equal(t, start.Add(48*time.Hour).Unix(), hb.GetResult().GetWindowEndsAt().AsTime().Unix(), "the new window starts at the mark")
	})

	t.Run("event id reused for another product", func(t *testing.T) {
		_, err := svc.Authorize(acme, &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{EventId: "launch-0001", TeamId: "design", UserId: "ann", ProductCode: "ACAD"}})
		require.Equal(t, codes.AlreadyExists, status.Code(err))
	})

	t.Run("hard budget", func(t *testing.T) {
		_, err := admin.SetBudget(ctx, &v1.SetBudgetRequest{EventId: uuid.NewString(), TeamId: "civil", Budget: &v1.Budget{BudgetId: "ann-day",
			Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "ann", LimitTokens: 5, Period: v1.BudgetPeriod_BUDGET_PERIOD_DAY, Hard: true}})
		require.NoError(t, err)
		resp, err := svc.Authorize(acme, &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{EventId: "launch-0002", TeamId: "civil", UserId: "ann", ProductCode: "REVIT"}})
		require.NoError(t, err)
		require.Equal(t, v1.DenyReason_DENY_REASON_BUDGET_EXCEEDED, resp.GetResult().GetDenyReason())
		list, err := admin.ListBudgets(ctx, &v1.ListBudgetsRequest{TeamId: "civil"})
		require.NoError(t, err)
		require.Len(t, list.GetBudgets(), 1)
		_, err = admin.SetBudget(ctx, &v1.SetBudgetRequest{EventId: uuid.NewString(), TeamId: "civil", Budget: &v1.Budget{BudgetId: "bad", Scope: v1.BudgetScope_BUDGET_SCOPE_USER}})
		require.Equal(t, codes.InvalidArgument, status.Code(err))
	})

	t.Run("capacity products", func(t *testing.T) {
		_, err := admin.SetCapacity(ctx, &v1.SetCapacityRequest{EventId: uuid.NewString(), TeamId: "civil", ProductCode: "SEATS", Kind: v1.CapacityKind_CAPACITY_KIND_RETURNABLE, Units: 5})
		require.NoError(t, err)
		use := &v1.UseCapacityRequest{EventId: "seat-0001", TeamId: "civil", ProductCode: "SEATS", Units: 4, UserId: "ann"}
		for i := 0; i < 2; i++ { // a retry uses nothing more
			resp, err := admin.UseCapacity(acme, use)
			require.NoError(t, err)
			require.Equal(t, "seat-0001", resp.GetCheckoutId())
			require.EqualValues(t, 1, resp.GetCapacity().GetAvailable())
			require.True(t, resp.GetCapacity().GetStatusRed(), "1 of 5 left")
		}
		_, err = admin.UseCapacity(acme, &v1.UseCapacityRequest{EventId: "seat-0002", TeamId: "civil", ProductCode: "SEATS", Units: 2, UserId: "bob"})
		require.Equal(t, codes.FailedPrecondition, status.Code(err))
		back, err := admin.ReturnCapacity(acme, &v1.ReturnCapacityRequest{EventId: uuid.NewString(), TeamId: "civil", ProductCode: "SEATS", CheckoutId: "seat-0001"})
		require.NoError(t, err)
		require.EqualValues(t, 5, back.GetCapacity().GetAvailable())
		b, err := admin.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: "civil"})
		require.NoError(t, err)
		require.Len(t, b.GetBalance().GetCapacities(), 1, "the balance card lists capacity products")
	})

	t.Run("merge moves tokens and users and suspends", func(t *testing.T) {
		resp, err := admin.MergeTeams(ctx, &v1.MergeTeamsRequest{EventId: "merge-0001", FromTeamId: "design", IntoTeamId: "civil", Reason: "reorg"})
		require.NoError(t, err)
		require.EqualValues(t, 50, resp.GetTokensMoved(), "100 - 30 moved - a launch and a renewal")
		require.EqualValues(t, 180, resp.GetInto().GetAvailable())
		denied, err := svc.Authorize(acme, &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{EventId: "launch-0003", TeamId: "design", UserId: "ann", ProductCode: "REVIT"}})
		require.NoError(t, err)
		require.Equal(t, v1.DenyReason_DENY_REASON_POOL_SUSPENDED, denied.GetResult().GetDenyReason())
		_, err = admin.AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: "design", PackId: "p9", Tokens: 5})
		require.Equal(t, codes.FailedPrecondition, status.Code(err))
	})
}
