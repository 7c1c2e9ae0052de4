package pool

import (
	"fmt"
	"math"
	"sort"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// CapacityRedPercent: a capacity card is red at or below this share available.
const CapacityRedPercent = 20

// MaxCapacityTerm bounds how far ahead a capacity term may end.
const MaxCapacityTerm = 10 * 366 * 24 * time.Hour

// MaxCapacityUseAge bounds how far back a use may be recorded.
const MaxCapacityUseAge = 400 * 24 * time.Hour

// CheckCapacityUseTime returns the FieldError of a use recorded at at when
// it is now: never in the future, at most MaxCapacityUseAge back.
func CheckCapacityUseTime(at, now time.Time) error {
	switch {
	case at.After(now):
		return invalid("received_at", "%s is in the future", at.UTC().Format(time.RFC3339))
	case now.Sub(at) > MaxCapacityUseAge:
		return invalid("received_at", "at most 400 days back")
	}
	return nil
}

// capacity is a capacity product of the pool (seed 004): an exhaustible
// monthly allowance that refreshes each UTC month without rollover, or
// returnable units checked out and given back.
type capacity struct {
	Kind  v1.CapacityKind
	Total int64
	// Used is exhaustible units consumed per month (YYYY-MM-01).
	Used map[string]int64
	// Out is returnable units checked out, by checkout id.
	Out map[string]int64
	// EndsAt is the end of the term (zero: none): from then on the
	// capacity is expired, nothing is available.
	EndsAt time.Time `json:",omitzero"`
}

// CapacityCard is a capacity product's state at a time.
type CapacityCard struct {
	Product          string
	Kind             v1.CapacityKind
	Total, Available int64
	InUse            int64
	Red              bool
	// EndsAt is the term's end, RefreshesAt the exhaustible allowance's next
	// refresh; zero when there is none.
	EndsAt, RefreshesAt time.Time
	Expired             bool
}

func monthKey(t time.Time) string {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
}

func (c *capacity) inUse(at time.Time) int64 {
	if c.Kind == v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE {
		return c.Used[monthKey(at)]
	}
	n := int64(0)
	for _, u := range c.Out {
		if n > math.MaxInt64/4-u {
			return math.MaxInt64 / 4 // saturated: figures subtract from it safely
		}
		n += u
	}
	return n
}

// expiredAt: the term has ended at t (its end instant included).
func (c *capacity) expiredAt(t time.Time) bool {
	return !c.EndsAt.IsZero() && !t.Before(c.EndsAt)
}

// refreshAt is when an exhaustible allowance next refreshes after t: the
// next UTC month start, zero when the term ends first or for returnable
// capacity, which never refreshes.
func (c *capacity) refreshAt(t time.Time) time.Time {
	if c.Kind != v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE || c.expiredAt(t) {
		return time.Time{}
	}
	t = t.UTC()
	next := time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	if !c.EndsAt.IsZero() && !next.Before(c.EndsAt) {
		return time.Time{}
	}
	return next
}

// available is what may still be used at t, less delta: nothing once expired.
func (c *capacity) available(at time.Time, delta int64) int64 {
	if c.expiredAt(at) {
		return 0
	}
	return max(c.Total-c.inUse(at)-delta, 0)
}

func (c *capacity) card(product string, at time.Time) CapacityCard {
	avail := c.available(at, 0)
	return CapacityCard{Product: product, Kind: c.Kind, Total: c.Total, Available: avail, InUse: c.inUse(at),
		Red: avail*100 <= c.Total*CapacityRedPercent, EndsAt: c.EndsAt, RefreshesAt: c.refreshAt(at), Expired: c.expiredAt(at)}
}

func (c *capacity) figures(at time.Time, delta int64) *v1.CapacityFigures {
	return &v1.CapacityFigures{Total: c.Total, Available: c.available(at, delta)}
}

// Capacities lists the pool's capacity products at t, by product code.
func (p *Pool) Capacities(at time.Time) []CapacityCard {
	codes := make([]string, 0, len(p.capacities))
	for code := range p.capacities {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	out := make([]CapacityCard, 0, len(codes))
	for _, code := range codes {
		out = append(out, p.capacities[code].card(code, at))
	}
	return out
}

// Capacity returns one capacity product's card at t.
func (p *Pool) Capacity(product string, at time.Time) (CapacityCard, bool) {
	c, ok := p.capacities[product]
	if !ok {
		return CapacityCard{}, false
	}
	return c.card(product, at), true
}

func (p *Pool) applyCapacity(ev *v1.Event) error {
	t := ev.GetServerTime().AsTime()
	o := Outcome{Decision: v1.Decision_DECISION_AUTHORIZED}
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_CapacitySet:
		e := pl.CapacitySet
		if err := CheckRange("units", e.GetUnits(), 0, MaxCapacityUnits); err != nil {
			return err
		}
		if e.GetUnits() == 0 {
			delete(p.capacities, e.GetProductCode())
			break
		}
		c, ok := p.capacities[e.GetProductCode()]
		if !ok || c.Kind != e.GetKind() {
			c = &capacity{Kind: e.GetKind(), Used: map[string]int64{}, Out: map[string]int64{}}
			p.capacities[e.GetProductCode()] = c
		}
		c.Total, c.EndsAt = e.GetUnits(), time.Time{}
		if e.GetEndsAt() != nil {
			c.EndsAt = e.GetEndsAt().AsTime().UTC()
		}
	case *v1.Event_CapacityUsed:
		e := pl.CapacityUsed
		if err := p.useCapacity(e); err != nil {
			return err
		}
		o = Outcome{Decision: v1.Decision_DECISION_AUTHORIZED, Tokens: e.GetUnits(),
			WindowID: e.GetCheckoutId(), Fingerprint: p.fingerprint(e.GetUserId(), e.GetProductCode())}
	case *v1.Event_CapacityReturned:
		if c, ok := p.capacities[pl.CapacityReturned.GetProductCode()]; ok {
			delete(c.Out, pl.CapacityReturned.GetCheckoutId())
		}
	}
	p.remember(ev.GetEventId(), o, t)
	return nil
}

// useCapacity folds a use: the units are bounded, and a month's use is a
// checked sum (a returnable product's checkouts are summed saturating, see inUse).
func (p *Pool) useCapacity(e *v1.CapacityUsed) error {
	if err := CheckRange("units", e.GetUnits(), 1, MaxCapacityUnits); err != nil {
		return err
	}
	c, ok := p.capacities[e.GetProductCode()]
	if !ok {
		return nil
	}
	if c.Kind != v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE {
		c.Out[e.GetCheckoutId()] = e.GetUnits()
		return nil
	}
	used, ok := addChecked(c.Used[e.GetPeriodStart()], e.GetUnits())
	if !ok {
		return fmt.Errorf("capacity %s: use would overflow", e.GetProductCode())
	}
	c.Used[e.GetPeriodStart()] = used
	return nil
}

// CheckCapacity returns the FieldError of a capacity size: 0 (remove) to
// MaxCapacityUnits of a known kind.
func CheckCapacity(kind v1.CapacityKind, units int64) error {
	if err := CheckRange("units", units, 0, MaxCapacityUnits); err != nil {
		return err
	}
	if _, ok := v1.CapacityKind_name[int32(kind)]; !ok || kind == v1.CapacityKind_CAPACITY_KIND_UNSPECIFIED && units > 0 {
		return invalid("kind", "is required (exhaustible or returnable)")
	}
	return nil
}

// CheckCapacityTerm returns the FieldError of a term end: none (zero), or
// after at and at most MaxCapacityTerm later.
func CheckCapacityTerm(ends, at time.Time) error {
	switch {
	case ends.IsZero():
		return nil
	case !ends.After(at):
		return invalid("ends_at", "%s is not after now (%s)", ends.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	case ends.Sub(at) > MaxCapacityTerm:
		return invalid("ends_at", "at most 10 years ahead")
	}
	return nil
}

// DecideSetCapacity is DecideSetCapacityTerm without a term end.
func (p *Pool) DecideSetCapacity(eventID, product string, kind v1.CapacityKind, units int64, at time.Time, actor *v1.Actor) (*v1.Event, error) {
	return p.DecideSetCapacityTerm(eventID, product, kind, units, time.Time{}, at, actor)
}

// DecideSetCapacityTerm gives the pool a capacity product whose term ends
// at ends (zero: never), changes its size or term, or (units 0) removes it.
func (p *Pool) DecideSetCapacityTerm(eventID, product string, kind v1.CapacityKind, units int64, ends, at time.Time, actor *v1.Actor) (*v1.Event, error) {
	if p.suspended {
		return nil, ErrSuspended
	}
	if err := CheckCapacity(kind, units); err != nil {
		return nil, err
	}
	if err := CheckCapacityTerm(ends, at); err != nil && units > 0 {
		return nil, err
	}
	if _, ok := p.capacities[product]; !ok && units == 0 {
		return nil, fmt.Errorf("capacity %s: %w", product, ErrNotFound)
	}
	ev := p.envelope(eventID, at, actor)
	fig := &v1.CapacityFigures{Total: units, Available: units}
	if c, ok := p.capacities[product]; ok && c.Kind == kind {
		fig.Available = max(units-c.inUse(at), 0)
	}
	set := &v1.CapacitySet{ProductCode: product, Kind: kind, Units: units, Capacity: fig}
	if !ends.IsZero() && units > 0 {
		set.EndsAt = timestamppb.New(ends)
	}
	ev.Payload = &v1.Event_CapacitySet{CapacitySet: set}
	return ev, nil
}

// DecideUseCapacity consumes exhaustible units for this month or checks
// returnable units out; never more than are available. An event id already
// answered returns (nil, nil): nothing to append.
func (p *Pool) DecideUseCapacity(eventID, product, user string, units int64, at time.Time, actor *v1.Actor) (*v1.Event, error) {
	if _, done := p.applied[eventID]; done {
		return nil, nil
	}
	if p.suspended {
		return nil, ErrSuspended
	}
	c, ok := p.capacities[product]
	if !ok {
		return nil, fmt.Errorf("capacity product %s: %w", product, ErrNotFound)
	}
	if err := CheckRange("units", units, 1, MaxCapacityUnits); err != nil {
		return nil, err
	}
	if c.expiredAt(at) {
		return nil, fmt.Errorf("capacity %s expired at %s: %w", product, c.EndsAt.Format(time.RFC3339), ErrInsufficient)
	}
	if avail := c.Total - c.inUse(at); units > avail {
		return nil, fmt.Errorf("use %d units of %s, %d available: %w", units, product, max(avail, 0), ErrInsufficient)
	}
	e := &v1.CapacityUsed{ProductCode: product, Units: units, UserId: user, Capacity: c.figures(at, units)}
	if c.Kind == v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE {
		e.PeriodStart = monthKey(at)
	} else {
		e.CheckoutId = eventID
	}
	ev := p.envelope(eventID, at, actor)
	ev.Payload = &v1.Event_CapacityUsed{CapacityUsed: e}
	return ev, nil
}

// DecideReturnCapacity gives checked-out returnable units back.
func (p *Pool) DecideReturnCapacity(eventID, product, checkoutID string, at time.Time, actor *v1.Actor) (*v1.Event, error) {
	c, ok := p.capacities[product]
	if !ok || c.Kind != v1.CapacityKind_CAPACITY_KIND_RETURNABLE {
		return nil, fmt.Errorf("returnable capacity %s: %w", product, ErrNotFound)
	}
	units, out := c.Out[checkoutID]
	if !out {
		return nil, fmt.Errorf("checkout %s of %s (returned already, or never made): %w", checkoutID, product, ErrNotFound)
	}
	ev := p.envelope(eventID, at, actor)
	ev.Payload = &v1.Event_CapacityReturned{CapacityReturned: &v1.CapacityReturned{
		ProductCode: product, CheckoutId: checkoutID, Units: units, Capacity: c.figures(at, -units)}}
	return ev, nil
}
