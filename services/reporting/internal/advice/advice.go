// Package advice compares, per user and product, a year of token spending
// with a named subscription, after the seeds' rules of thumb: a user on a
// product more than ~100 days a year, or 12-15+ days a month, is cheaper on
// a subscription; an assigned user idle for months should be unassigned. It
// is pure: usage in, advice out.
package advice

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Subscription is a named subscription to one product.
type Subscription struct {
	Name        string
	YearlyPrice float64
}

// Config holds prices and thresholds; prices in Currency.
type Config struct {
	TokenPrice    float64
	Currency      string
	Subscriptions map[string]Subscription // by product code
	// HeavyDaysPerYear and HeavyDaysPerMonth mark heavy users (defaults 100 and 12).
	HeavyDaysPerYear  int64
	HeavyDaysPerMonth float64
}

func (c Config) withDefaults() Config {
	if c.HeavyDaysPerYear <= 0 {
		c.HeavyDaysPerYear = 100
	}
	if c.HeavyDaysPerMonth <= 0 {
		c.HeavyDaysPerMonth = 12
	}
	return c
}

// ParseSubscriptions reads "CODE=price[:name],…", e.g.
// "ACAD=1700:AutoCAD named user,REVIT=2910".
func ParseSubscriptions(s string) (map[string]Subscription, error) {
	out := map[string]Subscription{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		code, rest, ok := strings.Cut(item, "=")
		if !ok || code == "" {
			return nil, fmt.Errorf("subscription %q: want CODE=price[:name]", item)
		}
		priceText, name, _ := strings.Cut(rest, ":")
		price, err := strconv.ParseFloat(priceText, 64)
		if err != nil || price < 0 {
			return nil, fmt.Errorf("subscription %q: price %q is not a non-negative number", item, priceText)
		}
		if name == "" {
			name = code + " subscription"
		}
		out[code] = Subscription{Name: name, YearlyPrice: price}
	}
	return out, nil
}

// Action is what to do with one user's access to one product.
type Action int

// Actions.
const (
	KeepOnTokens Action = iota + 1
	MoveToSubscription
	Unassign
)

// Usage is one user's use of one product over the 12 months considered.
type Usage struct {
	TeamID, UserID, ProductCode string
	// DaysByMonth is the days used in each of the 12 months, oldest first.
	DaysByMonth []int64
	Tokens      int64
	LastUsed    string
	// Subscribed: the user holds the product's named subscription now, so
	// their tokens are history and there is nothing to advise.
	Subscribed bool
}

// Idle is an assigned user without a charge in the idle period.
type Idle struct {
	TeamID, UserID, LastUsed string
}

// Advice is the advice for one user and product.
type Advice struct {
	Usage
	Days             int64
	AveragePerMonth  float64
	TokenCost        float64
	SubscriptionName string
	SubscriptionCost float64
	Saving           float64
	Action           Action
	Reason           string
}

// Report is the advice for a set of teams.
type Report struct {
	Advice                       []Advice
	TotalSaving                  float64
	UsersToMove, UsersToUnassign int64
}

// Advise applies the rules to usage and idle users. Heavy users (by days a
// year or a month) move to the product's subscription when it costs less
// than their tokens did; the saving is the difference. Users who already
// hold the product's subscription get no advice for it. Advice comes sorted:
// moves by saving, then keeps by token cost, then idle users.
func Advise(cfg Config, usage []Usage, idle []Idle) Report {
	cfg = cfg.withDefaults()
	var r Report
	moved := map[string]bool{}
	for _, u := range usage {
		if u.Subscribed {
			continue
		}
		a := Advice{Usage: u}
		for _, d := range u.DaysByMonth {
			a.Days += d
		}
		if n := len(u.DaysByMonth); n > 0 {
			a.AveragePerMonth = math.Round(100*float64(a.Days)/float64(n)) / 100
		}
		a.TokenCost = round2(float64(u.Tokens) * cfg.TokenPrice)
		sub, priced := cfg.Subscriptions[u.ProductCode]
		if priced {
			a.SubscriptionName, a.SubscriptionCost = sub.Name, round2(sub.YearlyPrice)
		}
		heavy := a.Days > cfg.HeavyDaysPerYear || a.AveragePerMonth >= cfg.HeavyDaysPerMonth
		switch {
		case heavy && priced && a.TokenCost > a.SubscriptionCost:
			a.Action, a.Saving = MoveToSubscription, round2(a.TokenCost-a.SubscriptionCost)
			a.Reason = fmt.Sprintf("used %d days in 12 months (%.1f a month): %s costs %.2f %s a year less than its tokens",
				a.Days, a.AveragePerMonth, sub.Name, a.Saving, cfg.Currency)
			r.TotalSaving += a.Saving
			moved[u.TeamID+"\x00"+u.UserID] = true
		case heavy && !priced:
			a.Action = KeepOnTokens
			a.Reason = fmt.Sprintf("heavy use (%d days in 12 months) but no subscription price is configured for %s", a.Days, u.ProductCode)
		case heavy:
			a.Action = KeepOnTokens
			a.Reason = fmt.Sprintf("heavy use (%d days in 12 months), yet its tokens cost less than %s", a.Days, sub.Name)
		default:
			a.Action = KeepOnTokens
			a.Reason = fmt.Sprintf("occasional use (%d days in 12 months): tokens are cheaper", a.Days)
		}
		r.Advice = append(r.Advice, a)
	}
	r.UsersToMove = int64(len(moved))
	r.TotalSaving = round2(r.TotalSaving)
	sort.SliceStable(r.Advice, func(i, j int) bool {
		a, b := r.Advice[i], r.Advice[j]
		if a.Action != b.Action {
			return a.Action == MoveToSubscription
		}
		if a.Saving != b.Saving {
			return a.Saving > b.Saving
		}
		if a.TokenCost != b.TokenCost {
			return a.TokenCost > b.TokenCost
		}
		return a.UserID+a.ProductCode < b.UserID+b.ProductCode
	})
	for _, u := range idle {
		r.Advice = append(r.Advice, Advice{
			Usage: Usage{TeamID: u.TeamID, UserID: u.UserID, LastUsed: u.LastUsed}, Action: Unassign,
			Reason: "assigned but no charge in the idle period: unassign to keep the pool to active users",
		})
		r.UsersToUnassign++
	}
	return r
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
