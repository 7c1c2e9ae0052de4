package server

import (
	"context"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/command"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// moveTokens moves tokens to another team of the caller's organisation
// (command.MoveTokensHandler) and answers with the source's balance.
func (l *Ledger) moveTokens(ctx context.Context, p auth.Principal, req *v1.AdjustBalanceRequest) (*v1.AdjustBalanceResponse, error) {
	from, now := req.GetTeamId(), l.Now()
	err := command.MoveTokensHandler{Pools: l.Store}.Handle(ctx, command.MoveTokens{
		Org: p.Org, From: from, To: req.GetCounterpartyTeamId(), EventID: req.GetEventId(),
		Reason: req.GetReason(), Tokens: req.GetTokens(), At: now, Actor: actorOf(p),
	})
	if err != nil {
		return nil, statusOf(err)
	}
	resp := &v1.AdjustBalanceResponse{}
	err = l.Store.Read(ctx, p.Org, from, func(pl *pool.Pool) { resp.Balance = balanceOf(from, pl, now) })
	return resp, statusOf(err)
}

// MergeTeams moves every live token and every assignment of one team into
// another of the same organisation and suspends the first
// (command.MergeTeamsHandler).
func (l *Ledger) MergeTeams(ctx context.Context, req *v1.MergeTeamsRequest) (*v1.MergeTeamsResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkMerge(req); err != nil {
		return nil, err
	}
	into, now := req.GetIntoTeamId(), l.Now()
	merged, err := command.MergeTeamsHandler{Pools: l.Store}.Handle(ctx, command.MergeTeams{
		Org: p.Org, From: req.GetFromTeamId(), Into: into, EventID: req.GetEventId(),
		Reason: req.GetReason(), At: now, Actor: actorOf(p),
	})
	if err != nil {
		return nil, statusOf(err)
	}
	resp := &v1.MergeTeamsResponse{TokensMoved: merged.TokensMoved, UsersMoved: merged.UsersMoved}
	err = l.Store.Read(ctx, p.Org, into, func(pl *pool.Pool) { resp.Into = balanceOf(into, pl, now) })
	return resp, statusOf(err)
}
