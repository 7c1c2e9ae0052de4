package server

import (
	"context"
	"sync"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// ListTeams lists the teams of the caller's organisation, sorted by team id,
// each with its balance, a page at a time (the token holds the last team id).
// A team is a pool subject on the LEDGER stream; the organisation's catalog
// subject is not a team.
func (l *Ledger) ListTeams(ctx context.Context, req *v1.ListTeamsRequest) (*v1.ListTeamsResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var bad grpcserver.Violations
	pg := grpcserver.PageOf(&bad, "page_size", req.GetPageSize(), req.GetPageToken(), "teams", p.Org)
	if err := bad.Err(); err != nil {
		return nil, err
	}
	all, err := l.teamsOf(ctx, p.Org)
	if err != nil {
		return nil, statusOf(err)
	}
	teams, next := grpcserver.PageSlice(pg, all, func(team string) string { return team })
	// Pools not loaded yet are read from the log: several at once.
	balances, errs := make([]*v1.Balance, len(teams)), make([]error, len(teams))
	now := l.Now()
	sem := make(chan struct{}, listTeamsReaders)
	var wg sync.WaitGroup
	for i, team := range teams {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = l.Store.Read(ctx, p.Org, team, func(pl *pool.Pool) { balances[i] = balanceOf(team, pl, now) })
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, statusOf(err)
		}
	}
	return &v1.ListTeamsResponse{Teams: balances, NextPageToken: next}, nil
}

// listTeamsReaders bounds the pools ListTeams reads at once.
const listTeamsReaders = 8

// teamsOf returns the sorted team ids with a pool subject in org (a valid
// id, checked by caller, so the filter stays within one tenant), in every
// LEDGER stream.
func (l *Ledger) teamsOf(ctx context.Context, org string) ([]string, error) {
	teams, err := l.Store.Teams(ctx, org)
	if err != nil {
		return nil, eventlog.Unavailable(ctx, err)
	}
	return teams, nil
}
