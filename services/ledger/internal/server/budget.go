package server

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// SetBudget creates, changes or (deleted=true) removes a budget of a team.
func (l *Ledger) SetBudget(ctx context.Context, req *v1.SetBudgetRequest) (*v1.SetBudgetResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkSetBudget(req); err != nil {
		return nil, err
	}
	now, id := l.Now(), req.GetEventId()
	err = l.Store.Decide(ctx, p.Org, req.GetTeamId(), now, func(pl *pool.Pool) ([]*v1.Event, error) {
		if _, done := pl.Applied(id); done {
			return nil, nil
		}
		ev, err := pl.DecideSetBudget(id, req.GetBudget(), now, actorOf(p))
		if err != nil {
			return nil, err
		}
		return []*v1.Event{ev}, nil
	})
	if err != nil {
		return nil, statusOf(err)
	}
	return &v1.SetBudgetResponse{Budget: req.GetBudget()}, nil
}

// ListBudgets lists a team's budgets by id with what was spent in the
// current period, a page at a time (the token holds the last budget id).
func (l *Ledger) ListBudgets(ctx context.Context, req *v1.ListBudgetsRequest) (*v1.ListBudgetsResponse, error) {
	resp := &v1.ListBudgetsResponse{}
	now := l.Now()
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	shown := l.Privacy.For(p.Org)
	err = l.readPoolPage(ctx, req.GetTeamId(), req, func(pl *pool.Pool, pg grpcserver.Page) {
		var budgets []pool.BudgetSpend
		budgets, resp.NextPageToken = grpcserver.PageSlice(pg, pl.Budgets(now), func(b pool.BudgetSpend) string { return b.Budget.GetBudgetId() })
		for _, b := range budgets {
			budget := proto.Clone(b.Budget).(*v1.Budget) // the pool's own is shared
			shown.MaskBudget(budget)
			resp.Budgets = append(resp.Budgets, budget)
			resp.Spent = append(resp.Spent, b.Spent)
		}
	}, "budgets")
	return resp, err
}
