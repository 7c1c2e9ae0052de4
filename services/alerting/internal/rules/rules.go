// Package rules is alerting's pure domain core: events in, alerts out. It
// does no I/O and never reads the wall clock: an alert is raised at the
// server time of the event that caused it, or at the time a Tick names, so a
// replay of the same events and ticks yields the same alerts with the same ids.
//
// Every rule fires once when its condition starts to hold and re-arms when
// it stops. Time-based rules (packs expiring, inactive users) are evaluated
// at each event of the team, at every hour of event time for every team, and
// at each Tick; those evaluations only ever fire, never re-arm, so a tick
// that raised nothing changed nothing and need not be replayed.
package rules

import (
	"slices"
	"strings"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/subject"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Alert kinds; each is the last token of the alert's ALERTS subject.
const (
	KindLowBalance     = "low_balance"
	KindLaunchDenied   = "launch_denied"
	KindUsageTier      = "usage_tier"
	KindForecastRunOut = "forecast_run_out"
	KindBurnPace       = "burn_pace"
	KindPackExpiring   = "pack_expiring"
	KindUsageSpike     = "usage_spike"
	KindHeavyUser      = "heavy_user"
	KindMultiProduct   = "multi_product"
	KindLongSession    = "long_session"
	KindSessionRenewed = "session_renewed"
	KindInactiveUser   = "inactive_user"
	KindBudgetCrossed  = "budget_crossed"
	KindCapacityLow    = "capacity_low"
)

// Kinds lists every alert kind, for series that show each from the start.
var Kinds = []string{KindLowBalance, KindLaunchDenied, KindUsageTier, KindForecastRunOut, KindBurnPace,
	KindPackExpiring, KindUsageSpike, KindHeavyUser, KindMultiProduct, KindLongSession, KindSessionRenewed,
	KindInactiveUser, KindBudgetCrossed, KindCapacityLow}

// sweepEvery is how much event time passes between evaluations of the
// time-based rules of every team.
const sweepEvery = time.Hour

type teamKey struct{ org, team string }

// settings are the defaults and each team's own rules.
type settings struct {
	defaults Config
	teams    map[teamKey]*Config
}

func newSettings(defaults Config) (settings, error) {
	if err := defaults.Validate(); err != nil {
		return settings{}, err
	}
	return settings{defaults: defaults.normalised(), teams: map[teamKey]*Config{}}, nil
}

func (s *settings) set(org, team string, cfg *Config) {
	if cfg == nil {
		delete(s.teams, teamKey{org, team})
		return
	}
	c := cfg.normalised()
	s.teams[teamKey{org, team}] = &c
}

func (s *settings) of(k teamKey) *Config {
	if c := s.teams[k]; c != nil {
		return c
	}
	return &s.defaults
}

// Rules folds LEDGER events into per-team rule state. It is not safe for
// concurrent use: one goroutine feeds it the stream in order.
type Rules struct {
	settings
	teams map[teamKey]*team
	// zones are the organisations' time zones (absent: UTC).
	zones     map[string]*time.Location
	lastSweep time.Time
}

// New returns rules with no state; defaults apply to teams without settings.
func New(defaults Config) (*Rules, error) {
	s, err := newSettings(defaults)
	if err != nil {
		return nil, err
	}
	return &Rules{settings: s, teams: map[teamKey]*team{}, zones: map[string]*time.Location{}}, nil
}

// SetTeamConfig gives a team its own rules (nil: back to the defaults). The
// caller validated cfg. It applies from the next event on.
func (r *Rules) SetTeamConfig(org, team string, cfg *Config) { r.set(org, team, cfg) }

// Teams is the number of pools with rule state (for metrics and tests).
func (r *Rules) Teams() int { return len(r.teams) }

// fold is one event of a team as the rules see it.
type fold struct {
	raise
	cfg *Config
	t   *team
	// day is the day number of the event's date in the organisation's time
	// zone: a team's days are its dates.
	day int64
	// pool is set when the event carried the pool's figures.
	pool *v1.PoolFigures
	// prevAvailable is available before the event, when prevKnown.
	prevAvailable int64
	prevKnown     bool
	charged       *v1.WindowCharged
	denied        *v1.LaunchDenied
	budget        *v1.BudgetCrossed
	// userID is the user of a launch charged or covered.
	userID  string
	product string
}

// Apply folds the event stored at sequence seq and returns the alerts it
// raises, in a stable order.
func (r *Rules) Apply(seq uint64, ev *v1.Event) []*v1.Alert {
	org, id := ev.GetOrgId(), ev.GetTeamId()
	if z := ev.GetTimeZoneSet(); z != nil && org != "" {
		r.zones[org] = zoneOf(z.GetZone())
	}
	if org == "" || id == "" || strings.HasPrefix(id, "_") {
		return nil // the catalog, or nothing a team owns
	}
	k := teamKey{org, id}
	t := r.teams[k]
	if t == nil {
		t = newTeam()
		r.teams[k] = t
	}
	at := ev.GetServerTime().AsTime()
	f := &fold{raise: raise{org: org, team: id, seq: seq, at: at},
		cfg: r.of(k), t: t, day: dayIn(at, r.zones[org]), prevAvailable: t.available, prevKnown: t.known}
	t.learn(f, ev)
	var out []*v1.Alert
	for _, rule := range eventRules {
		out = append(out, rule(f)...)
	}
	out = append(out, t.timeRules(f.raise, f.cfg)...)
	if c, ok := capacityReading(ev); ok {
		out = append(out, r.ApplyCapacity(seq, c)...)
	}
	if f.at.Sub(r.lastSweep) >= sweepEvery {
		r.lastSweep = f.at
		out = append(out, r.sweep(seq, f.at, k)...)
	}
	return out
}

// Tick evaluates the time-based rules of every team at at, after the event
// at seq. Its alerts carry seq as their source sequence and at as raised_at.
func (r *Rules) Tick(seq uint64, at time.Time) []*v1.Alert {
	return r.sweep(seq, at, teamKey{})
}

// sweep evaluates the time-based rules of every team but skip.
func (r *Rules) sweep(seq uint64, at time.Time, skip teamKey) []*v1.Alert {
	keys := make([]teamKey, 0, len(r.teams))
	for k := range r.teams {
		if k != skip {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b teamKey) int {
		if c := strings.Compare(a.org, b.org); c != 0 {
			return c
		}
		return strings.Compare(a.team, b.team)
	})
	var out []*v1.Alert
	for _, k := range keys {
		out = append(out, r.teams[k].timeRules(raise{org: k.org, team: k.team, seq: seq, at: at}, r.of(k))...)
	}
	return out
}

// eventRules run on every event of a team, in this order.
var eventRules = []func(*fold) []*v1.Alert{
	lowBalance, launchDenied, usageTiers, forecastRunOut, burnPace, usageSpike,
	heavyUser, multiProduct, sessionRenewed, budgetCrossed,
}

// timeRules are the rules that time alone can make hold; they only fire.
func (t *team) timeRules(rs raise, cfg *Config) []*v1.Alert {
	return append(t.packsExpiring(rs, cfg), t.inactiveUsers(rs, cfg)...)
}

// learn folds the facts an event carries into the team.
func (t *team) learn(f *fold, ev *v1.Event) {
	switch p := ev.GetPayload().(type) {
	case *v1.Event_WindowCharged:
		w := p.WindowCharged
		f.pool, f.charged = w.GetPool(), w
		t.debit(w.GetSplit())
		t.charge(f.day, w.GetTokens())
		if w.GetUserId() != "" {
			f.userID = w.GetUserId()
			if !w.GetRenewal() {
				f.product = w.GetProductCode()
			}
			t.user(f.userID).active(f.at, f.product)
		}
	case *v1.Event_LaunchCovered:
		if u := p.LaunchCovered.GetUserId(); u != "" {
			f.userID, f.product = u, p.LaunchCovered.GetProductCode()
			t.user(u).active(f.at, f.product)
		}
	case *v1.Event_LaunchSubscribed:
		// Use without tokens: it keeps the user from looking inactive, but
		// the token rules (heavy use, products a day) do not count it.
		if u := p.LaunchSubscribed.GetUserId(); u != "" {
			t.user(u).seen(f.at)
		}
	case *v1.Event_LaunchDenied:
		f.pool = p.LaunchDenied.GetPool()
		if p.LaunchDenied.GetReason() == v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS {
			f.denied = p.LaunchDenied
		}
	case *v1.Event_PackAdded:
		a := p.PackAdded
		f.pool = a.GetPool()
		purchased := f.at
		if a.GetPurchasedAt() != nil {
			purchased = a.GetPurchasedAt().AsTime()
		}
		var expires time.Time
		if a.GetExpiresAt() != nil {
			expires = a.GetExpiresAt().AsTime()
		}
		if pk := t.packs[a.GetPackId()]; pk != nil {
			pk.remaining += a.GetTokens() // tokens moved back into a pack
		} else {
			t.packs[a.GetPackId()] = &pack{remaining: a.GetTokens(), purchased: purchased, expires: expires}
		}
	case *v1.Event_TokensAdjusted:
		f.pool = p.TokensAdjusted.GetPool()
		t.debit(p.TokensAdjusted.GetSplit())
	case *v1.Event_PackExpired:
		f.pool = p.PackExpired.GetPool()
		delete(t.packs, p.PackExpired.GetPackId())
	case *v1.Event_PoolSuspended:
		f.pool = p.PoolSuspended.GetPool()
		t.debit(p.PoolSuspended.GetSplit())
	case *v1.Event_UserAssigned:
		u := t.user(p.UserAssigned.GetUserId())
		if !u.assigned {
			u.assigned, u.assignedAt, u.inactive = true, f.at, false
		}
	case *v1.Event_UserUnassigned:
		if u := t.users[p.UserUnassigned.GetUserId()]; u != nil {
			u.assigned = false
		}
	case *v1.Event_BudgetCrossed:
		f.budget = p.BudgetCrossed
	}
	if f.pool != nil {
		t.known, t.available, t.live = true, f.pool.GetAvailable(), f.pool.GetLive()
	}
}

// Source is the stream a fold reads (for the alerts' source_stream).
func (r *Rules) Source() string { return subject.LedgerStream }
