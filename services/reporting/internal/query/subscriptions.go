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
