package server

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// moveTokens moves tokens to another team of the caller's organisation in two
// idempotent steps: the source records the move (its packs' split), then the
// target adds one pack per part with the source pack's expiry. A retry with the
// same event id completes a move whose second step was interrupted.
func (l *Ledger) moveTokens(ctx context.Context, p auth.Principal, req *v1.AdjustBalanceRequest) (*v1.AdjustBalanceResponse, error) {
	from, to := req.GetTeamId(), req.GetCounterpartyTeamId()
	now, id := l.Now(), req.GetEventId()
	suspended := false
	if err := l.Store.Read(ctx, p.Org, to, func(pl *pool.Pool) { suspended = pl.Suspended() }); err != nil {
		return nil, statusOf(err)
	}
	if suspended {
		return nil, statusOf(fmt.Errorf("move to team %s: %w", to, pool.ErrSuspended))
	}
	var move *pool.Move
	err := l.Store.Decide(ctx, p.Org, from, now, func(pl *pool.Pool) ([]*v1.Event, error) {
		if m, done := pl.MoveOut(id); done {
			move = m
			return nil, nil
		}
		ev, err := pl.DecideMoveOut(id, to, req.GetTokens(), req.GetReason(), now, actorOf(p))
		if err != nil {
			return nil, err
		}
		return []*v1.Event{ev}, nil
	})
	if err != nil {
		return nil, statusOf(err)
	}
	if move == nil {
		err = l.Store.Read(ctx, p.Org, from, func(pl *pool.Pool) { move, _ = pl.MoveOut(id) })
		if err != nil || move == nil {
			return nil, statusOf(fmt.Errorf("move %s not found after recording it: %w", id, err))
		}
	}
	if err := l.moveIn(ctx, p, move, from, to, now); err != nil {
		if status.Code(err) != codes.FailedPrecondition {
			return nil, err // retry the same event id to complete the move
		}
		// The target was suspended in between: give the tokens back rather
		// than strand them.
		if rerr := l.moveIn(ctx, p, move, to, from, now); rerr != nil {
			return nil, rerr
		}
		return nil, err
	}
	resp := &v1.AdjustBalanceResponse{}
	err = l.Store.Read(ctx, p.Org, from, func(pl *pool.Pool) { resp.Balance = balanceOf(from, pl, now) })
	return resp, statusOf(err)
}

func (l *Ledger) moveIn(ctx context.Context, p auth.Principal, move *pool.Move, from, to string, now time.Time) error {
	err := l.Store.Decide(ctx, p.Org, to, now, func(pl *pool.Pool) ([]*v1.Event, error) {
		return pl.DecideMoveIn(move, from, now, actorOf(p))
	})
	return statusOf(err)
}

// MergeTeams moves every live token and every assignment of one team into
// another of the same organisation and suspends the first.
func (l *Ledger) MergeTeams(ctx context.Context, req *v1.MergeTeamsRequest) (*v1.MergeTeamsResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkMerge(req); err != nil {
		return nil, err
	}
	from, into := req.GetFromTeamId(), req.GetIntoTeamId()
	now, id := l.Now(), req.GetEventId()
	var (
		move  *pool.Move
		users map[string][]string
	)
	err = l.Store.Decide(ctx, p.Org, from, now, func(pl *pool.Pool) ([]*v1.Event, error) {
		users = pl.Users()
		if _, done := pl.Applied(id); done {
			move, _ = pl.MoveOut(id)
			return nil, nil
		}
		ev, err := pl.DecideMerge(id, into, req.GetReason(), now, actorOf(p))
		if err != nil {
			return nil, err
		}
		return []*v1.Event{ev}, nil
	})
	if err != nil {
		return nil, statusOf(err)
	}
	if move == nil {
		_ = l.Store.Read(ctx, p.Org, from, func(pl *pool.Pool) { move, _ = pl.MoveOut(id) })
	}
	resp := &v1.MergeTeamsResponse{}
	if move != nil {
		if err := l.moveIn(ctx, p, move, from, into, now); err != nil {
			return nil, err
		}
		for _, part := range move.Parts {
			resp.TokensMoved += part.Tokens
		}
	}
	err = l.Store.Decide(ctx, p.Org, into, now, func(pl *pool.Pool) ([]*v1.Event, error) {
		var out []*v1.Event
		for user, products := range users {
			uid := fmt.Sprintf("%s/user/%s", id, user)
			if _, done := pl.Applied(uid); done {
				continue
			}
			ev, err := pl.DecideAssign(uid, user, products, now, actorOf(p))
			if err != nil {
				return nil, err
			}
			out = append(out, ev)
		}
		return out, nil
	})
	if err != nil {
		return nil, statusOf(err)
	}
	resp.UsersMoved = int64(len(users))
	err = l.Store.Read(ctx, p.Org, into, func(pl *pool.Pool) { resp.Into = balanceOf(into, pl, now) })
	return resp, statusOf(err)
}
