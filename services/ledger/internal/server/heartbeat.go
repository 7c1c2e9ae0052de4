package server

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// RecordHeartbeat renews a session still in use at its window's end and says
// whether the launcher may keep running. A heartbeat inside its window, or an
// idle one, appends nothing.
func (l *Ledger) RecordHeartbeat(ctx context.Context, req *v1.RecordHeartbeatRequest) (*v1.RecordHeartbeatResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	h := req.GetHeartbeat()
	if err := checkHeartbeat(req); err != nil {
		return nil, err
	}
	at := l.Now()
	if req.GetReceivedAt() != nil {
		at = req.GetReceivedAt().AsTime()
	}
	if owner, fctx, ok := l.Forwarder.Target(ctx, p.Org, h.GetTeamId()); ok {
		resp, err := owner.RecordHeartbeat(fctx, &v1.RecordHeartbeatRequest{Heartbeat: h, ReceivedAt: timestamppb.New(at)})
		if err == nil || !forwardable(err) || ctx.Err() != nil {
			return resp, err
		}
	}
	hb := pool.Heartbeat{
		EventID: h.GetEventId(), User: h.GetUserId(), Product: h.GetProductCode(), Device: h.GetDeviceId(),
		WindowID: h.GetWindowId(), Active: h.GetActive(), At: at, IdleTimeout: l.IdleTimeout, Actor: actorOf(p),
	}
	cat := l.Catalogs.Get(p.Org)
	var out pool.Outcome
	err = l.Store.Decide(ctx, p.Org, h.GetTeamId(), at, func(pl *pool.Pool) ([]*v1.Event, error) {
		if err := pl.CheckEventID(hb.EventID, hb.User, hb.Product); err != nil {
			return nil, err
		}
		o, ev := pl.DecideHeartbeat(hb, cat)
		out = o
		if ev == nil {
			return nil, nil
		}
		return []*v1.Event{ev}, nil
	})
	if err != nil {
		return nil, statusOf(err)
	}
	lr := launchResponse(out)
	return &v1.RecordHeartbeatResponse{Result: &v1.HeartbeatResponse{
		KeepRunning: out.KeepRunning, WindowId: lr.GetWindowId(), WindowEndsAt: lr.GetWindowEndsAt(),
		TokensCharged: out.Tokens, DenyReason: out.DenyReason,
	}}, nil
}
