package ledger_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// A pool's history holds every event type of its subject and the
// organisation's rate changes, each with actor, tokens and words, and
// filters by type and time.
func TestListTransactionsHistory(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	r := startReplica(t, natsURL, "solo")
	admin := client(t, r.svc.Addr(), adminKey)
	_, err := client(t, r.svc.Addr(), ownerKey).SetPersonalData(ctx, &v1.SetPersonalDataRequest{Show: true, EventId: "show-people-0000"})
	require.NoError(t, err)
	seedHistory(t, admin, client(t, r.svc.Addr(), serviceKey))

	list := func(req *v1.ListTransactionsRequest) []*v1.Transaction {
		t.Helper()
		return listAll(t, admin, req)
	}
	byType := func(txs []*v1.Transaction) map[string]*v1.Transaction {
		m := map[string]*v1.Transaction{}
		for _, tx := range txs {
			m[tx.GetType()] = tx
		}
		return m
	}
	history := list(&v1.ListTransactionsRequest{TeamId: "design"})
	got := byType(history)
	for _, typ := range []string{"product_rate_set", "pack_added", "user_assigned", "window_charged", "launch_covered", "launch_denied",
		"tokens_adjusted", "budget_set", "budget_crossed", "capacity_set", "capacity_used", "capacity_returned", "user_unassigned", "pool_suspended",
		"personal_data_set"} {
		require.Contains(t, got, typ, "design's history lists %s", typ)
		require.NotEmpty(t, got[typ].GetActor(), typ)
		require.NotNil(t, got[typ].GetAt(), typ)
	}
	for i := 1; i < len(history); i++ {
		require.Greater(t, history[i].GetSequence(), history[i-1].GetSequence(), "oldest first, in log order")
	}
	require.Equal(t, "assigned to REVIT", got["user_assigned"].GetDetail())
	require.Equal(t, "ann", got["user_assigned"].GetUserId())
	require.Zero(t, got["user_assigned"].GetTokens())
	require.Contains(t, got["user_assigned"].GetActor(), "admin:")
	require.Equal(t, "budget ann-month: user ann, 10 tokens a month, soft cap", got["budget_set"].GetDetail())
	require.Equal(t, "refused: the user is not assigned to the team", got["launch_denied"].GetDetail())
	require.Equal(t, "po-77", got["pack_added"].GetReason())
	require.EqualValues(t, -10, got["window_charged"].GetTokens())
	require.Equal(t, "reorg", got["pool_suspended"].GetReason())
	require.Equal(t, "civil", got["pool_suspended"].GetCounterpartyTeamId())
	require.EqualValues(t, -85, got["pool_suspended"].GetTokens(), "100 - 10 charged - 5 refunded moved out")
	require.Equal(t, "REVIT", got["product_rate_set"].GetProductCode())

	civil := byType(list(&v1.ListTransactionsRequest{TeamId: "civil"}))
	require.Equal(t, "design", civil["pack_added"].GetCounterpartyTeamId(), "the merge's inflow names where it came from")

	t.Run("by type, a page at a time", func(t *testing.T) {
		some := list(&v1.ListTransactionsRequest{TeamId: "design", PageSize: 1, Types: []string{"user_unassigned", "budget_set", "user_assigned"}})
		var types []string
		for _, tx := range some {
			types = append(types, tx.GetType())
		}
		require.Equal(t, []string{"user_assigned", "budget_set", "user_unassigned"}, types)
	})

	t.Run("by time: [from, to) splits the history in two", func(t *testing.T) {
		cut := got["tokens_adjusted"].GetAt()
		before := list(&v1.ListTransactionsRequest{TeamId: "design", To: cut})
		after := list(&v1.ListTransactionsRequest{TeamId: "design", From: cut})
		require.Len(t, append(before, after...), len(history))
		for _, tx := range before {
			require.True(t, tx.GetAt().AsTime().Before(cut.AsTime()))
		}
		for _, tx := range after {
			require.False(t, tx.GetAt().AsTime().Before(cut.AsTime()))
		}
		require.Equal(t, "tokens_adjusted", after[0].GetType())
	})

	t.Run("an empty team_id lists the organisation's rate changes", func(t *testing.T) {
		org := list(&v1.ListTransactionsRequest{})
		require.Len(t, org, 2)
		require.Equal(t, "personal_data_set", org[0].GetType())
		require.Equal(t, "product_rate_set", org[1].GetType())
	})

	t.Run("bad filters are refused", func(t *testing.T) {
		_, err := admin.ListTransactions(ctx, &v1.ListTransactionsRequest{TeamId: "design", Types: []string{"budget_set", "budget_changed"}})
		badField(t, err, "types[1]", "")
		long := string(make([]byte, 200))
		_, err = admin.ListTransactions(ctx, &v1.ListTransactionsRequest{TeamId: "design", Types: []string{long}})
		badField(t, err, "types[0]", long)
		_, err = admin.ListTransactions(ctx, &v1.ListTransactionsRequest{TeamId: "design", From: got["budget_set"].GetAt(), To: got["pack_added"].GetAt()})
		badField(t, err, "to", "")
		_, err = admin.ListTransactions(ctx, &v1.ListTransactionsRequest{TeamId: "design", From: &timestamppb.Timestamp{Seconds: 1 << 62}})
		badField(t, err, "from", "")
		_, err = admin.ListTransactions(ctx, &v1.ListTransactionsRequest{TeamId: "de.sign"})
		badField(t, err, "team_id", "")
	})
}

