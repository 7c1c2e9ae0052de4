package query

import (
	"context"
	"sort"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// UserTotal is one user's use in a range.
type UserTotal struct {
	UserID   string
	Tokens   int64
	Charges  uint64
	Days     uint64
	LastDay  time.Time
	Products []string
}

var userOrder = map[SortBy]string{
	SortTokens: "total_tokens", SortUsers: "total_tokens", SortDaysUsed: "days_used",
	SortLastUsed: "last_day", SortName: "user_id",
}

// UserTotals builds every user's totals in f after the cursor (from the
// first when nil), sorted and limited by o.
func UserTotals(f Filter, products []string, o Order, after *Cursor) (string, []any) {
	having, keys := userAfter(o, after)
	sql := onDaily(f, `SELECT user_id, sum(tokens) AS total_tokens, $charges AS total_charges, uniqExact($day) AS days_used, max($day) AS last_day, groupUniqArray(product_code) AS products
FROM usage_daily_v2
WHERE `+scope(f, "charged_at")+inList("product_code", len(products))+`
GROUP BY user_id`) + having + orderBy(o, userOrder, "user_id")
	return sql, append(strArgs(scopeArgs(f), products), keys...)
}

// UserTotals returns the users of f after the cursor in o's order.
func (r *Reader) UserTotals(ctx context.Context, f Filter, products []string, o Order, after *Cursor) ([]UserTotal, error) {
	sql, args := UserTotals(f, products, o, after)
	var out []UserTotal
	err := r.each(ctx, "user totals", sql, args, func(rows driver.Rows) error {
		var u UserTotal
		if err := rows.Scan(&u.UserID, &u.Tokens, &u.Charges, &u.Days, &u.LastDay, &u.Products); err != nil {
			return err
		}
		sort.Strings(u.Products)
		out = append(out, u)
		return nil
	})
	return out, err
}

// Totals builds the users and tokens of f (before any limit).
func Totals(f Filter, products []string) (string, []any) {
	sql := `SELECT uniqExact(user_id) AS users, sum(tokens) AS total_tokens
FROM usage_daily_v2
WHERE ` + scope(f, "charged_at") + inList("product_code", len(products))
	return onDaily(f, sql), strArgs(scopeArgs(f), products)
}

// Totals returns how many users used f's products and their tokens.
func (r *Reader) Totals(ctx context.Context, f Filter, products []string) (users uint64, tokens int64, err error) {
	sql, args := Totals(f, products)
	err = r.each(ctx, "totals", sql, args, func(rows driver.Rows) error { return rows.Scan(&users, &tokens) })
	return users, tokens, err
}

// UserDay is one user's use on one day: the products opened and their tokens.
type UserDay struct {
	UserID   string
	Day      time.Time
	Products []string
	Tokens   int64
}

// SameDay builds the days on which users opened two products or more (each
// charged separately): the double-charge report.
func SameDay(f Filter, users, products []string) (string, []any) {
	sql := `SELECT user_id, $day AS d, groupUniqArray(product_code) AS products, sum(tokens) AS total_tokens
FROM usage_daily_v2
WHERE ` + scope(f, "charged_at") + inList("user_id", len(users)) + inList("product_code", len(products)) + `
GROUP BY user_id, d
HAVING uniqExact(product_code) > 1
ORDER BY user_id, d`
	return onDaily(f, sql), strArgs(strArgs(scopeArgs(f), users), products)
}

// SameDay returns the double-charge days of users (all users when empty).
func (r *Reader) SameDay(ctx context.Context, f Filter, users, products []string) ([]UserDay, error) {
	sql, args := SameDay(f, users, products)
	var out []UserDay
	err := r.each(ctx, "same day", sql, args, func(rows driver.Rows) error {
		var d UserDay
		if err := rows.Scan(&d.UserID, &d.Day, &d.Products, &d.Tokens); err != nil {
			return err
		}
		sort.Strings(d.Products)
		out = append(out, d)
		return nil
	})
	return out, err
}

// UserProductUse builds each user's tokens and days per product.
func UserProductUse(f Filter, users, products []string) (string, []any) {
	sql := `SELECT user_id, product_code, sum(tokens) AS total_tokens, uniqExact($day) AS days
FROM usage_daily_v2
WHERE ` + scope(f, "charged_at") + inList("user_id", len(users)) + inList("product_code", len(products)) + `
GROUP BY user_id, product_code
ORDER BY user_id, total_tokens DESC, product_code`
	return onDaily(f, sql), strArgs(strArgs(scopeArgs(f), users), products)
}

// UserProductUse returns users' use per product (all users when empty).
func (r *Reader) UserProductUse(ctx context.Context, f Filter, users, products []string) ([]ProductUser, error) {
	sql, args := UserProductUse(f, users, products)
	var out []ProductUser
	err := r.each(ctx, "user products", sql, args, func(rows driver.Rows) error {
		var u ProductUser
		if err := rows.Scan(&u.UserID, &u.Code, &u.Tokens, &u.Days); err != nil {
			return err
		}
		out = append(out, u)
		return nil
	})
	return out, err
}

// LastUse builds the last launch (charged or covered) of each user in f.
func LastUse(f Filter, users []string) (string, []any) {
	sql := `SELECT user_id, max(at) AS last_at
FROM launches_v2
WHERE ` + scope(f, "at") + ` AND ` + tokenOutcomes + inList("user_id", len(users)) + `
GROUP BY user_id`
	return sql, strArgs(scopeArgs(f), users)
}

// LastUse returns each user's last launch time in f.
func (r *Reader) LastUse(ctx context.Context, f Filter, users []string) (map[string]time.Time, error) {
	sql, args := LastUse(f, users)
	out := map[string]time.Time{}
	err := r.each(ctx, "last use", sql, args, func(rows driver.Rows) error {
		var u string
		var at time.Time
		if err := rows.Scan(&u, &at); err != nil {
			return err
		}
		out[u] = at
		return nil
	})
	return out, err
}

// TeamUserUse is one user's use in one team over a range.
type TeamUserUse struct {
	TeamID, UserID string
	Tokens         int64
	Days           uint64
	LastDay        time.Time
	Products       []string
}

// UserTeamUse builds each user's use per team in f.
func UserTeamUse(f Filter) (string, []any) {
	sql := `SELECT team_id, user_id, sum(tokens) AS total_tokens, uniqExact($day) AS days, max($day) AS last_day, groupUniqArray(product_code) AS products
FROM usage_daily_v2
WHERE ` + scope(f, "charged_at") + `
GROUP BY team_id, user_id
ORDER BY team_id, user_id`
	return onDaily(f, sql), scopeArgs(f)
}

// UserTeamUse returns each user's use per team in f.
func (r *Reader) UserTeamUse(ctx context.Context, f Filter) ([]TeamUserUse, error) {
	sql, args := UserTeamUse(f)
	var out []TeamUserUse
	err := r.each(ctx, "user team use", sql, args, func(rows driver.Rows) error {
		var u TeamUserUse
		if err := rows.Scan(&u.TeamID, &u.UserID, &u.Tokens, &u.Days, &u.LastDay, &u.Products); err != nil {
			return err
		}
		sort.Strings(u.Products)
		out = append(out, u)
		return nil
	})
	return out, err
}
