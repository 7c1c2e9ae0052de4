package pool

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// PackTermMonths is how long a pack lives by default.
const PackTermMonths = 12

// AddPack is an admin's purchase, true-up or adjustment pack.
type AddPack struct {
	EventID, PackID string
	Tokens          int64
	UnitPriceMicros int64
	Currency        string
	PurchasedAt     time.Time // zero: At
	ExpiresAt       time.Time // zero: PurchasedAt + 12 months, or ContractEnd if earlier
	ContractEnd     time.Time
	Source          v1.PackSource
	Reason          string
	At              time.Time
	Actor           *v1.Actor
}

// DecideAddPack validates a new pack and returns its PackAdded event.
func (p *Pool) DecideAddPack(c AddPack) (*v1.Event, error) {
	if p.suspended {
		return nil, ErrSuspended
	}
	if c.Tokens <= 0 {
		return nil, fmt.Errorf("%w: tokens must be positive, got %d", ErrInvalid, c.Tokens)
	}
	if c.UnitPriceMicros < 0 {
		return nil, fmt.Errorf("%w: unit price must not be negative", ErrInvalid)
	}
	if _, dup := p.packIdx[c.PackID]; dup {
		return nil, fmt.Errorf("pack %s: %w", c.PackID, ErrPackExists)
	}
	if c.PurchasedAt.IsZero() {
		c.PurchasedAt = c.At
	}
	if c.ExpiresAt.IsZero() {
		c.ExpiresAt = c.PurchasedAt.AddDate(0, PackTermMonths, 0)
		if !c.ContractEnd.IsZero() && c.ContractEnd.Before(c.ExpiresAt) {
			c.ExpiresAt = c.ContractEnd
		}
	}
	if !c.ExpiresAt.After(c.At) {
		return nil, fmt.Errorf("%w: the pack would expire at %s, not after now (%s)", ErrInvalid,
			c.ExpiresAt.UTC().Format(time.RFC3339), c.At.UTC().Format(time.RFC3339))
	}
	if c.Source == v1.PackSource_PACK_SOURCE_UNSPECIFIED {
		c.Source = v1.PackSource_PACK_SOURCE_PURCHASE
	}
	ev := p.envelope(c.EventID, c.At, c.Actor)
	ev.Payload = &v1.Event_PackAdded{PackAdded: &v1.PackAdded{
		PackId: c.PackID, Tokens: c.Tokens, UnitPriceMicros: c.UnitPriceMicros, Currency: c.Currency,
		PurchasedAt: timestamppb.New(c.PurchasedAt), ExpiresAt: timestamppb.New(c.ExpiresAt),
		Source: c.Source, Reason: c.Reason, Pool: p.figures(c.At, c.Tokens, c.Tokens),
	}}
	return ev, nil
}

// Adjust takes tokens out of the pool (removal or refund) with a reason.
type Adjust struct {
	EventID string
	Kind    v1.AdjustmentKind
	Tokens  int64
	Reason  string
	At      time.Time
	Actor   *v1.Actor
}

// DecideAdjust returns the TokensAdjusted event of a removal or refund; the
// tokens come from the packs in burn-down order, and never more than there are.
func (p *Pool) DecideAdjust(c Adjust) (*v1.Event, error) {
	if p.suspended {
		return nil, ErrSuspended
	}
	switch c.Kind {
	case v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE, v1.AdjustmentKind_ADJUSTMENT_KIND_REFUND:
	default:
		return nil, fmt.Errorf("%w: adjustment kind %s is not supported here", ErrInvalid, c.Kind)
	}
	if c.Tokens <= 0 {
		return nil, fmt.Errorf("%w: tokens must be positive, got %d", ErrInvalid, c.Tokens)
	}
	if c.Reason == "" {
		return nil, fmt.Errorf("%w: a reason is required", ErrInvalid)
	}
	parts, ok := p.split(c.Tokens, c.At)
	if !ok {
		return nil, fmt.Errorf("remove %d tokens, %d available: %w", c.Tokens, p.BalanceAt(c.At).Available, ErrInsufficient)
	}
	ev := p.envelope(c.EventID, c.At, c.Actor)
	ev.Payload = &v1.Event_TokensAdjusted{TokensAdjusted: &v1.TokensAdjusted{
		Kind: c.Kind, Tokens: c.Tokens, Split: parts, Reason: c.Reason, Pool: p.figures(c.At, -c.Tokens, 0),
	}}
	return ev, nil
}

// DecideAssign returns the UserAssigned event giving user the products ("*" = all).
func (p *Pool) DecideAssign(eventID, user string, products []string, at time.Time, actor *v1.Actor) (*v1.Event, error) {
	if user == "" {
		return nil, fmt.Errorf("%w: user is required", ErrInvalid)
	}
	if len(products) == 0 {
		return nil, fmt.Errorf("%w: name the products the user may open (or \"*\" for all)", ErrInvalid)
	}
	ev := p.envelope(eventID, at, actor)
	ev.Payload = &v1.Event_UserAssigned{UserAssigned: &v1.UserAssigned{UserId: user, ProductCodes: products}}
	return ev, nil
}

// DecideUnassign returns the UserUnassigned event of an assigned user.
func (p *Pool) DecideUnassign(eventID, user string, at time.Time, actor *v1.Actor) (*v1.Event, error) {
	if _, ok := p.users[user]; !ok {
		return nil, fmt.Errorf("user %s is not assigned: %w", user, ErrNotFound)
	}
	ev := p.envelope(eventID, at, actor)
	ev.Payload = &v1.Event_UserUnassigned{UserUnassigned: &v1.UserUnassigned{UserId: user}}
	return ev, nil
}

// DueExpiries returns a PackExpired event, stamped at its expiry instant, for
// every pack that has expired by now but is not yet recorded as expired.
// Their ids are derived from the pack, so every replica proposes the same event.
func (p *Pool) DueExpiries(now time.Time) []*v1.Event {
	var out []*v1.Event
	for _, pk := range p.burnOrder() {
		if pk.Expired || now.Before(pk.ExpiresAt) {
			continue
		}
		ev := p.envelope("expire-"+p.Team+"-"+pk.ID, pk.ExpiresAt, &v1.Actor{Kind: "system", Id: "ledger"})
		b := p.BalanceAt(pk.ExpiresAt)
		ev.Payload = &v1.Event_PackExpired{PackExpired: &v1.PackExpired{
			PackId: pk.ID, TokensLost: pk.Remaining,
			Pool: &v1.PoolFigures{Available: b.Available, Live: b.Live},
		}}
		out = append(out, ev)
	}
	return out
}
