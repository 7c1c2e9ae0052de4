package pool

import (
	"fmt"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// AppliedRetention is how long a pool remembers the answer given to an event
// id, well beyond JetStream's duplicate window.
const AppliedRetention = 48 * time.Hour

// Pool is one team's token pool, as folded from its ledger events.
type Pool struct {
	Org, Team string

	packs   []*Pack
	packIdx map[string]*Pack
	// ordered caches burnDownOrder(packs) for burnOrder.
	ordered []*Pack
	windows map[windowKey]*Window
	users   map[string]map[string]bool // user → products ("*" = all)
	applied map[string]answer

	suspended  bool
	mergedInto string
	budgets    map[string]*budgetState
	moves      map[string]*Move
	capacities map[string]*capacity
	// subs are the named subscriptions: user → product → subscription.
	subs map[string]map[string]Subscription
	// groups are the team's user groups by id; memberOf indexes them by
	// member (user → group ids), for the launch path.
	groups   map[string]*userGroup
	memberOf map[string]map[string]bool

	purchased, debited, expired, removed int64
	// lastTime is the server time of the newest folded event.
	lastTime time.Time
}

// New returns an empty pool.
func New(org, team string) *Pool {
	return &Pool{
		Org: org, Team: team,
		packIdx: map[string]*Pack{},
		windows: map[windowKey]*Window{},
		users:   map[string]map[string]bool{},
		applied: map[string]answer{},
		budgets: map[string]*budgetState{},
		moves:   map[string]*Move{},

		capacities: map[string]*capacity{},
		groups:     map[string]*userGroup{}, memberOf: map[string]map[string]bool{},
	}
}

// Balance is the pool's money at a glance.
type Balance struct {
	Available, Purchased, Debited, Expired, Removed int64
	// Live is the size of the packs not yet expired at the time asked.
	Live       int64
	NextExpiry time.Time
}

// BalanceAt returns the balance seen at t: packs past their expiry are not
// available even before their PackExpired event is folded.
func (p *Pool) BalanceAt(t time.Time) Balance {
	b := Balance{Purchased: p.purchased, Debited: p.debited, Expired: p.expired, Removed: p.removed}
	for _, pk := range p.packs {
		if !pk.LiveAt(t) {
			continue
		}
		b.Available += pk.Remaining
		b.Live += pk.Tokens
		if pk.Remaining > 0 && (b.NextExpiry.IsZero() || pk.ExpiresAt.Before(b.NextExpiry)) {
			b.NextExpiry = pk.ExpiresAt
		}
	}
	return b
}

// Available is purchased − debited − expired − removed: the tokens the folded
// events leave, before any lazy expiry.
func (p *Pool) Available() int64 { return p.purchased - p.debited - p.expired - p.removed }

// Packs returns the packs in burn-down order.
func (p *Pool) Packs() []*Pack { return append([]*Pack(nil), p.burnOrder()...) }

// burnOrder returns the packs in burn-down order, shared: callers must not
// change the slice. Every decision walks it (expiries due, the split of a
// charge), so it is kept rather than copied and sorted each time. Packs are
// only ever appended and the fields it sorts on never change, so it is
// sorted again only when a pack was added.
func (p *Pool) burnOrder() []*Pack {
	if len(p.ordered) != len(p.packs) {
		p.ordered = burnDownOrder(p.packs)
	}
	return p.ordered
}

// figures is the PoolFigures carried by an event decided at t, computed as if
// the event's own effect were applied (after is the available change).
func (p *Pool) figures(t time.Time, availableDelta, liveDelta int64) *v1.PoolFigures {
	return p.fillFigures(new(v1.PoolFigures), t, availableDelta, liveDelta)
}

// fillFigures sets f to what figures returns, and returns f.
func (p *Pool) fillFigures(f *v1.PoolFigures, t time.Time, availableDelta, liveDelta int64) *v1.PoolFigures {
	b := p.BalanceAt(t)
	f.Available, f.Live = b.Available+availableDelta, b.Live+liveDelta
	return f
}

// Applied returns the answer already given to an event id.
func (p *Pool) Applied(eventID string) (Outcome, bool) {
	a, ok := p.applied[eventID]
	if !ok {
		return Outcome{}, false
	}
	return a.outcome(), true
}

// Apply folds one event of this pool. It is the only way state changes. An
// event it refuses (ErrRefused: numbers out of bounds or not adding up)
// changes nothing but the remembered ids.
func (p *Pool) Apply(ev *v1.Event) error {
	t := ev.GetServerTime().AsTime()
	if err := p.apply(ev, t); err != nil {
		if _, known := p.applied[ev.GetEventId()]; !known {
			p.remember(ev.GetEventId(), Outcome{}, t)
		}
		return fmt.Errorf("fold %s: %w: %w", ev.GetEventId(), ErrRefused, err)
	}
	if t.After(p.lastTime) {
		p.lastTime = t
	}
	return nil
}

func (p *Pool) apply(ev *v1.Event, t time.Time) error {
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_PackAdded:
		return p.applyPackAdded(ev.GetEventId(), pl.PackAdded, t)
	case *v1.Event_WindowCharged:
		e := pl.WindowCharged
		if err := p.debit(e.GetSplit(), e.GetTokens(), &p.debited); err != nil {
			return err
		}
		w := p.window(e.GetUserId(), e.GetProductCode())
		w.ID, w.Start, w.End = e.GetWindowId(), e.GetWindowStart().AsTime(), e.GetWindowEnd().AsTime()
		p.spend(e, w.Start)
		p.remember(ev.GetEventId(), Outcome{
			Decision: v1.Decision_DECISION_AUTHORIZED, Tokens: e.GetTokens(), WindowID: w.ID,
			WindowEnd: w.End, BalanceAfter: e.GetPool().GetAvailable(), KeepRunning: true,
			Fingerprint: w.fingerprint,
		}, t)
	case *v1.Event_LaunchCovered:
		e := pl.LaunchCovered
		p.remember(ev.GetEventId(), Outcome{
			Decision: v1.Decision_DECISION_AUTHORIZED, WindowID: e.GetWindowId(),
			WindowEnd: e.GetWindowEnd().AsTime(), BalanceAfter: p.BalanceAt(t).Available, KeepRunning: true,
			Fingerprint: p.fingerprint(e.GetUserId(), e.GetProductCode()),
		}, t)
	case *v1.Event_LaunchDenied:
		e := pl.LaunchDenied
		p.remember(ev.GetEventId(), Outcome{
			Decision: v1.Decision_DECISION_DENIED, DenyReason: e.GetReason(),
			BalanceAfter: e.GetPool().GetAvailable(),
			Fingerprint:  p.fingerprint(e.GetUserId(), e.GetProductCode()),
		}, t)
	case *v1.Event_PackExpired:
		return p.applyPackExpired(ev.GetEventId(), pl.PackExpired, t)
	case *v1.Event_TokensAdjusted:
		e := pl.TokensAdjusted
		if err := p.debit(e.GetSplit(), e.GetTokens(), &p.removed); err != nil {
			return err
		}
		if e.GetKind() == v1.AdjustmentKind_ADJUSTMENT_KIND_MOVE_OUT {
			p.recordMove(ev.GetEventId(), e.GetCounterpartyTeamId(), e.GetSplit())
		}
		p.remember(ev.GetEventId(), Outcome{Decision: v1.Decision_DECISION_AUTHORIZED, BalanceAfter: e.GetPool().GetAvailable()}, t)
	case *v1.Event_PoolSuspended:
		return p.applySuspended(ev.GetEventId(), pl.PoolSuspended, t)
	default:
		return p.applyAdmin(ev, t)
	}
	return nil
}

