package query

import (
	"context"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Launch outcomes of the launches table that reports tell apart: token use
// (a window charged or a launch inside one) and subscription use.
const (
	tokenOutcomes        = "outcome IN ('charged', 'covered')"
	subscriptionOutcome  = "outcome = 'subscription'"
	MaxSubscriptionUses  = 10_000
	subscriptionUseOrder = "days DESC, launches DESC, team_id, user_id, product_code"
)

// SubscriptionUse is one user's launches of one product under a named subscription.
type SubscriptionUse struct {
	TeamID, UserID, Product string
	Launches, Days          uint64
	LastDay                 time.Time
}

// SubscriptionUses builds the launches authorized by subscription in f per
// team, user and product, most days first, at most MaxSubscriptionUses rows.
func SubscriptionUses(f Filter) (string, []any) {
	sql := `SELECT team_id, user_id, product_code, count() AS launches, uniqExact(` + dayOf(f, "at") + `) AS days, max(` + dayOf(f, "at") + `) AS last_day
FROM launches_v2
WHERE ` + scope(f, "at") + ` AND ` + subscriptionOutcome + `
GROUP BY team_id, user_id, product_code
ORDER BY ` + subscriptionUseOrder + `
LIMIT ` + strconv.Itoa(MaxSubscriptionUses)
	return sql, scopeArgs(f)
}

// SubscriptionUses returns the launches by subscription in f.
func (r *Reader) SubscriptionUses(ctx context.Context, f Filter) ([]SubscriptionUse, error) {
	sql, args := SubscriptionUses(f)
	var out []SubscriptionUse
	err := r.each(ctx, "subscription use", sql, args, func(rows driver.Rows) error {
		var u SubscriptionUse
		if err := rows.Scan(&u.TeamID, &u.UserID, &u.Product, &u.Launches, &u.Days, &u.LastDay); err != nil {
			return err
		}
		out = append(out, u)
		return nil
	})
	return out, err
}

// UseTotals is the launches of a range by subscription beside those on tokens.
type UseTotals struct {
	SubscriptionLaunches, TokenLaunches uint64
	TokensCharged                       int64
}

// UseTotalsQuery builds the launches by subscription and on tokens in f
// (renewals are charges, not launches) and the tokens charged.
func UseTotalsQuery(f Filter) (string, []any) {
	sql := `SELECT countIf(` + subscriptionOutcome + `) AS subscription, countIf(` + tokenOutcomes + ` AND renewal = 0) AS tokens_launches,
	sumIf(tokens, outcome = 'charged') AS charged
FROM launches_v2
WHERE ` + scope(f, "at")
	return sql, scopeArgs(f)
}

// UseTotals returns the launches by subscription and on tokens in f.
func (r *Reader) UseTotals(ctx context.Context, f Filter) (UseTotals, error) {
	sql, args := UseTotalsQuery(f)
	var u UseTotals
	err := r.each(ctx, "use totals", sql, args, func(rows driver.Rows) error {
		return rows.Scan(&u.SubscriptionLaunches, &u.TokenLaunches, &u.TokensCharged)
	})
	return u, err
}

// Subscribed is a user's named subscription for one product held now.
type Subscribed struct {
	TeamID, UserID, Product string
}

// SubscriptionStates builds, per team, user and product, the last
// subscription event naming the product (or every product: an empty code)
// in f's teams, of all time: its sequence, whether it granted, and its end.
func SubscriptionStates(f Filter) (string, []any) {
	sql := `SELECT team_id, user_id, product_code, max(seq) AS last_seq, argMax(granted, seq) AS last_granted, argMax(ends_at, seq) AS last_ends_at
FROM subscription_events
ARRAY JOIN if(empty(product_codes), [''], product_codes) AS product_code
WHERE ` + teamScope(f) + `
GROUP BY team_id, user_id, product_code
ORDER BY team_id, user_id, product_code`
	return sql, teamArgs(f)
}

// Subscriptions returns the named subscriptions in force at t in f's teams,
// as the ledger decides them: granted, neither revoked since (for the
// product or for every product) nor ended.
func (r *Reader) Subscriptions(ctx context.Context, f Filter, t time.Time) ([]Subscribed, error) {
	type state struct {
		Subscribed
		seq     uint64
		granted bool
		ends    time.Time
	}
	sql, args := SubscriptionStates(f)
	var states []state
	revokedAll := map[[2]string]uint64{}
	err := r.each(ctx, "subscriptions", sql, args, func(rows driver.Rows) error {
		var s state
		var granted uint8
		if err := rows.Scan(&s.TeamID, &s.UserID, &s.Product, &s.seq, &granted, &s.ends); err != nil {
			return err
		}
		if s.Product == "" {
			revokedAll[[2]string{s.TeamID, s.UserID}] = s.seq
			return nil
		}
		s.granted = granted == 1
		states = append(states, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []Subscribed
	for _, s := range states {
		ended := s.ends.Unix() > 0 && !t.Before(s.ends)
		if s.granted && s.seq > revokedAll[[2]string{s.TeamID, s.UserID}] && !ended {
			out = append(out, s.Subscribed)
		}
	}
	return out, nil
}
