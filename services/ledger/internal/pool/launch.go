package pool

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Outcome is the answer to an event, kept so that a redelivered event id gets
// the same answer.
type Outcome struct {
	Decision     v1.Decision
	DenyReason   v1.DenyReason
	Tokens       int64
	WindowID     string
	WindowEnd    time.Time
	BalanceAfter int64
	At           time.Time
}

// Launch is a launch stamped with the server's time of receipt.
type Launch struct {
	EventID, User, Product, Version, Device string
	Attributes                              map[string]string
	At                                      time.Time
	Actor                                   *v1.Actor
}

// DecideLaunch decides a launch: covered by an open window (free), charged a
// new window at the product's rate, or denied. The returned event must be
// appended and then folded with Apply. A launch whose event id was already
// decided returns (its outcome, nil): nothing to append.
func (p *Pool) DecideLaunch(l Launch, cat *Catalog) (Outcome, *v1.Event) {
	if o, ok := p.applied[l.EventID]; ok {
		return o, nil
	}
	ev := p.envelope(l.EventID, l.At, l.Actor)
	prod, known := cat.At(l.Product, l.At)
	if reason := p.refusal(l.User, l.Product, known); reason != v1.DenyReason_DENY_REASON_UNSPECIFIED {
		return p.deny(ev, l, reason, prod.DailyRate)
	}
	if w, open := p.OpenWindow(l.User, l.Product, l.At); open {
		ev.Payload = &v1.Event_LaunchCovered{LaunchCovered: &v1.LaunchCovered{
			UserId: l.User, ProductCode: l.Product, ProductVersion: l.Version, DeviceId: l.Device,
			WindowId: w.ID, WindowEnd: timestamppb.New(w.End), Attributes: l.Attributes,
		}}
		return Outcome{
			Decision: v1.Decision_DECISION_AUTHORIZED, WindowID: w.ID, WindowEnd: w.End,
			BalanceAfter: p.BalanceAt(l.At).Available, At: l.At,
		}, ev
	}
	parts, ok := p.split(prod.DailyRate, l.At)
	if !ok {
		return p.deny(ev, l, v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS, prod.DailyRate)
	}
	end := l.At.Add(WindowLength)
	ev.Payload = &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{
		UserId: l.User, ProductCode: l.Product, ProductVersion: l.Version, DeviceId: l.Device,
		WindowId: l.EventID, WindowStart: timestamppb.New(l.At), WindowEnd: timestamppb.New(end),
		Tokens: prod.DailyRate, Split: parts, Pool: p.figures(l.At, -prod.DailyRate, 0),
		Attributes: l.Attributes, ProductGroup: prod.Group,
	}}
	return Outcome{
		Decision: v1.Decision_DECISION_AUTHORIZED, Tokens: prod.DailyRate, WindowID: l.EventID,
		WindowEnd: end, BalanceAfter: p.BalanceAt(l.At).Available - prod.DailyRate, At: l.At,
	}, ev
}

// refusal returns why user may not open product at all, before money is considered.
func (p *Pool) refusal(user, product string, known bool) v1.DenyReason {
	if !known {
		return v1.DenyReason_DENY_REASON_UNKNOWN_PRODUCT
	}
	allowed, assigned := p.users[user]
	if !assigned {
		return v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED
	}
	if !allowed[product] && !allowed["*"] {
		return v1.DenyReason_DENY_REASON_PRODUCT_NOT_ALLOWED
	}
	return v1.DenyReason_DENY_REASON_UNSPECIFIED
}

func (p *Pool) deny(ev *v1.Event, l Launch, reason v1.DenyReason, required int64) (Outcome, *v1.Event) {
	avail := p.BalanceAt(l.At).Available
	ev.Payload = &v1.Event_LaunchDenied{LaunchDenied: &v1.LaunchDenied{
		UserId: l.User, ProductCode: l.Product, ProductVersion: l.Version, DeviceId: l.Device,
		Reason: reason, TokensRequired: required, Pool: p.figures(l.At, 0, 0), Attributes: l.Attributes,
	}}
	return Outcome{Decision: v1.Decision_DECISION_DENIED, DenyReason: reason, BalanceAfter: avail, At: l.At}, ev
}

func (p *Pool) envelope(id string, at time.Time, actor *v1.Actor) *v1.Event {
	return &v1.Event{EventId: id, OrgId: p.Org, TeamId: p.Team, ServerTime: timestamppb.New(at), Actor: actor}
}

// Quote is what a launch would cost at a time, and why.
type Quote struct {
	Tokens      int64
	Affordable  bool
	DenyReason  v1.DenyReason
	Explanation string
	Window      *Window
	Balance     int64
}

// QuoteLaunch tells what a launch of product by user would cost at t, without deciding it.
func (p *Pool) QuoteLaunch(user, product string, t time.Time, cat *Catalog) Quote {
	q := Quote{Balance: p.BalanceAt(t).Available}
	prod, known := cat.At(product, t)
	if reason := p.refusal(user, product, known); reason != v1.DenyReason_DENY_REASON_UNSPECIFIED {
		q.DenyReason, q.Explanation = reason, "the launch would be refused: "+reasonText(reason)
		return q
	}
	if w, open := p.OpenWindow(user, product, t); open {
		q.Affordable, q.Window = true, w
		q.Explanation = "covered by the open window until " + w.End.UTC().Format(time.RFC3339)
		return q
	}
	q.Tokens = prod.DailyRate
	if _, ok := p.split(prod.DailyRate, t); ok {
		q.Affordable = true
		q.Explanation = "a new 24-hour window for " + prod.Code + " at its daily rate"
	} else {
		q.DenyReason = v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS
		q.Explanation = "the pool cannot pay the daily rate"
	}
	return q
}

func reasonText(r v1.DenyReason) string {
	switch r {
	case v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS:
		return "not enough tokens"
	case v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED:
		return "the user is not assigned to the team"
	case v1.DenyReason_DENY_REASON_PRODUCT_NOT_ALLOWED:
		return "the user may not use this product"
	case v1.DenyReason_DENY_REASON_UNKNOWN_PRODUCT:
		return "the product is unknown or has no rate yet"
	case v1.DenyReason_DENY_REASON_BUDGET_EXCEEDED:
		return "a budget is exceeded"
	case v1.DenyReason_DENY_REASON_POOL_SUSPENDED:
		return "the pool is suspended"
	}
	return "unspecified"
}
