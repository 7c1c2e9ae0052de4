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
	// Fingerprint says what the event was about (user and product), so a
	// reused event id with another payload is told from a retry.
	Fingerprint string
	// KeepRunning is the heartbeat answer: false when a renewal was refused.
	KeepRunning bool
	// BySubscription: the user's named subscription authorized it (no
	// tokens, no window; WindowEnd is the subscription's end, if any).
	BySubscription bool `json:",omitempty"`
}

// Fingerprint identifies what a launch or heartbeat is about.
func Fingerprint(user, product string) string { return user + "\x00" + product }

// CheckEventID returns ErrEventIDReused when id was already decided for
// another user or product.
func (p *Pool) CheckEventID(id, user, product string) error {
	a, ok := p.applied[id]
	if ok && a.fingerprint != "" && !isFingerprint(a.fingerprint, user, product) {
		return ErrEventIDReused
	}
	return nil
}

// isFingerprint reports whether fp == Fingerprint(user, product), without
// making the latter.
func isFingerprint(fp, user, product string) bool {
	n := len(user)
	return len(fp) == n+1+len(product) && fp[:n] == user && fp[n] == 0 && fp[n+1:] == product
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
	if a, ok := p.applied[l.EventID]; ok {
		return a.outcome(), nil
	}
	if o, ev, ok := p.decideSubscribed(l, cat); ok {
		return o, ev
	}
	// An open window covers only a launch that may happen at all: a user
	// unassigned (or no longer allowed the product) since it opened is
	// refused like a suspended pool, as QuoteLaunch already says.
	if w, open := p.OpenWindow(l.User, l.Product, l.At); open && p.refusal(l.User, l.Product, true) == v1.DenyReason_DENY_REASON_UNSPECIFIED {
		m := new(coveredMsgs)
		p.fillEnvelope(&m.ev, &m.serverTime, l.EventID, l.At, l.Actor)
		c := &m.covered
		c.UserId, c.ProductCode, c.ProductVersion, c.DeviceId = l.User, l.Product, l.Version, l.Device
		c.WindowId, c.WindowEnd, c.Attributes = w.ID, setTime(&m.end, w.End), l.Attributes
		m.payload.LaunchCovered = c
		m.ev.Payload = &m.payload
		ev := &m.ev
		return Outcome{
			Decision: v1.Decision_DECISION_AUTHORIZED, WindowID: w.ID, WindowEnd: w.End,
			BalanceAfter: p.BalanceAt(l.At).Available, At: l.At, KeepRunning: true,
			Fingerprint: w.fingerprint,
		}, ev
	}
	return p.decideCharge(l, cat, l.At, false)
}

// decideCharge opens a new window at l.At, decided at now: refused for who
// the user is, a hard budget, or a pool that cannot pay in full.
func (p *Pool) decideCharge(l Launch, cat *Catalog, now time.Time, renewal bool) (Outcome, *v1.Event) {
	prod, known := cat.At(l.Product, l.At)
	if reason := p.refusal(l.User, l.Product, known); reason != v1.DenyReason_DENY_REASON_UNSPECIFIED {
		return p.deny(l, now, reason, prod.DailyRate, "", renewal)
	}
	if id := p.hardCapRefusal(l.User, prod.Group, l.Attributes, prod.DailyRate, l.At); id != "" {
		return p.deny(l, now, v1.DenyReason_DENY_REASON_BUDGET_EXCEEDED, prod.DailyRate, id, renewal)
	}
	parts, ok := p.split(prod.DailyRate, now)
	if !ok {
		return p.deny(l, now, v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS, prod.DailyRate, "", renewal)
	}
	ev := p.windowCharged(l, prod, parts, now, renewal)
	return Outcome{
		Decision: v1.Decision_DECISION_AUTHORIZED, Tokens: prod.DailyRate, WindowID: l.EventID,
		WindowEnd: l.At.Add(WindowLength), BalanceAfter: p.BalanceAt(now).Available - prod.DailyRate, At: now,
		KeepRunning: true, Fingerprint: Fingerprint(l.User, l.Product),
	}, ev
}