// applyAdmin folds the events that move no tokens.
func (p *Pool) applyAdmin(ev *v1.Event, t time.Time) error {
	authorized := Outcome{Decision: v1.Decision_DECISION_AUTHORIZED}
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_UserAssigned:
		e := pl.UserAssigned
		set := map[string]bool{}
		for _, c := range e.GetProductCodes() {
			set[c] = true
		}
		p.users[e.GetUserId()] = set
	case *v1.Event_BudgetSet:
		p.setBudget(pl.BudgetSet.GetBudget())
	case *v1.Event_BudgetCrossed:
		p.budgetCrossed(pl.BudgetCrossed)
	case *v1.Event_UserUnassigned:
		delete(p.users, pl.UserUnassigned.GetUserId())
	case *v1.Event_CapacitySet, *v1.Event_CapacityUsed, *v1.Event_CapacityReturned:
		return p.applyCapacity(ev)
	case *v1.Event_UserGroupSet, *v1.Event_UserGroupMembersChanged, *v1.Event_UserGroupDeleted:
		p.applyGroup(ev)
	case *v1.Event_SubscriptionGranted, *v1.Event_SubscriptionRevoked, *v1.Event_LaunchSubscribed:
		p.applySubscription(ev, t)
		return nil
	default:
		// Events of later versions that this one does not know: remembered so
		// their ids are never reused, otherwise ignored.
		authorized = Outcome{}
	}
	p.remember(ev.GetEventId(), authorized, t)
	return nil
}