// seedHistory gives acme's design team one event of every type.
func seedHistory(t *testing.T, admin, svc v1.LedgerServiceClient) {
	t.Helper()
	ctx := t.Context()
	acme := auth.ActingFor(ctx, "acme")
	must := func(_ any, err error) { t.Helper(); require.NoError(t, err) }
	launch := func(id, user string) {
		must(svc.Authorize(acme, &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{EventId: id, TeamId: "design", UserId: user, ProductCode: "REVIT"}}))
	}
	must(admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: "rate-1-0000", ProductCode: "REVIT", DailyRate: 10}))
	must(admin.AddPack(ctx, &v1.AddPackRequest{EventId: "pack-1-0000", TeamId: "design", PackId: "p1", Tokens: 100, Reason: "po-77"}))
	must(admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: "assign-1-0000", TeamId: "design", UserId: "ann", ProductCodes: []string{"REVIT"}}))
	must(admin.SetBudget(ctx, &v1.SetBudgetRequest{EventId: "budget-1-0000", TeamId: "design", Budget: &v1.Budget{BudgetId: "ann-month",
		Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "ann", LimitTokens: 10, Period: v1.BudgetPeriod_BUDGET_PERIOD_MONTH}}))
	launch("launch-1-0000", "ann") // reaches ann's soft budget
	launch("launch-2-0000", "ann") // covered by the open window
	launch("launch-3-0000", "bob") // not assigned: denied
	must(admin.AdjustBalance(ctx, &v1.AdjustBalanceRequest{EventId: "adjust-1-0000", TeamId: "design", Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_REFUND, Tokens: 5, Reason: "refund"}))
	must(admin.SetCapacity(ctx, &v1.SetCapacityRequest{EventId: "cap-1-0000", TeamId: "design", ProductCode: "SEATS", Kind: v1.CapacityKind_CAPACITY_KIND_RETURNABLE, Units: 3}))
	must(admin.UseCapacity(acme, &v1.UseCapacityRequest{EventId: "seat-1-0000", TeamId: "design", ProductCode: "SEATS", Units: 1, UserId: "ann"}))
	must(admin.ReturnCapacity(acme, &v1.ReturnCapacityRequest{EventId: "seat-back-1-0000", TeamId: "design", ProductCode: "SEATS", CheckoutId: "seat-1-0000"}))
	must(admin.UnassignUser(ctx, &v1.UnassignUserRequest{EventId: "unassign-1-0000", TeamId: "design", UserId: "ann"}))
	must(admin.MergeTeams(ctx, &v1.MergeTeamsRequest{EventId: "merge-1-0000", FromTeamId: "design", IntoTeamId: "civil", Reason: "reorg"}))

}

// listAll reads every page of a ListTransactions request.
func listAll(t *testing.T, c v1.LedgerServiceClient, req *v1.ListTransactionsRequest) []*v1.Transaction {
	t.Helper()
	var all []*v1.Transaction
	for {
		resp, err := c.ListTransactions(t.Context(), req)
		require.NoError(t, err)
		all = append(all, resp.GetTransactions()...)
		if resp.GetNextPageToken() == "" {
			return all
		}
		req.PageToken = resp.GetNextPageToken()
	}
}
