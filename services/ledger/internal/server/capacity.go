package server

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

func capacityOf(c pool.CapacityCard) *v1.Capacity {
	out := &v1.Capacity{ProductCode: c.Product, Kind: c.Kind, Total: c.Total, Available: c.Available,
		InUse: c.InUse, StatusRed: c.Red, Expired: c.Expired}
	if !c.EndsAt.IsZero() {
		out.EndsAt = timestamppb.New(c.EndsAt)
	}
	if !c.RefreshesAt.IsZero() {
		out.RefreshesAt = timestamppb.New(c.RefreshesAt)
	}
	return out
}

// capacityCall runs decide on the pool of a validated request and answers
// the product's card afterwards.
func (l *Ledger) capacityCall(ctx context.Context, team, product string, decide func(*pool.Pool, *v1.Actor) (*v1.Event, error)) (*v1.Capacity, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := p.CheckTeam(team); err != nil {
		return nil, statusOf(err)
	}
	now := l.Now()
	var card pool.CapacityCard
	err = l.Store.Decide(ctx, p.Org, team, now, func(pl *pool.Pool) ([]*v1.Event, error) {
		ev, err := decide(pl, actorOf(p))
		if err != nil || ev == nil {
			card, _ = pl.Capacity(product, now)
			return nil, err
		}
		return []*v1.Event{ev}, nil
	})
	if err != nil {
		return nil, statusOf(err)
	}
	err = l.Store.Read(ctx, p.Org, team, func(pl *pool.Pool) { card, _ = pl.Capacity(product, now) })
	card.Product = product
	return capacityOf(card), statusOf(err)
}

// SetCapacity gives a team a capacity product, resizes it, or removes it (units 0).
func (l *Ledger) SetCapacity(ctx context.Context, req *v1.SetCapacityRequest) (*v1.SetCapacityResponse, error) {
	if err := checkSetCapacity(req); err != nil {
		return nil, err
	}
	id, now := req.GetEventId(), l.Now()
	var ends time.Time
	if req.GetEndsAt() != nil {
		ends = req.GetEndsAt().AsTime()
	}
	c, err := l.capacityCall(ctx, req.GetTeamId(), req.GetProductCode(), func(pl *pool.Pool, a *v1.Actor) (*v1.Event, error) {
		if _, done := pl.Applied(id); done {
			return nil, nil
		}
		return pl.DecideSetCapacityTerm(id, req.GetProductCode(), req.GetKind(), req.GetUnits(), ends, now, a)
	})
	if err != nil {
		return nil, err
	}
	return &v1.SetCapacityResponse{Capacity: c}, nil
}

// UseCapacity consumes exhaustible units or checks returnable units out;
// FailedPrecondition when not enough are available.
func (l *Ledger) UseCapacity(ctx context.Context, req *v1.UseCapacityRequest) (*v1.UseCapacityResponse, error) {
	if err := checkUseCapacity(req); err != nil {
		return nil, err
	}
	at, err := useTime(ctx, req.GetReceivedAt(), l.Now())
	if err != nil {
		return nil, err
	}
	c, err := l.capacityCall(ctx, req.GetTeamId(), req.GetProductCode(), func(pl *pool.Pool, a *v1.Actor) (*v1.Event, error) {
		if err := pl.CheckEventID(req.GetEventId(), req.GetUserId(), req.GetProductCode()); err != nil {
			return nil, err
		}
		return pl.DecideUseCapacity(req.GetEventId(), req.GetProductCode(), req.GetUserId(), req.GetUnits(), at, a)
	})
	if err != nil {
		return nil, err
	}
	resp := &v1.UseCapacityResponse{Granted: true, Capacity: c}
	if c.GetKind() == v1.CapacityKind_CAPACITY_KIND_RETURNABLE {
		resp.CheckoutId = req.GetEventId()
	}
	return resp, nil
}

// useTime is when a use happened: now, or the received_at a service (or an
// owner or admin recording past uses) gave; a launcher's key may not backdate.
func useTime(ctx context.Context, received *timestamppb.Timestamp, now time.Time) (time.Time, error) {
	if received == nil {
		return now, nil
	}
	p, err := caller(ctx)
	if err != nil {
		return now, err
	}
	var bad grpcserver.Violations
	switch {
	case p.Role != auth.RoleService && p.Role != auth.RoleOwner && p.Role != auth.RoleAdmin:
		bad.Add("received_at", "only a service, an owner or an admin may set it")
	case received.CheckValid() != nil:
		bad.Add("received_at", "is not a valid timestamp")
	default:
		addFieldErrors(&bad, pool.CheckCapacityUseTime(received.AsTime(), now))
	}
	return received.AsTime(), bad.Err()
}

// ReturnCapacity gives checked-out returnable units back.
func (l *Ledger) ReturnCapacity(ctx context.Context, req *v1.ReturnCapacityRequest) (*v1.ReturnCapacityResponse, error) {
	if err := checkReturnCapacity(req); err != nil {
		return nil, err
	}
	id, now := req.GetEventId(), l.Now()
	c, err := l.capacityCall(ctx, req.GetTeamId(), req.GetProductCode(), func(pl *pool.Pool, a *v1.Actor) (*v1.Event, error) {
		if _, done := pl.Applied(id); done {
			return nil, nil
		}
		return pl.DecideReturnCapacity(id, req.GetProductCode(), req.GetCheckoutId(), now, a)
	})
	if err != nil {
		return nil, err
	}
	return &v1.ReturnCapacityResponse{Capacity: c}, nil
}
