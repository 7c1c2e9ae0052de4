package tokenctl

import (
	"context"
	"fmt"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// allPages walks a list call to its end, pageSize items a page: page answers
// one page and the next token ("" when the list is complete); most stops
// once that many items are read (0: no bound).
func allPages[T any](ctx context.Context, pageSize, most int, page func(ctx context.Context, size int32, token string) ([]T, string, error)) ([]T, error) {
	var all []T
	seen := map[string]bool{}
	token := ""
	for {
		size := pageSize
		if most > 0 {
			size = min(size, most-len(all))
		}
		items, next, err := page(ctx, int32(size), token)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" || (most > 0 && len(all) >= most) {
			return all, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("the server gave the same page token twice: stopping after %d items", len(all))
		}
		seen[next], token = true, next
	}
}

// listTeams is every team of the organisation with its balance.
func (a *app) listTeams(ctx context.Context, c v1.LedgerServiceClient) (*v1.ListTeamsResponse, error) {
	teams, err := allPages(ctx, a.o.pageSize, 0, func(ctx context.Context, size int32, token string) ([]*v1.Balance, string, error) {
		resp, err := c.ListTeams(ctx, &v1.ListTeamsRequest{PageSize: size, PageToken: token})
		return resp.GetTeams(), resp.GetNextPageToken(), err
	})
	return &v1.ListTeamsResponse{Teams: teams}, err
}

// listProducts is the organisation's whole catalog.
func (a *app) listProducts(ctx context.Context, c v1.LedgerServiceClient) (*v1.ListProductsResponse, error) {
	products, err := allPages(ctx, a.o.pageSize, 0, func(ctx context.Context, size int32, token string) ([]*v1.Product, string, error) {
		resp, err := c.ListProducts(ctx, &v1.ListProductsRequest{PageSize: size, PageToken: token})
		return resp.GetProducts(), resp.GetNextPageToken(), err
	})
	return &v1.ListProductsResponse{Products: products}, err
}

// listPacks is every pack of a team (expired ones too, when asked).
func (a *app) listPacks(ctx context.Context, c v1.LedgerServiceClient, team string, expired bool) (*v1.ListPacksResponse, error) {
	packs, err := allPages(ctx, a.o.pageSize, 0, func(ctx context.Context, size int32, token string) ([]*v1.Pack, string, error) {
		resp, err := c.ListPacks(ctx, &v1.ListPacksRequest{TeamId: team, IncludeExpired: expired, PageSize: size, PageToken: token})
		return resp.GetPacks(), resp.GetNextPageToken(), err
	})
	return &v1.ListPacksResponse{Packs: packs}, err
}

// listBudgets is every budget of a team with what it spent.
func (a *app) listBudgets(ctx context.Context, c v1.LedgerServiceClient, team string) (*v1.ListBudgetsResponse, error) {
	all := &v1.ListBudgetsResponse{}
	_, err := allPages(ctx, a.o.pageSize, 0, func(ctx context.Context, size int32, token string) ([]*v1.Budget, string, error) {
		resp, err := c.ListBudgets(ctx, &v1.ListBudgetsRequest{TeamId: team, PageSize: size, PageToken: token})
		all.Budgets = append(all.Budgets, resp.GetBudgets()...)
		all.Spent = append(all.Spent, resp.GetSpent()...)
		return resp.GetBudgets(), resp.GetNextPageToken(), err
	})
	return all, err
}

// listTransactions is a team's history as req filters it, at most limit
// transactions (0: all).
func (a *app) listTransactions(ctx context.Context, c v1.LedgerServiceClient, req *v1.ListTransactionsRequest, limit int) (*v1.ListTransactionsResponse, error) {
	txs, err := allPages(ctx, a.o.pageSize, limit, func(ctx context.Context, size int32, token string) ([]*v1.Transaction, string, error) {
		req.PageSize, req.PageToken = size, token
		resp, err := c.ListTransactions(ctx, req)
		return resp.GetTransactions(), resp.GetNextPageToken(), err
	})
	return &v1.ListTransactionsResponse{Transactions: txs}, err
}
