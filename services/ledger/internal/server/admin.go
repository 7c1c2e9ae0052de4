package server

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

func timeOrZero(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

// AddPack adds a purchase, true-up or adjustment pack to a team's pool.
func (l *Ledger) AddPack(ctx context.Context, req *v1.AddPackRequest) (*v1.AddPackResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	now := l.Now()
	if err := checkAddPack(req, now); err != nil {
		return nil, err
	}
	cmd := addPackCommand(req, now)
	cmd.Actor = actorOf(p)
	resp := &v1.AddPackResponse{}
	err = l.Store.Decide(ctx, p.Org, req.GetTeamId(), now, func(pl *pool.Pool) ([]*v1.Event, error) {
		if _, done := pl.Applied(cmd.EventID); done {
			return nil, nil
		}
		ev, err := pl.DecideAddPack(cmd)
		if err != nil {
			return nil, err
		}
		return []*v1.Event{ev}, nil
	})
	if err != nil {
		return nil, statusOf(err)
	}
	err = l.Store.Read(ctx, p.Org, req.GetTeamId(), func(pl *pool.Pool) {
		resp.Balance = balanceOf(req.GetTeamId(), pl, now)
		for _, pk := range pl.Packs() {
			if pk.ID == req.GetPackId() {
				resp.Pack = packOf(pk, now)
			}
		}
	})
	return resp, statusOf(err)
}

// AdjustBalance removes or refunds tokens with a reason.
func (l *Ledger) AdjustBalance(ctx context.Context, req *v1.AdjustBalanceRequest) (*v1.AdjustBalanceResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkAdjust(req); err != nil {
		return nil, err
	}
	if req.GetKind() == v1.AdjustmentKind_ADJUSTMENT_KIND_MOVE_OUT {
		return l.moveTokens(ctx, p, req)
	}
	now := l.Now()
	cmd := pool.Adjust{EventID: req.GetEventId(), Kind: req.GetKind(), Tokens: req.GetTokens(),
		Reason: req.GetReason(), At: now, Actor: actorOf(p)}
	resp := &v1.AdjustBalanceResponse{}
	err = l.Store.Decide(ctx, p.Org, req.GetTeamId(), now, func(pl *pool.Pool) ([]*v1.Event, error) {
		if _, done := pl.Applied(cmd.EventID); done {
			return nil, nil
		}
		ev, err := pl.DecideAdjust(cmd)
		if err != nil {
			return nil, err
		}
		return []*v1.Event{ev}, nil
	})
	if err != nil {
		return nil, statusOf(err)
	}
	err = l.Store.Read(ctx, p.Org, req.GetTeamId(), func(pl *pool.Pool) { resp.Balance = balanceOf(req.GetTeamId(), pl, now) })
	return resp, statusOf(err)
}

// AssignUser lets a user open the named products from the team's pool.
func (l *Ledger) AssignUser(ctx context.Context, req *v1.AssignUserRequest) (*v1.AssignUserResponse, error) {
	if err := checkAssign(req); err != nil {
		return nil, err
	}
	return &v1.AssignUserResponse{}, l.assignment(ctx, req.GetTeamId(), req.GetEventId(), func(pl *pool.Pool, now time.Time, a *v1.Actor) (*v1.Event, error) {
		return pl.DecideAssign(req.GetEventId(), req.GetUserId(), req.GetProductCodes(), now, a)
	})
}

// UnassignUser takes a user off the team.
func (l *Ledger) UnassignUser(ctx context.Context, req *v1.UnassignUserRequest) (*v1.UnassignUserResponse, error) {
	if err := checkUnassign(req); err != nil {
		return nil, err
	}
	return &v1.UnassignUserResponse{}, l.assignment(ctx, req.GetTeamId(), req.GetEventId(), func(pl *pool.Pool, now time.Time, a *v1.Actor) (*v1.Event, error) {
		return pl.DecideUnassign(req.GetEventId(), req.GetUserId(), now, a)
	})
}

// assignment decides a validated (un)assignment once: a retried event id
// changes nothing.
func (l *Ledger) assignment(ctx context.Context, team, id string, decide func(*pool.Pool, time.Time, *v1.Actor) (*v1.Event, error)) error {
	p, err := caller(ctx)
	if err != nil {
		return err
	}
	now := l.Now()
	err = l.Store.Decide(ctx, p.Org, team, now, func(pl *pool.Pool) ([]*v1.Event, error) {
		if _, done := pl.Applied(id); done {
			return nil, nil
		}
		ev, err := decide(pl, now, actorOf(p))
		if err != nil {
			return nil, err
		}
		return []*v1.Event{ev}, nil
	})
	return statusOf(err)
}
