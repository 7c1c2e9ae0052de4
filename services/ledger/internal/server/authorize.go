package server

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// Authorize decides a launch and answers only once the decision is durable.
func (l *Ledger) Authorize(ctx context.Context, req *v1.AuthorizeRequest) (*v1.AuthorizeResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	res, err := l.authorize(ctx, p, req)
	if err != nil {
		return nil, err
	}
	return &v1.AuthorizeResponse{Result: res}, nil
}

// authorize decides one launch for p; the error is a status.
func (l *Ledger) authorize(ctx context.Context, p auth.Principal, req *v1.AuthorizeRequest) (*v1.LaunchResponse, error) {
	lr := req.GetLaunch()
	if err := checkAuthorize(req); err != nil {
		return nil, err
	}
	if t := req.GetTimeout(); t != nil {
		// A batch call lasts for its most patient caller: this launch is
		// not decided once its own caller has given up.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.AsDuration())
		defer cancel()
	}
	at := l.Now()
	if req.GetReceivedAt() != nil {
		at = req.GetReceivedAt().AsTime()
	}
	if owner, fctx, ok := l.Forwarder.Target(ctx, p.Org, lr.GetTeamId()); ok {
		fwd := &v1.AuthorizeRequest{Launch: lr, ReceivedAt: timestamppb.New(at)}
		resp, err := owner.Authorize(fctx, fwd)
		if err == nil || !forwardable(err) || ctx.Err() != nil {
			return resp.GetResult(), err
		}
	}
	launch := pool.Launch{
		EventID: lr.GetEventId(), User: lr.GetUserId(), Product: lr.GetProductCode(),
		Version: lr.GetProductVersion(), Device: lr.GetDeviceId(), Attributes: lr.GetAttributes(),
		At: at, Actor: actorOf(p),
	}
	cat := l.Catalogs.Get(p.Org)
	var out pool.Outcome
	var duplicate bool
	err := l.Store.Decide(ctx, p.Org, lr.GetTeamId(), at, func(pl *pool.Pool) ([]*v1.Event, error) {
		if err := pl.CheckEventID(launch.EventID, launch.User, launch.Product); err != nil {
			return nil, err
		}
		o, ev := pl.DecideLaunch(launch, cat)
		out, duplicate = o, ev == nil // nothing to append: decided before
		if ev == nil {
			return nil, nil
		}
		return []*v1.Event{ev}, nil
	})
	if err != nil {
		return nil, statusOf(err)
	}
	countDecision(ctx, out, duplicate)
	return launchResponse(out), nil
}

func launchResponse(o pool.Outcome) *v1.LaunchResponse {
	r := &v1.LaunchResponse{
		Decision: o.Decision, DenyReason: o.DenyReason, TokensCharged: o.Tokens,
		WindowId: o.WindowID, BalanceAfter: o.BalanceAfter, BySubscription: o.BySubscription,
	}
	if !o.WindowEnd.IsZero() {
		r.WindowEndsAt = timestamppb.New(o.WindowEnd)
	}
	return r
}

// QuoteLaunch tells what a launch would cost now.
func (l *Ledger) QuoteLaunch(ctx context.Context, req *v1.QuoteLaunchRequest) (*v1.QuoteLaunchResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	q := req.GetQuote()
	if err := checkQuote(req); err != nil {
		return nil, err
	}
	if err := p.CheckTeam(q.GetTeamId()); err != nil {
		return nil, statusOf(err)
	}
	at := l.Now()
	if req.GetReceivedAt() != nil {
		at = req.GetReceivedAt().AsTime()
	}
	var quote pool.Quote
	err = l.Store.Read(ctx, p.Org, q.GetTeamId(), func(pl *pool.Pool) {
		quote = pl.QuoteLaunch(q.GetUserId(), q.GetProductCode(), at, l.Catalogs.Get(p.Org))
	})
	if err != nil {
		return nil, statusOf(err)
	}
	resp := &v1.QuoteResponse{
		Tokens: quote.Tokens, Affordable: quote.Affordable, DenyReason: quote.DenyReason,
		Explanation: quote.Explanation, Balance: quote.Balance, BySubscription: quote.BySubscription,
	}
	if quote.Window != nil {
		resp.WindowId, resp.WindowEndsAt = quote.Window.ID, timestamppb.New(quote.Window.End)
	}
	return &v1.QuoteLaunchResponse{Quote: resp}, nil
}
