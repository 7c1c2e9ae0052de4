package pool

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Subscription is a user's named subscription for one product (the seeds'
// hybrid model): their launches of it are authorized without tokens.
type Subscription struct {
	User, Product string
	// EndsAt is when it ends; zero: until revoked.
	EndsAt    time.Time `json:"ends_at"`
	GrantedAt time.Time `json:"granted_at"`
}

// ActiveAt reports whether the subscription covers a launch at t.
func (s Subscription) ActiveAt(t time.Time) bool { return s.EndsAt.IsZero() || t.Before(s.EndsAt) }

// subscribed is the one rule of subscription use: user's launch of product
// at t is authorized by a subscription when the pool is not suspended, the
// product is known and the user holds a subscription for it that has not
// ended. Launches, heartbeats and quotes all ask it first.
func (p *Pool) subscribed(user, product string, known bool, t time.Time) (Subscription, bool) {
	if p.suspended || !known {
		return Subscription{}, false
	}
	s, ok := p.subs[user][product]
	if !ok || !s.ActiveAt(t) {
		return Subscription{}, false
	}
	return s, true
}

// holds reports whether user holds a subscription for product, ended or not.
func (p *Pool) holds(user, product string) bool {
	_, ok := p.subs[user][product]
	return ok
}

// Subscriptions returns the subscriptions in force at t, by user then product.
func (p *Pool) Subscriptions(t time.Time) []Subscription {
	return slices.DeleteFunc(p.allSubscriptions(), func(s Subscription) bool { return !s.ActiveAt(t) })
}

// UserSubscriptions returns user's subscriptions in force at t, by product.
func (p *Pool) UserSubscriptions(user string, t time.Time) []Subscription {
	var out []Subscription
	for _, s := range p.Subscriptions(t) {
		if s.User == user {
			out = append(out, s)
		}
	}
	return out
}

// Grant is an admin's grant of a named subscription.
type Grant struct {
	EventID, User string
	Products      []string
	EndsAt        time.Time // zero: until revoked
	Reason        string
	At            time.Time
	Actor         *v1.Actor
}

// Check returns the FieldErrors of a grant no pool could accept.
func (g Grant) Check() error {
	var errs []error
	if g.User == "" {
		errs = append(errs, invalid("user_id", "is required"))
	}
	if err := CheckAssign(g.Products); err != nil {
		errs = append(errs, err)
	} else if slices.Contains(g.Products, "*") {
		errs = append(errs, invalid("product_codes", "name the products: a subscription is for named products, not \"*\""))
	}
	if !g.EndsAt.IsZero() {
		if err := CheckTime("ends_at", g.EndsAt, g.At); err != nil {
			errs = append(errs, err)
		} else if !g.EndsAt.After(g.At) {
			errs = append(errs, invalid("ends_at", "must be after now"))
		}
	}
	if len(g.Reason) > MaxReasonLen {
		errs = append(errs, invalid("reason", "must be at most %d characters", MaxReasonLen))
	}
	return errors.Join(errs...)
}

// DecideGrant returns the SubscriptionGranted event of g.
func (p *Pool) DecideGrant(g Grant) (*v1.Event, error) {
	if p.suspended {
		return nil, ErrSuspended
	}
	if err := g.Check(); err != nil {
		return nil, err
	}
	e := &v1.SubscriptionGranted{UserId: g.User, ProductCodes: g.Products, Reason: g.Reason}
	if !g.EndsAt.IsZero() {
		e.EndsAt = timestamppb.New(g.EndsAt)
	}
	ev := p.envelope(g.EventID, g.At, g.Actor)
	ev.Payload = &v1.Event_SubscriptionGranted{SubscriptionGranted: e}
	return ev, nil
}

// DecideRevoke returns the SubscriptionRevoked event taking products (none:
// all) from user's subscription; each named product must be subscribed.
func (p *Pool) DecideRevoke(eventID, user string, products []string, reason string, at time.Time, actor *v1.Actor) (*v1.Event, error) {
	if len(products) > MaxProductsPerUser {
		return nil, invalid("product_codes", "at most %d products, got %d", MaxProductsPerUser, len(products))
	}
	if len(reason) > MaxReasonLen {
		return nil, invalid("reason", "must be at most %d characters", MaxReasonLen)
	}
	held := p.subs[user]
	if len(held) == 0 {
		return nil, fmt.Errorf("user %s holds no subscription: %w", user, ErrNotFound)
	}
	for _, c := range products {
		if _, ok := held[c]; !ok {
			return nil, fmt.Errorf("user %s holds no subscription for %s: %w", user, c, ErrNotFound)
		}
	}
	ev := p.envelope(eventID, at, actor)
	ev.Payload = &v1.Event_SubscriptionRevoked{SubscriptionRevoked: &v1.SubscriptionRevoked{
		UserId: user, ProductCodes: products, Reason: reason,
	}}
	return ev, nil
}

