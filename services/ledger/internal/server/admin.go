package server

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
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
	var bad grpcserver.Violations
	bad.Check("team_id", eventlog.CheckID("team_id", req.GetTeamId()))
	bad.Check("pack_id", eventlog.CheckID("pack_id", req.GetPackId()))
	if req.GetTokens() <= 0 {
		bad.Add("tokens", "must be positive, got %d", req.GetTokens())
	}
	if req.GetUnitPriceMicros() < 0 {
		bad.Add("unit_price_micros", "must not be negative")
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	now := l.Now()
	cmd := pool.AddPack{
		EventID: newEventID(req.GetEventId()), PackID: req.GetPackId(), Tokens: req.GetTokens(),
		UnitPriceMicros: req.GetUnitPriceMicros(), Currency: req.GetCurrency(),
		PurchasedAt: timeOrZero(req.GetPurchasedAt()), ExpiresAt: timeOrZero(req.GetExpiresAt()),
		ContractEnd: timeOrZero(req.GetContractEnd()), Source: req.GetSource(), Reason: req.GetReason(),
		At: now, Actor: actorOf(p),
	}
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
	var bad grpcserver.Violations
	bad.Check("team_id", eventlog.CheckID("team_id", req.GetTeamId()))
	if req.GetTokens() <= 0 {
		bad.Add("tokens", "must be positive, got %d", req.GetTokens())
	}
	if req.GetReason() == "" {
		bad.Add("reason", "is required: say why tokens are taken out")
	}
	switch req.GetKind() {
	case v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE, v1.AdjustmentKind_ADJUSTMENT_KIND_REFUND:
	case v1.AdjustmentKind_ADJUSTMENT_KIND_MOVE_OUT:
		bad.Check("counterparty_team_id", eventlog.CheckID("counterparty_team_id", req.GetCounterpartyTeamId()))
		if req.GetCounterpartyTeamId() == req.GetTeamId() {
			bad.Add("counterparty_team_id", "must differ from team_id")
		}
	default:
		bad.Add("kind", "must be ADJUSTMENT_KIND_REMOVE, ADJUSTMENT_KIND_REFUND or ADJUSTMENT_KIND_MOVE_OUT")
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	if req.GetKind() == v1.AdjustmentKind_ADJUSTMENT_KIND_MOVE_OUT {
		return l.moveTokens(ctx, p, req)
	}
	now := l.Now()
	cmd := pool.Adjust{EventID: newEventID(req.GetEventId()), Kind: req.GetKind(), Tokens: req.GetTokens(),
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
	return &v1.AssignUserResponse{}, l.assignment(ctx, req.GetTeamId(), req.GetUserId(), func(pl *pool.Pool, id string, now time.Time, a *v1.Actor) (*v1.Event, error) {
		return pl.DecideAssign(id, req.GetUserId(), req.GetProductCodes(), now, a)
	})
}

// UnassignUser takes a user off the team.
func (l *Ledger) UnassignUser(ctx context.Context, req *v1.UnassignUserRequest) (*v1.UnassignUserResponse, error) {
	return &v1.UnassignUserResponse{}, l.assignment(ctx, req.GetTeamId(), req.GetUserId(), func(pl *pool.Pool, id string, now time.Time, a *v1.Actor) (*v1.Event, error) {
		return pl.DecideUnassign(id, req.GetUserId(), now, a)
	})
}

func (l *Ledger) assignment(ctx context.Context, team, user string, decide func(*pool.Pool, string, time.Time, *v1.Actor) (*v1.Event, error)) error {
	p, err := caller(ctx)
	if err != nil {
		return err
	}
	var bad grpcserver.Violations
	bad.Check("team_id", eventlog.CheckID("team_id", team))
	bad.Check("user_id", eventlog.CheckID("user_id", user))
	if err := bad.Err(); err != nil {
		return err
	}
	now, id := l.Now(), newEventID("")
	err = l.Store.Decide(ctx, p.Org, team, now, func(pl *pool.Pool) ([]*v1.Event, error) {
		if _, done := pl.Applied(id); done {
			return nil, nil
		}
		ev, err := decide(pl, id, now, actorOf(p))
		if err != nil {
			return nil, err
		}
		return []*v1.Event{ev}, nil
	})
	return statusOf(err)
}
