package ledger_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// walk reads every page of a list of size items a page (0: the default),
// checking that no page is longer, and returns the keys of every item in
// order, failing on a key seen twice.
func walk(t *testing.T, size int, list func(token string) (keys []string, next string, err error)) []string {
	t.Helper()
	var all []string
	seen := map[string]bool{}
	token := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 1000, "the list never ends")
		keys, next, err := list(token)
		require.NoError(t, err)
		if size == 0 {
			size = 100
		}
		require.LessOrEqual(t, len(keys), size, "a page holds at most page_size items")
		for _, k := range keys {
			require.False(t, seen[k], "%s listed twice", k)
			seen[k] = true
		}
		all = append(all, keys...)
		if next == "" {
			return all
		}
		token = next
	}
}

// badField asserts err is InvalidArgument naming field, and quotes no more
// than a short prefix of what was sent.
func badField(t *testing.T, err error, field, sent string) {
	t.Helper()
	st := status.Convert(err)
	require.Equal(t, codes.InvalidArgument, st.Code(), "%v", err)
	require.NotEmpty(t, st.Details())
	br, ok := st.Details()[0].(*errdetails.BadRequest)
	require.True(t, ok)
	require.Equal(t, field, br.GetFieldViolations()[0].GetField(), st.Message())
	if len(sent) > 40 {
		require.NotContains(t, st.Message(), sent[:40], "the message quotes at most a short prefix")
	}
}

// Every List call of the ledger pages with an opaque token until its end,
// and refuses a token it did not give out for the same query.
func TestListsPageToTheEnd(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	r := startReplica(t, natsURL, "solo")
	admin := client(t, r.svc.Addr(), adminKey)

	const n = 7 // two full pages of 3 and one of 1
	var teams, products, packs, budgets []string
	for i := range n {
		code := fmt.Sprintf("PROD%d", i)
		_, err := admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: "rate-" + code, ProductCode: code, DailyRate: int64(i + 1)})
		require.NoError(t, err)
		products = append(products, code)
		team := fmt.Sprintf("team-%d", i)
		_, err = admin.AddPack(ctx, &v1.AddPackRequest{EventId: "pack-" + team, TeamId: team, PackId: "p", Tokens: 10})
		require.NoError(t, err)
		teams = append(teams, team)
		pack := fmt.Sprintf("pack-%d", i)
		_, err = admin.AddPack(ctx, &v1.AddPackRequest{EventId: "design-" + pack, TeamId: "design", PackId: pack, Tokens: int64(100 + i)})
		require.NoError(t, err)
		packs = append(packs, pack)
		budget := fmt.Sprintf("budget-%d", i)
		_, err = admin.SetBudget(ctx, &v1.SetBudgetRequest{EventId: "set-" + budget, TeamId: "design", Budget: &v1.Budget{BudgetId: budget,
			Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "ann", LimitTokens: 50, Period: v1.BudgetPeriod_BUDGET_PERIOD_MONTH}})
		require.NoError(t, err)
		budgets = append(budgets, budget)
	}
	teams = append([]string{"design"}, teams...)

	listTeams := func(size int32) func(string) ([]string, string, error) {
		return func(token string) ([]string, string, error) {
			resp, err := admin.ListTeams(ctx, &v1.ListTeamsRequest{PageSize: size, PageToken: token})
			var keys []string
			for _, b := range resp.GetTeams() {
				keys = append(keys, b.GetTeamId())
			}
			return keys, resp.GetNextPageToken(), err
		}
	}
	listProducts := func(token string) ([]string, string, error) {
		resp, err := admin.ListProducts(ctx, &v1.ListProductsRequest{PageSize: 3, PageToken: token})
		var keys []string
		for _, p := range resp.GetProducts() {
			keys = append(keys, p.GetProductCode())
		}
		return keys, resp.GetNextPageToken(), err
	}
	listPacks := func(token string) ([]string, string, error) {
		resp, err := admin.ListPacks(ctx, &v1.ListPacksRequest{TeamId: "design", PageSize: 3, PageToken: token})
		var keys []string
		for _, p := range resp.GetPacks() {
			keys = append(keys, p.GetPackId())
		}
		return keys, resp.GetNextPageToken(), err
	}
	listBudgets := func(token string) ([]string, string, error) {
		resp, err := admin.ListBudgets(ctx, &v1.ListBudgetsRequest{TeamId: "design", PageSize: 3, PageToken: token})
		var keys []string
		require.Len(t, resp.GetSpent(), len(resp.GetBudgets()), "one spent figure per budget")
		for _, b := range resp.GetBudgets() {
			keys = append(keys, b.GetBudgetId())
		}
		return keys, resp.GetNextPageToken(), err
	}

	t.Run("teams", func(t *testing.T) {
		require.Equal(t, teams, walk(t, 3, listTeams(3)))
		require.Equal(t, teams, walk(t, 0, listTeams(0)), "one default page")
	})
	t.Run("products", func(t *testing.T) { require.Equal(t, products, walk(t, 3, listProducts)) })
	t.Run("packs in burn-down order", func(t *testing.T) { require.Equal(t, packs, walk(t, 3, listPacks)) })
	t.Run("budgets", func(t *testing.T) { require.Equal(t, budgets, walk(t, 3, listBudgets)) })

	t.Run("a token is refused by another list, team or query", func(t *testing.T) {
		resp, err := admin.ListTeams(ctx, &v1.ListTeamsRequest{PageSize: 3})
		require.NoError(t, err)
		teamsToken := resp.GetNextPageToken()
		_, err = admin.ListProducts(ctx, &v1.ListProductsRequest{PageToken: teamsToken})
		badField(t, err, "page_token", teamsToken)
		packsPage, err := admin.ListPacks(ctx, &v1.ListPacksRequest{TeamId: "design", PageSize: 3})
		require.NoError(t, err)
		_, err = admin.ListPacks(ctx, &v1.ListPacksRequest{TeamId: "team-1", PageToken: packsPage.GetNextPageToken()})
		badField(t, err, "page_token", "")
		_, err = admin.ListPacks(ctx, &v1.ListPacksRequest{TeamId: "design", IncludeExpired: true, PageToken: packsPage.GetNextPageToken()})
		badField(t, err, "page_token", "")
		_, err = admin.ListBudgets(ctx, &v1.ListBudgetsRequest{TeamId: "design", PageToken: packsPage.GetNextPageToken()})
		badField(t, err, "page_token", "")
		junk := strings.Repeat("not-a-token/", 20)
		_, err = admin.ListTeams(ctx, &v1.ListTeamsRequest{PageToken: junk})
		badField(t, err, "page_token", junk)
		_, err = admin.ListTransactions(ctx, &v1.ListTransactionsRequest{TeamId: "design", PageToken: strings.Repeat("x", 600)})
		badField(t, err, "page_token", strings.Repeat("x", 600))
	})

	t.Run("page_size is bounded", func(t *testing.T) {
		for _, size := range []int32{-1, 1001} {
			_, err := admin.ListTeams(ctx, &v1.ListTeamsRequest{PageSize: size})
			badField(t, err, "page_size", "")
			_, err = admin.ListTransactions(ctx, &v1.ListTransactionsRequest{TeamId: "design", PageSize: size})
			badField(t, err, "page_size", "")
		}
		resp, err := admin.ListTeams(ctx, &v1.ListTeamsRequest{PageSize: 1000})
		require.NoError(t, err)
		require.Len(t, resp.GetTeams(), len(teams))
	})
}