// refusal returns why user may not open product at all, before money is considered.
func (p *Pool) refusal(user, product string, known bool) v1.DenyReason {
	if p.suspended {
		return v1.DenyReason_DENY_REASON_POOL_SUSPENDED
	}
	if !known {
		return v1.DenyReason_DENY_REASON_UNKNOWN_PRODUCT
	}
	allowed, assigned := p.users[user]
	if allowed[product] || allowed["*"] {
		return v1.DenyReason_DENY_REASON_UNSPECIFIED
	}
	// A member of a user group may open the group's products as if assigned.
	viaGroup, member := p.groupAllows(user, product)
	switch {
	case viaGroup:
		return v1.DenyReason_DENY_REASON_UNSPECIFIED
	case !assigned && !member:
		return v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED
	}
	return v1.DenyReason_DENY_REASON_PRODUCT_NOT_ALLOWED
}

func (p *Pool) deny(l Launch, now time.Time, reason v1.DenyReason, required int64, budget string, renewal bool) (Outcome, *v1.Event) {
	avail := p.BalanceAt(now).Available
	m := new(deniedMsgs)
	p.fillEnvelope(&m.ev, &m.serverTime, l.EventID, now, l.Actor)
	d := &m.denied
	d.UserId, d.ProductCode, d.ProductVersion, d.DeviceId = l.User, l.Product, l.Version, l.Device
	d.Reason, d.TokensRequired, d.Pool, d.Attributes = reason, required, p.fillFigures(&m.figures, now, 0, 0), l.Attributes
	d.BudgetId, d.Renewal = budget, renewal
	m.payload.LaunchDenied = d
	m.ev.Payload = &m.payload
	ev := &m.ev
	return Outcome{Decision: v1.Decision_DECISION_DENIED, DenyReason: reason, BalanceAfter: avail, At: now,
		Fingerprint: Fingerprint(l.User, l.Product)}, ev
}

func (p *Pool) envelope(id string, at time.Time, actor *v1.Actor) *v1.Event {
	return &v1.Event{EventId: id, OrgId: p.Org, TeamId: p.Team, ServerTime: timestamppb.New(at), Actor: actor}
}

// The events a launch or heartbeat decision makes (charged, covered,
// denied) are each allocated as one block of their messages (envelope,
// timestamps, payload wrapper, payload, figures) rather than one
// allocation each. The messages are only ever pointed into, never copied
// (protobuf messages must not be); the event keeps its block alive.
type (
	coveredMsgs struct {
		ev              v1.Event
		payload         v1.Event_LaunchCovered
		covered         v1.LaunchCovered
		serverTime, end timestamppb.Timestamp
	}
	deniedMsgs struct {
		ev         v1.Event
		payload    v1.Event_LaunchDenied
		denied     v1.LaunchDenied
		serverTime timestamppb.Timestamp
		figures    v1.PoolFigures
	}
)

// fillEnvelope sets ev to what envelope returns, its server time in ts.
func (p *Pool) fillEnvelope(ev *v1.Event, ts *timestamppb.Timestamp, id string, at time.Time, actor *v1.Actor) {
	ev.EventId, ev.OrgId, ev.TeamId, ev.ServerTime, ev.Actor = id, p.Org, p.Team, setTime(ts, at), actor
}

// Quote is what a launch would cost at a time, and why.
type Quote struct {
	Tokens      int64
	Affordable  bool
	DenyReason  v1.DenyReason
	Explanation string
	Window      *Window
	Balance     int64
	// BySubscription: the user's named subscription covers the launch.
	BySubscription bool
}

// QuoteLaunch tells what a launch of product by user would cost at t, without deciding it.
func (p *Pool) QuoteLaunch(user, product string, t time.Time, cat *Catalog) Quote {
	q := Quote{Balance: p.BalanceAt(t).Available}
	prod, known := cat.At(product, t)
	if s, ok := p.subscribed(user, product, known, t); ok {
		q.Affordable, q.BySubscription = true, true
		q.Explanation = "covered by the user's named subscription"
		if !s.EndsAt.IsZero() {
			q.Explanation += " until " + s.EndsAt.UTC().Format(time.RFC3339)
		}
		return q
	}
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
	if id := p.hardCapRefusal(user, prod.Group, nil, prod.DailyRate, t); id != "" {
		q.DenyReason, q.Explanation = v1.DenyReason_DENY_REASON_BUDGET_EXCEEDED, "the launch would exceed budget "+id
		return q
	}
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
