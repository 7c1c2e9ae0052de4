package pool

import (
	"errors"
	"fmt"
	"slices"
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

// Check returns the FieldErrors of an AddPack that no pool could accept:
// numbers out of bounds, times beyond MaxTimeOffset, an expiry not after now.
func (c AddPack) Check() error {
	if err := c.checkFields(); err != nil {
		return err
	}
	return c.checkExpiry()
}

func (c AddPack) checkFields() error {
	var errs []error
	errs = append(errs, CheckRange("tokens", c.Tokens, 1, MaxPackTokens), CheckPrice("unit_price_micros", c.Tokens, c.UnitPriceMicros))
	for _, tf := range []struct {
		field string
		t     time.Time
	}{{"purchased_at", c.PurchasedAt}, {"expires_at", c.ExpiresAt}, {"contract_end", c.ContractEnd}} {
		if !tf.t.IsZero() {
			errs = append(errs, CheckTime(tf.field, tf.t, c.At))
		}
	}
	if _, ok := v1.PackSource_name[int32(c.Source)]; !ok {
		errs = append(errs, invalid("source", "is not a known pack source"))
	}
	if len(c.Currency) > MaxCurrencyLen {
		errs = append(errs, invalid("currency", "must be at most %d characters", MaxCurrencyLen))
	}
	if len(c.Reason) > MaxReasonLen {
		errs = append(errs, invalid("reason", "must be at most %d characters", MaxReasonLen))
	}
	return errors.Join(errs...)
}

func (c AddPack) checkExpiry() error {
	field, exp := c.expiry()
	if !exp.After(c.At) {
		return invalid(field, "the pack would expire at %s, not after now (%s)",
			exp.UTC().Format(time.RFC3339), c.At.UTC().Format(time.RFC3339))
	}
	return nil
}

// expiry is when the pack expires (given, or by default) and the field that says so.
func (c AddPack) expiry() (field string, t time.Time) {
	if !c.ExpiresAt.IsZero() {
		return "expires_at", c.ExpiresAt
	}
	purchased := c.PurchasedAt
	if purchased.IsZero() {
		purchased = c.At
	}
	t = purchased.AddDate(0, PackTermMonths, 0)
	if !c.ContractEnd.IsZero() && c.ContractEnd.Before(t) {
		return "contract_end", c.ContractEnd
	}
	return "purchased_at", t
}

// DecideAddPack validates a new pack and returns its PackAdded event. The
// pool may hold at most MaxPoolTokens live tokens afterwards.
func (p *Pool) DecideAddPack(c AddPack) (*v1.Event, error) {
	if p.suspended {
		return nil, ErrSuspended
	}
	if err := c.checkFields(); err != nil {
		return nil, err
	}
	if _, dup := p.packIdx[c.PackID]; dup {
		return nil, fmt.Errorf("pack %s: %w", c.PackID, ErrPackExists)
	}
	if err := c.checkExpiry(); err != nil {
		return nil, err
	}
	if live := p.BalanceAt(c.At).Live; c.Tokens > MaxPoolTokens-live {
		return nil, invalid("tokens", "the pool would hold %d live tokens, at most 10^15", live+c.Tokens)
	}
	if c.PurchasedAt.IsZero() {
		c.PurchasedAt = c.At
	}
	_, c.ExpiresAt = c.expiry()
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

// Check returns the FieldErrors of an adjustment no pool could accept.
func (c Adjust) Check() error {
	var errs []error
	switch c.Kind {
	case v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE, v1.AdjustmentKind_ADJUSTMENT_KIND_REFUND:
	default:
		errs = append(errs, invalid("kind", "adjustment kind %s is not supported here", c.Kind))
	}
	errs = append(errs, CheckRange("tokens", c.Tokens, 1, MaxPoolTokens))
	if c.Reason == "" {
		errs = append(errs, invalid("reason", "is required: say why tokens are taken out"))
	} else if len(c.Reason) > MaxReasonLen {
		errs = append(errs, invalid("reason", "must be at most %d characters", MaxReasonLen))
	}
	return errors.Join(errs...)
}

// DecideAdjust returns the TokensAdjusted event of a removal or refund; the
// tokens come from the packs in burn-down order, and never more than there are.
func (p *Pool) DecideAdjust(c Adjust) (*v1.Event, error) {
	if p.suspended {
		return nil, ErrSuspended
	}
	if err := c.Check(); err != nil {
		return nil, err
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

// CheckAssign returns the FieldError of an assignment's products: 1 to
// MaxProductsPerUser of them (the edge checks each code's form).
func CheckAssign(products []string) error {
	if len(products) == 0 {
		return invalid("product_codes", "name the products the user may open (or \"*\" for all)")
	}
	if len(products) > MaxProductsPerUser {
		return invalid("product_codes", "at most %d products, got %d", MaxProductsPerUser, len(products))
	}
	return nil
}

// DecideAssign returns the UserAssigned event giving user the products ("*" = all).
func (p *Pool) DecideAssign(eventID, user string, products []string, at time.Time, actor *v1.Actor) (*v1.Event, error) {
	if user == "" {
		return nil, invalid("user_id", "is required")
	}
	if err := CheckAssign(products); err != nil {
		return nil, err
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

// Changes an assignment can make (PlanAssign).
const (
	ChangeAssign    = "assign"
	ChangeReplace   = "replace"
	ChangeUnassign  = "unassign"
	ChangeUnchanged = "unchanged"
)

// PlanAssign says what assigning user the products (or unassigning, when
// unassign) would change, and the products assigned now, sorted.
func (p *Pool) PlanAssign(user string, products []string, unassign bool) (change string, now []string) {
	cur, assigned := p.users[user]
	for c := range cur {
		now = append(now, c)
	}
	slices.Sort(now)
	switch {
	case unassign && !assigned:
		return ChangeUnchanged, now
	case unassign:
		return ChangeUnassign, now
	case !assigned:
		return ChangeAssign, now
	}
	want := slices.Compact(slices.Sorted(slices.Values(products)))
	if slices.Equal(want, now) {
		return ChangeUnchanged, now
	}
	return ChangeReplace, now
}
