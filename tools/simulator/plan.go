// Package simulator makes launcher traffic: N users across M teams and K
// products following working-day patterns — occasional users, daily users,
// people who open two products a day, apps left open overnight — as a
// bounded, time-ordered plan, and plays it through the launcher SDK.
package simulator

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Kind is what a launcher does.
type Kind int

// The launcher's events.
const (
	Launch Kind = iota + 1
	Heartbeat
	End
)

func (k Kind) String() string { return [...]string{"?", "launch", "heartbeat", "end"}[k] }

// Profile is a user's habit.
type Profile int

// The habits of the plan, in the shares Config.Mix gives them.
const (
	Occasional  Profile = iota // a few days a month, one product
	Daily                      // every working day, one product
	TwoProducts                // every working day, a second product after lunch
	Overnight                  // every working day, and leaves the app open overnight
)

// Products is the catalogue the plan draws from, with daily rates.
var Products = []struct {
	Code string
	Rate int64
}{{"REVIT", 10}, {"ACAD", 7}, {"CIVIL3D", 9}, {"MAX3DS", 6}, {"FUSION", 2}, {"INVENTOR", 8}, {"MAYA", 8}, {"NAVIS", 5}}

// Bounds keep a plan small enough for a laptop.
const (
	MaxUsers  = 100_000
	MaxTeams  = 10_000
	MaxDays   = 92
	MaxEvents = 5_000_000
)

// Config shapes a plan.
type Config struct {
	Users, Teams, Products, Days int
	// Start is the first day (its date; the plan begins at 07:00 UTC).
	Start time.Time
	Seed  uint64
	// Heartbeat is the interval of heartbeats of a running session (default 2h).
	Heartbeat time.Duration
	// MaxEvents stops the plan early (default and ceiling MaxEvents).
	MaxEvents int
}

// Validate joins every problem with the configuration.
func (c Config) Validate() error {
	var errs []error
	check := func(name string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("%s %d: want %d to %d", name, v, lo, hi))
		}
	}
	check("users", c.Users, 1, MaxUsers)
	check("teams", c.Teams, 1, MaxTeams)
	check("products", c.Products, 1, len(Products))
	check("days", c.Days, 1, MaxDays)
	if c.Teams > c.Users {
		errs = append(errs, fmt.Errorf("teams %d: at most one per user (%d users)", c.Teams, c.Users))
	}
	return errors.Join(errs...)
}

// Action is one event of the plan.
type Action struct {
	At      time.Time
	Kind    Kind
	Team    string
	User    string
	Product string
	Active  bool
	Profile Profile
}

// User is a simulated person.
type User struct {
	ID, Team string
	Profile  Profile
	Products []string // first, and second for TwoProducts
}

// TeamID and UserID name the plan's teams and users.
func TeamID(i int) string { return fmt.Sprintf("team-%04d", i) }

// UserID names a user.
func UserID(i int) string { return fmt.Sprintf("user-%05d", i) }

// People returns the users of cfg: 25 % occasional, 40 % daily, 20 % on two
// products, 15 % leaving their app open overnight.
func People(cfg Config) []User {
	rng := rand.New(rand.NewPCG(cfg.Seed, 1))
	out := make([]User, cfg.Users)
	for i := range out {
		u := User{ID: UserID(i), Team: TeamID(i % cfg.Teams)}
		switch r := rng.IntN(100); {
		case r < 25:
			u.Profile = Occasional
		case r < 65:
			u.Profile = Daily
		case r < 85:
			u.Profile = TwoProducts
		default:
			u.Profile = Overnight
		}
		first := rng.IntN(cfg.Products)
		u.Products = []string{Products[first].Code}
		if u.Profile == TwoProducts && cfg.Products > 1 {
			u.Products = append(u.Products, Products[(first+1+rng.IntN(cfg.Products-1))%cfg.Products].Code)
		}
		out[i] = u
	}
	return out
}

// Plan returns the actions of cfg in time order, at most MaxEvents.
func Plan(cfg Config) ([]Action, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 2 * time.Hour
	}
	if cfg.MaxEvents <= 0 || cfg.MaxEvents > MaxEvents {
		cfg.MaxEvents = MaxEvents
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 2))
	day0 := time.Date(cfg.Start.Year(), cfg.Start.Month(), cfg.Start.Day(), 0, 0, 0, 0, time.UTC)
	var out []Action
	for _, u := range People(cfg) {
		var openSince time.Time // an overnight session still running
		for d := range cfg.Days {
			day := day0.AddDate(0, 0, d)
			if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
				continue
			}
			if u.Profile == Occasional && rng.IntN(10) >= 3 {
				continue
			}
			in := day.Add(7*time.Hour + time.Duration(rng.IntN(180))*time.Minute)
			leave := day.Add(16*time.Hour + time.Duration(rng.IntN(150))*time.Minute)
			if !openSince.IsZero() {
				// Last night's session: active again this morning, then closed.
				out = session(out, u, u.Products[0], openSince, in, cfg.Heartbeat, true)
				openSince = time.Time{}
			}
			if u.Profile == TwoProducts && len(u.Products) > 1 {
				lunch := day.Add(12*time.Hour + time.Duration(rng.IntN(90))*time.Minute)
				out = session(out, u, u.Products[0], in, lunch, cfg.Heartbeat, false)
				out = session(out, u, u.Products[1], lunch.Add(time.Minute), leave, cfg.Heartbeat, false)
				continue
			}
			if u.Profile == Overnight && rng.IntN(2) == 0 {
				openSince = in // left open: it ends tomorrow morning
				continue
			}
			out = session(out, u, u.Products[0], in, leave, cfg.Heartbeat, false)
		}
		if !openSince.IsZero() {
			out = session(out, u, u.Products[0], openSince, day0.AddDate(0, 0, cfg.Days), cfg.Heartbeat, true)
		}
		if len(out) > 4*cfg.MaxEvents {
			break
		}
	}
	slices.SortStableFunc(out, func(a, b Action) int { return a.At.Compare(b.At) })
	if len(out) > cfg.MaxEvents {
		out = out[:cfg.MaxEvents]
	}
	return out, nil
}

// session is a launch, heartbeats every interval (idle overnight, active
// again in the morning) and an end.
func session(out []Action, u User, product string, from, to time.Time, every time.Duration, overnight bool) []Action {
	a := Action{Team: u.Team, User: u.ID, Product: product, Profile: u.Profile}
	launch := a
	launch.At, launch.Kind = from, Launch
	out = append(out, launch)
	for t := from.Add(every); t.Before(to); t = t.Add(every) {
		hb := a
		hb.At, hb.Kind = t, Heartbeat
		hb.Active = !overnight || t.Hour() >= 7 && t.Hour() < 20 || t.Sub(from) >= 24*time.Hour
		out = append(out, hb)
	}
	end := a
	end.At, end.Kind = to, End
	return append(out, end)
}
