// Package rules is alerting's pure domain core: ledger events in, alerts out.
// It does no I/O and never reads the wall clock; an alert is raised at the
// server time of the event that caused it, so a replay of the same events
// yields the same alerts with the same ids.
package rules

import (
	"errors"
	"fmt"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Alert kinds; each is the last token of the alert's ALERTS subject.
const (
	KindLowBalance   = "low_balance"
	KindLaunchDenied = "launch_denied"
)

// ErrInvalidConfig is returned by New for settings no rule can work with.
var ErrInvalidConfig = errors.New("invalid rules config")

// Config tunes the rules.
type Config struct {
	// LowBalancePercent: a team whose available tokens fall to this share of
	// its live tokens or below gets a low_balance alert. In (0, 100).
	LowBalancePercent float64
}

// Validate reports settings no rule can work with.
func (c Config) Validate() error {
	if !(c.LowBalancePercent > 0 && c.LowBalancePercent < 100) {
		return fmt.Errorf("%w: low balance percent %v must be above 0 and below 100", ErrInvalidConfig, c.LowBalancePercent)
	}
	return nil
}

// Rules folds ledger events into per-team rule state. It is not safe for
// concurrent use: one goroutine feeds it the LEDGER stream in order.
type Rules struct {
	cfg   Config
	teams map[teamKey]*team
}

type teamKey struct{ org, team string }

// team is the rule state of one pool.
type team struct {
	// known is false until an event carried the pool's figures.
	known bool
	// available and live are the figures after the last event that carried them.
	available, live int64
	lowBalance      lowBalanceState
	launchDenied    launchDeniedState
}

// New returns rules with no state.
func New(cfg Config) (*Rules, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Rules{cfg: cfg, teams: map[teamKey]*team{}}, nil
}

// Apply folds the event stored at LEDGER sequence seq and returns the alerts it
// raises, in a stable order. Events carrying no pool figures change nothing.
func (r *Rules) Apply(seq uint64, ev *v1.Event) []*v1.Alert {
	pool, denied := poolOf(ev)
	if pool == nil {
		return nil
	}
	k := teamKey{ev.GetOrgId(), ev.GetTeamId()}
	t := r.teams[k]
	if t == nil {
		t = &team{}
		r.teams[k] = t
	}
	c := crossing{seq: seq, ev: ev, available: pool.GetAvailable(), live: pool.GetLive()}
	var out []*v1.Alert
	if a := t.lowBalance.apply(r.cfg, c); a != nil {
		out = append(out, a)
	}
	if a := t.launchDenied.apply(t, denied, c); a != nil {
		out = append(out, a)
	}
	t.known, t.available, t.live = true, c.available, c.live
	return out
}

// Teams is the number of pools with rule state (for metrics and tests).
func (r *Rules) Teams() int { return len(r.teams) }

// crossing is one event with the pool figures after it.
type crossing struct {
	seq             uint64
	ev              *v1.Event
	available, live int64
}

// poolOf returns the pool figures an event carries, and the denial when it is
// a launch refused for lack of tokens.
func poolOf(ev *v1.Event) (*v1.PoolFigures, *v1.LaunchDenied) {
	switch p := ev.GetPayload().(type) {
	case *v1.Event_WindowCharged:
		return p.WindowCharged.GetPool(), nil
	case *v1.Event_LaunchDenied:
		if p.LaunchDenied.GetReason() == v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS {
			return p.LaunchDenied.GetPool(), p.LaunchDenied
		}
		return p.LaunchDenied.GetPool(), nil
	case *v1.Event_PackAdded:
		return p.PackAdded.GetPool(), nil
	case *v1.Event_TokensAdjusted:
		return p.TokensAdjusted.GetPool(), nil
	case *v1.Event_PackExpired:
		return p.PackExpired.GetPool(), nil
	}
	return nil, nil
}