// applySubscription folds the subscription events.
func (p *Pool) applySubscription(ev *v1.Event, t time.Time) {
	o := Outcome{Decision: v1.Decision_DECISION_AUTHORIZED}
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_SubscriptionGranted:
		e := pl.SubscriptionGranted
		var ends time.Time
		if e.GetEndsAt() != nil {
			ends = e.GetEndsAt().AsTime()
		}
		for _, c := range e.GetProductCodes() {
			p.restoreSubscription(Subscription{User: e.GetUserId(), Product: c, EndsAt: ends, GrantedAt: t})
		}
	case *v1.Event_SubscriptionRevoked:
		e := pl.SubscriptionRevoked
		if len(e.GetProductCodes()) == 0 {
			delete(p.subs, e.GetUserId())
			break
		}
		for _, c := range e.GetProductCodes() {
			delete(p.subs[e.GetUserId()], c)
		}
		if len(p.subs[e.GetUserId()]) == 0 {
			delete(p.subs, e.GetUserId())
		}
	case *v1.Event_LaunchSubscribed:
		e := pl.LaunchSubscribed
		o = subscribedOutcome(e.GetUserId(), e.GetProductCode(), e.GetEndsAt(), p.BalanceAt(t).Available)
	}
	p.remember(ev.GetEventId(), o, t)
}

func subscribedOutcome(user, product string, ends *timestamppb.Timestamp, balance int64) Outcome {
	o := Outcome{
		Decision: v1.Decision_DECISION_AUTHORIZED, BalanceAfter: balance, KeepRunning: true,
		Fingerprint: Fingerprint(user, product), BySubscription: true,
	}
	if ends != nil {
		o.WindowEnd = ends.AsTime()
	}
	return o
}

// decideSubscribed is a launch authorized by the user's subscription, if
// they hold one for the product: LaunchSubscribed, nothing charged.
func (p *Pool) decideSubscribed(l Launch, cat *Catalog) (Outcome, *v1.Event, bool) {
	if !p.holds(l.User, l.Product) {
		return Outcome{}, nil, false // the usual case, without a catalog lookup
	}
	_, known := cat.At(l.Product, l.At)
	s, ok := p.subscribed(l.User, l.Product, known, l.At)
	if !ok {
		return Outcome{}, nil, false
	}
	e := &v1.LaunchSubscribed{
		UserId: l.User, ProductCode: l.Product, ProductVersion: l.Version, DeviceId: l.Device, Attributes: l.Attributes,
	}
	if !s.EndsAt.IsZero() {
		e.EndsAt = timestamppb.New(s.EndsAt)
	}
	ev := p.envelope(l.EventID, l.At, l.Actor)
	ev.Payload = &v1.Event_LaunchSubscribed{LaunchSubscribed: e}
	o := subscribedOutcome(l.User, l.Product, e.GetEndsAt(), p.BalanceAt(l.At).Available)
	o.At = l.At
	return o, ev, true
}

// subscribedHeartbeat keeps a subscribed session running: nothing to charge
// or renew while the subscription lasts.
func (p *Pool) subscribedHeartbeat(h Heartbeat, cat *Catalog) (Outcome, bool) {
	if !p.holds(h.User, h.Product) {
		return Outcome{}, false
	}
	_, known := cat.At(h.Product, h.At)
	s, ok := p.subscribed(h.User, h.Product, known, h.At)
	if !ok {
		return Outcome{}, false
	}
	o := Outcome{Decision: v1.Decision_DECISION_AUTHORIZED, BalanceAfter: p.BalanceAt(h.At).Available,
		KeepRunning: true, At: h.At, WindowEnd: s.EndsAt, BySubscription: true}
	return o, true
}

// allSubscriptions returns every subscription held, ended or not, by user
// then product: what a snapshot keeps.
func (p *Pool) allSubscriptions() []Subscription {
	var out []Subscription
	for _, byProduct := range p.subs {
		for _, s := range byProduct {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Subscription) int {
		return cmp.Or(strings.Compare(a.User, b.User), strings.Compare(a.Product, b.Product))
	})
	return out
}

func (p *Pool) restoreSubscriptions(subs []Subscription) {
	for _, s := range subs {
		p.restoreSubscription(s)
	}
}

func (p *Pool) restoreSubscription(s Subscription) {
	if p.subs == nil {
		p.subs = map[string]map[string]Subscription{}
	}
	if p.subs[s.User] == nil {
		p.subs[s.User] = map[string]Subscription{}
	}
	p.subs[s.User][s.Product] = s
}

// describeSubscription fills the history rows of the subscription events.
func describeSubscription(ev *v1.Event, tx *v1.Transaction) (*v1.Transaction, bool) {
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_SubscriptionGranted:
		e := pl.SubscriptionGranted
		tx.Type, tx.UserId, tx.Reason = "subscription_granted", e.GetUserId(), e.GetReason()
		tx.Detail = "named subscription for " + productsText(e.GetProductCodes()) + " until revoked"
		if e.GetEndsAt() != nil {
			tx.Detail = "named subscription for " + productsText(e.GetProductCodes()) + " until " + stamp(e.GetEndsAt().AsTime())
		}
	case *v1.Event_SubscriptionRevoked:
		e := pl.SubscriptionRevoked
		tx.Type, tx.UserId, tx.Reason = "subscription_revoked", e.GetUserId(), e.GetReason()
		tx.Detail = "named subscription revoked for every product"
		if len(e.GetProductCodes()) > 0 {
			tx.Detail = "named subscription revoked for " + productsText(e.GetProductCodes())
		}
	case *v1.Event_LaunchSubscribed:
		e := pl.LaunchSubscribed
		tx.Type, tx.UserId, tx.ProductCode = "launch_subscribed", e.GetUserId(), e.GetProductCode()
		tx.Detail = "authorized by the user's named subscription: no tokens"
	default:
		return describeGroup(ev, tx)
	}
	return tx, true
}