// transactionKeys lists a team's transactions through pages of size.
func transactionKeys(ctx context.Context, c v1.LedgerServiceClient, req *v1.ListTransactionsRequest) func(string) ([]string, string, error) {
	return func(token string) ([]string, string, error) {
		r := proto.CloneOf(req)
		r.PageToken = token
		resp, err := c.ListTransactions(ctx, r)
		var keys []string
		for _, tx := range resp.GetTransactions() {
			keys = append(keys, tx.GetEventId())
		}
		return keys, resp.GetNextPageToken(), err
	}
}

// ListTransactions walks a history longer than a page, with the default
// page size and with a small one, to its end: every event once, in order.
func TestListTransactionsPagesToTheEnd(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	r := startReplica(t, natsURL, "solo")
	admin := client(t, r.svc.Addr(), adminKey)

	var want []string
	for i := range 5 {
		id := fmt.Sprintf("small-%05d", i)
		_, err := admin.AddPack(ctx, &v1.AddPackRequest{EventId: id, TeamId: "small", PackId: id, Tokens: 10})
		require.NoError(t, err)
		want = append(want, id)
	}
	require.Equal(t, want, walk(t, 2, transactionKeys(ctx, admin, &v1.ListTransactionsRequest{TeamId: "small", PageSize: 2})))

	want = nil
	for i := range 130 {
		id := fmt.Sprintf("big-%05d", i)
		_, err := admin.AddPack(ctx, &v1.AddPackRequest{EventId: id, TeamId: "big", PackId: id, Tokens: 10})
		require.NoError(t, err, id)
		want = append(want, id)
	}
	first, err := admin.ListTransactions(ctx, &v1.ListTransactionsRequest{TeamId: "big"})
	require.NoError(t, err)
	require.Len(t, first.GetTransactions(), 100)
	require.NotEmpty(t, first.GetNextPageToken(), "the default page of 100 says more follow")
	require.Equal(t, want, walk(t, 0, transactionKeys(ctx, admin, &v1.ListTransactionsRequest{TeamId: "big"})))
	require.Equal(t, want, walk(t, 7, transactionKeys(ctx, admin, &v1.ListTransactionsRequest{TeamId: "big", PageSize: 7})))
}
