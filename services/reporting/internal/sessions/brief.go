package sessions

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// Brief is a charge whose window's sessions were open less than the brief
// threshold in all.
type Brief struct {
	Charge
	Sessions, Open, Active int64
}

// Key orders brief charges newest first, then by team, product and window;
// page tokens carry it, so it holds no user id.
func (b Brief) Key() string {
	return fmt.Sprintf("%016x|%s|%s|%s", uint64(math.MaxInt64-b.At.Unix()), b.Team, b.Product, b.Window)
}

type windowKey struct{ team, user, product, window string }

type windowUse struct {
	sessions, open, active int64
	live                   bool
}

// BriefCharges judges each charge by the sessions of its window (the same
// team, user, product and window, on any device): brief when they were open
// less than r.Brief in all. A window with a session open now is not judged
// yet, nor a charge without sessions (no telemetry says how it was used).
// charged is the tokens of the charges that were judged; the brief ones
// come in Key order.
func BriefCharges(ss []Session, charges []Charge, r Rules, now time.Time) (brief []Brief, charged int64) {
	use := make(map[windowKey]windowUse, len(charges))
	for _, s := range ss {
		k := windowKey{s.Team, s.User, s.Product, s.Window}
		u := use[k]
		u.sessions++
		u.open += s.Open()
		u.active += s.Active
		u.live = u.live || s.Live(now, r.Live)
		use[k] = u
	}
	for _, c := range charges {
		u, ok := use[windowKey{c.Team, c.User, c.Product, c.Window}]
		if !ok || u.live || c.Tokens <= 0 {
			continue
		}
		charged += c.Tokens
		if time.Duration(u.open)*time.Second < r.Brief {
			brief = append(brief, Brief{Charge: c, Sessions: u.sessions, Open: u.open, Active: u.active})
		}
	}
	slices.SortFunc(brief, func(a, b Brief) int { return cmp.Compare(a.Key(), b.Key()) })
	return brief, charged
}