func (p *Pool) applyPackAdded(id string, e *v1.PackAdded, t time.Time) error {
	if _, dup := p.packIdx[e.GetPackId()]; dup {
		return fmt.Errorf("pack %s: %w", e.GetPackId(), ErrPackExists)
	}
	if err := CheckRange("tokens", e.GetTokens(), 1, MaxPackTokens); err != nil {
		return err
	}
	purchased, ok := addChecked(p.purchased, e.GetTokens())
	if !ok {
		return fmt.Errorf("pack %s: %d tokens would overflow the pool's purchases", e.GetPackId(), e.GetTokens())
	}
	pk := &Pack{
		ID: e.GetPackId(), Tokens: e.GetTokens(), Remaining: e.GetTokens(),
		UnitPriceMicros: e.GetUnitPriceMicros(), Currency: e.GetCurrency(),
		PurchasedAt: e.GetPurchasedAt().AsTime(), ExpiresAt: e.GetExpiresAt().AsTime(),
		Source: e.GetSource(), order: len(p.packs),
	}
	p.packs = append(p.packs, pk)
	p.packIdx[pk.ID] = pk
	p.purchased = purchased
	p.remember(id, Outcome{Decision: v1.Decision_DECISION_AUTHORIZED, BalanceAfter: e.GetPool().GetAvailable()}, t)
	return nil
}

func (p *Pool) applyPackExpired(id string, e *v1.PackExpired, t time.Time) error {
	pk, ok := p.packIdx[e.GetPackId()]
	if !ok {
		return fmt.Errorf("pack %s: %w", e.GetPackId(), ErrNotFound)
	}
	if pk.Remaining != e.GetTokensLost() {
		return fmt.Errorf("pack %s lost %d tokens but had %d", pk.ID, e.GetTokensLost(), pk.Remaining)
	}
	pk.Remaining, pk.Expired = 0, true
	p.expired += e.GetTokensLost()
	p.remember(id, Outcome{Decision: v1.Decision_DECISION_AUTHORIZED, BalanceAfter: e.GetPool().GetAvailable()}, t)
	return nil
}

func (p *Pool) applySuspended(id string, e *v1.PoolSuspended, t time.Time) error {
	if len(e.GetSplit()) > 0 || e.GetTokensMoved() != 0 {
		if err := p.debit(e.GetSplit(), e.GetTokensMoved(), &p.removed); err != nil {
			return err
		}
		p.recordMove(id, e.GetMergedIntoTeamId(), e.GetSplit())
	}
	p.suspended, p.mergedInto = true, e.GetMergedIntoTeamId()
	p.remember(id, Outcome{Decision: v1.Decision_DECISION_AUTHORIZED, BalanceAfter: p.Available()}, t)
	return nil
}

// debit takes the split's parts from their packs and adds tokens to total,
// all or nothing: every part must be positive and at most what its pack
// holds, and the parts must add up to tokens. Each part is at most a pack's
// remaining tokens, so the sum stays within what was purchased.
func (p *Pool) debit(parts []*v1.PackSplit, tokens int64, total *int64) error {
	sum := int64(0)
	for i, s := range parts {
		pk, ok := p.packIdx[s.GetPackId()]
		if !ok {
			p.undebit(parts[:i])
			return fmt.Errorf("debit pack %s: %w", s.GetPackId(), ErrNotFound)
		}
		if s.GetTokens() <= 0 || s.GetTokens() > pk.Remaining {
			p.undebit(parts[:i])
			return fmt.Errorf("debit %d from pack %s holding %d: %w", s.GetTokens(), pk.ID, pk.Remaining, ErrInsufficient)
		}
		pk.Remaining -= s.GetTokens()
		sum += s.GetTokens()
	}
	if sum != tokens {
		p.undebit(parts)
		return fmt.Errorf("the split takes %d tokens, the event says %d", sum, tokens)
	}
	*total += tokens
	return nil
}

// undebit gives back parts debit took.
func (p *Pool) undebit(parts []*v1.PackSplit) {
	for _, s := range parts {
		p.packIdx[s.GetPackId()].Remaining += s.GetTokens()
	}
}

// remember records the answer to an event id and forgets answers older than
// AppliedRetention, so memory stays bounded on a busy pool.
func (p *Pool) remember(id string, o Outcome, t time.Time) {
	o.At = t
	p.applied[id] = answerOf(o)
	if len(p.applied)%1024 == 0 {
		for k, v := range p.applied {
			if t.Sub(v.at()) > AppliedRetention {
				delete(p.applied, k)
			}
		}
	}
}
