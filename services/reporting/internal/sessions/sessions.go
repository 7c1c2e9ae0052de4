// Package sessions holds the rules of the sessions report, without I/O: how
// long products stayed open and how much of it was idle, which sessions are
// open now, how many users had a product open at once, use per device, and
// which charges paid a day's tokens for a brief use.
//
// A session is one (team, user, product, device, window) of the launcher
// telemetry. Its active and idle seconds come from the gaps between its
// events, as query.SessionList counts them (each gap capped at the
// service's -session-max-gap); its open time is their sum.
package sessions

import (
	"cmp"
	"slices"
	"time"
)

// Session is one launcher session as the projection holds it.
type Session struct {
	Team, User, Product, Device, Window string
	// Start and Last are its first and last events.
	Start, Last time.Time
	// Ended is true once the launcher reported the session's end.
	Ended        bool
	Active, Idle int64
}

// Open is the seconds the session was open: active and idle together.
func (s Session) Open() int64 { return s.Active + s.Idle }

// Live reports whether s is open now: not ended, and its last event no older
// than horizon (a launcher silent for longer is gone, not in use).
func (s Session) Live(now time.Time, horizon time.Duration) bool {
	return !s.Ended && !s.Last.Before(now.Add(-horizon))
}

// Charge is the tokens a launch paid for a window.
type Charge struct {
	Team, User, Product, Window string
	At                          time.Time
	Tokens                      int64
}

// Rules are the report's thresholds.
type Rules struct {
	// Brief: a charged window whose sessions were open less than this in
	// all paid a day for a brief use.
	Brief time.Duration
	// Live: how recent a session's last event must be for it to be open now.
	Live time.Duration
}

// Limits of a request's brief threshold.
const (
	DefaultBrief = 30 * time.Minute
	MaxBrief     = 24 * time.Hour
)

// OpenNow returns the sessions of ss that are open at now, newest first.
func OpenNow(ss []Session, now time.Time, live time.Duration) []Session {
	var out []Session
	for _, s := range ss {
		if s.Live(now, live) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Session) int {
		return cmp.Or(b.Start.Compare(a.Start), cmp.Compare(a.Team, b.Team), cmp.Compare(a.User, b.User),
			cmp.Compare(a.Product, b.Product), cmp.Compare(a.Device, b.Device), cmp.Compare(a.Window, b.Window))
	})
	return out
}
