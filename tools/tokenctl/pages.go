package tokenctl

import (
	"cmp"
	"context"
	"fmt"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// maxPage is the page size tokenctl asks for: the most a List call gives.
const maxPage = 1000

// allPages reads a list page after page, of page items each (0: maxPage),
// until its next_page_token is empty or limit items are read (0: no limit).
// fetch asks for one page of at most size items.
func allPages[T any](page, limit int, fetch func(size int32, token string) ([]T, string, error)) ([]T, error) {
	var all []T
	token := ""
	for {
		size := cmp.Or(page, maxPage)
		if limit > 0 {
			size = min(size, limit-len(all))
		}
		items, next, err := fetch(int32(size), token)
		if err != nil {
			return all, err
		}
		all = append(all, items...)
		if next == "" || (limit > 0 && len(all) >= limit) {
			return all, nil
		}
		if next == token {
			return all, fmt.Errorf("the server gave the same page token twice: stopped after %d items", len(all))
		}
		token = next
	}
}

// listTeams is every team of the organisation with its balance.
func (a *app) listTeams(ctx context.Context, c v1.LedgerServiceClient) (*v1.ListTeamsResponse, error) {
	teams, err := allPages(a.o.pageSize, 0, func(size int32, token string) ([]*v1.Balance, string, error) {
		resp, err := c.ListTeams(ctx, &v1.ListTeamsRequest{PageSize: size, PageToken: token})
		return resp.GetTeams(), resp.GetNextPageToken(), err
	})
	return &v1.ListTeamsResponse{Teams: teams}, err
}

// listProducts is the organisation's whole catalog.
func (a *app) listProducts(ctx context.Context, c v1.LedgerServiceClient) (*v1.ListProductsResponse, error) {
	products, err := allPages(a.o.pageSize, 0, func(size int32, token string) ([]*v1.Product, string, error) {
		resp, err := c.ListProducts(ctx, &v1.ListProductsRequest{PageSize: size, PageToken: token})
		return resp.GetProducts(), resp.GetNextPageToken(), err
	})
	return &v1.ListProductsResponse{Products: products}, err
}

// listPacks is every pack of a team (expired ones too, when asked).
func (a *app) listPacks(ctx context.Context, c v1.LedgerServiceClient, team string, expired bool) (*v1.ListPacksResponse, error) {
	packs, err := allPages(a.o.pageSize, 0, func(size int32, token string) ([]*v1.Pack, string, error) {
		resp, err := c.ListPacks(ctx, &v1.ListPacksRequest{TeamId: team, IncludeExpired: expired, PageSize: size, PageToken: token})
		return resp.GetPacks(), resp.GetNextPageToken(), err
	})
	return &v1.ListPacksResponse{Packs: packs}, err
}

// listBudgets is every budget of a team with what it spent.
func (a *app) listBudgets(ctx context.Context, c v1.LedgerServiceClient, team string) (*v1.ListBudgetsResponse, error) {
	all := &v1.ListBudgetsResponse{}
	_, err := allPages(a.o.pageSize, 0, func(size int32, token string) ([]*v1.Budget, string, error) {
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
	txs, err := allPages(a.o.pageSize, limit, func(size int32, token string) ([]*v1.Transaction, string, error) {
		req.PageSize, req.PageToken = size, token
		resp, err := c.ListTransactions(ctx, req)
		return resp.GetTransactions(), resp.GetNextPageToken(), err
	})
	return &v1.ListTransactionsResponse{Transactions: txs}, err
}
