package server

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/launchrules"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// GrantSubscription records a user's named subscription for some products:
// their launches of them are authorized without touching the pool.
func (l *Ledger) GrantSubscription(ctx context.Context, req *v1.GrantSubscriptionRequest) (*v1.GrantSubscriptionResponse, error) {
	now := l.Now()
	if err := checkGrant(req, now); err != nil {
		return nil, err
	}
	g := pool.Grant{EventID: req.GetEventId(), User: req.GetUserId(), Products: req.GetProductCodes(),
		EndsAt: timeOrZero(req.GetEndsAt()), Reason: req.GetReason(), At: now}
	err := l.assignment(ctx, req.GetTeamId(), req.GetEventId(), func(pl *pool.Pool, now time.Time, a *v1.Actor) (*v1.Event, error) {
		g.Actor = a
		return pl.DecideGrant(g)
	})
	if err != nil {
		return nil, err
	}
	subs, err := l.userSubscriptions(ctx, req.GetTeamId(), req.GetUserId(), now)
	return &v1.GrantSubscriptionResponse{Subscriptions: subs}, err
}

// RevokeSubscription ends a user's subscription for the products named (none: all).
func (l *Ledger) RevokeSubscription(ctx context.Context, req *v1.RevokeSubscriptionRequest) (*v1.RevokeSubscriptionResponse, error) {
	now := l.Now()
	if err := checkRevoke(req); err != nil {
		return nil, err
	}
	err := l.assignment(ctx, req.GetTeamId(), req.GetEventId(), func(pl *pool.Pool, now time.Time, a *v1.Actor) (*v1.Event, error) {
		return pl.DecideRevoke(req.GetEventId(), req.GetUserId(), req.GetProductCodes(), req.GetReason(), now, a)
	})
	if err != nil {
		return nil, err
	}
	subs, err := l.userSubscriptions(ctx, req.GetTeamId(), req.GetUserId(), now)
	return &v1.RevokeSubscriptionResponse{Subscriptions: subs}, err
}

// ListSubscriptions lists a team's subscriptions in force, by user then
// product, a page at a time (the token holds the last user and product).
func (l *Ledger) ListSubscriptions(ctx context.Context, req *v1.ListSubscriptionsRequest) (*v1.ListSubscriptionsResponse, error) {
	resp := &v1.ListSubscriptionsResponse{}
	now := l.Now()
	err := l.readPoolPage(ctx, req.GetTeamId(), req, func(pl *pool.Pool, pg grpcserver.Page) {
		var page []pool.Subscription
		page, resp.NextPageToken = grpcserver.PageSlice(pg, pl.Subscriptions(now), subscriptionKey)
		for _, s := range page {
			resp.Subscriptions = append(resp.Subscriptions, subscriptionOf(req.GetTeamId(), s))
		}
	}, "subscriptions")
	return resp, err
}

func subscriptionKey(s pool.Subscription) string { return s.User + "\x00" + s.Product }

func (l *Ledger) userSubscriptions(ctx context.Context, team, user string, now time.Time) ([]*v1.Subscription, error) {
	var out []*v1.Subscription
	err := l.readPool(ctx, team, func(pl *pool.Pool) {
		for _, s := range pl.UserSubscriptions(user, now) {
			out = append(out, subscriptionOf(team, s))
		}
	})
	return out, err
}

func subscriptionOf(team string, s pool.Subscription) *v1.Subscription {
	out := &v1.Subscription{TeamId: team, UserId: s.User, ProductCode: s.Product, GrantedAt: timestamppb.New(s.GrantedAt)}
	if !s.EndsAt.IsZero() {
		out.EndsAt = timestamppb.New(s.EndsAt)
	}
	return out
}

func checkGrant(req *v1.GrantSubscriptionRequest, now time.Time) error {
	var bad grpcserver.Violations
	checkSubscriptionFields(&bad, req.GetEventId(), req.GetTeamId(), req.GetUserId(), req.GetProductCodes(), req.GetReason(), true)
	checkTime(&bad, "ends_at", req.GetEndsAt(), now)
	return bad.Err()
}

func checkRevoke(req *v1.RevokeSubscriptionRequest) error {
	var bad grpcserver.Violations
	checkSubscriptionFields(&bad, req.GetEventId(), req.GetTeamId(), req.GetUserId(), req.GetProductCodes(), req.GetReason(), false)
	return bad.Err()
}

// checkSubscriptionFields checks the fields a grant and a revocation share;
// a grant must name its products, a revocation may name none (all).
func checkSubscriptionFields(bad *grpcserver.Violations, eventID, team, user string, products []string, reason string, grant bool) {
	launchrules.CheckEventID(bad, "event_id", eventID)
	bad.Check("team_id", eventlog.CheckID("team_id", team))
	bad.Check("user_id", eventlog.CheckID("user_id", user))
	switch {
	case grant && len(products) == 0:
		bad.Add("product_codes", "name the products of the subscription")
	case len(products) > pool.MaxProductsPerUser:
		bad.Add("product_codes", "at most 256 products")
	}
	for _, c := range products {
		if !eventlog.ValidID(c) {
			bad.Add("product_codes", "each must be a product code (1-64 letters, digits, '-' or '_')")
			break
		}
	}
	launchrules.CheckText(bad, "reason", reason, pool.MaxReasonLen)
}
