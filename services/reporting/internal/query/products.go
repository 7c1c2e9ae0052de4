package query

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ProductScope narrows a report to some products or one product group.
type ProductScope struct {
	Codes []string
	Group string
}

func (p ProductScope) where() string {
	s := inList("product_code", len(p.Codes))
	if p.Group != "" {
		s += " AND product_group = ?"
	}
	return s
}

func (p ProductScope) args(args []any) []any {
	args = strArgs(args, p.Codes)
	if p.Group != "" {
		args = append(args, p.Group)
	}
	return args
}

// ProductTotal is one product's use in a range.
type ProductTotal struct {
	Code, Group string
	Tokens      int64
	Users       uint64
	Charges     uint64
}

var productOrder = map[SortBy]string{
	SortTokens: "total_tokens", SortUsers: "users", SortDaysUsed: "total_tokens",
	SortLastUsed: "total_tokens", SortName: "product_code",
}

// ProductTotals builds the per-product totals of f. The group is the
// product's as charged (a toolset carries its group, e.g. AutoCAD). Its
// alias must not be product_group: ClickHouse would then read the
// aggregate, not the column, in the WHERE of a group drill-down.
func ProductTotals(f Filter, p ProductScope, o Order) (string, []any) {
	sql := `SELECT product_code, max(product_group) AS charged_group, sum(tokens) AS total_tokens, uniqExact(user_id) AS users, count() AS charges
FROM charges_v2
WHERE ` + scope(f, "charged_at") + p.where() + `
GROUP BY product_code` + orderBy(o, productOrder, "product_code")
	return sql, p.args(scopeArgs(f))
}

// ProductTotals returns f's per-product totals in o's order.
func (r *Reader) ProductTotals(ctx context.Context, f Filter, p ProductScope, o Order) ([]ProductTotal, error) {
	sql, args := ProductTotals(f, p, o)
	var out []ProductTotal
	err := r.each(ctx, "product totals", sql, args, func(rows driver.Rows) error {
		var t ProductTotal
		if err := rows.Scan(&t.Code, &t.Group, &t.Tokens, &t.Users, &t.Charges); err != nil {
			return err
		}
		out = append(out, t)
		return nil
	})
	return out, err
}

// ProductUser is one user's use of one product in a range.
type ProductUser struct {
	Code, UserID string
	Tokens       int64
	Days         uint64
}

// ProductUsers builds every user's tokens and days per product of codes.
func ProductUsers(f Filter, codes []string) (string, []any) {
	sql := `SELECT product_code, user_id, sum(tokens) AS total_tokens, uniqExact($day) AS days
FROM usage_daily_v2
WHERE ` + scope(f, "charged_at") + inList("product_code", len(codes)) + `
GROUP BY product_code, user_id
ORDER BY product_code, total_tokens DESC, user_id`
	return onDaily(f, sql), strArgs(scopeArgs(f), codes)
}

// ProductUsers returns every user of codes in f, highest use first per product.
func (r *Reader) ProductUsers(ctx context.Context, f Filter, codes []string) ([]ProductUser, error) {
	sql, args := ProductUsers(f, codes)
	var out []ProductUser
	err := r.each(ctx, "product users", sql, args, func(rows driver.Rows) error {
		var u ProductUser
		if err := rows.Scan(&u.Code, &u.UserID, &u.Tokens, &u.Days); err != nil {
			return err
		}
		out = append(out, u)
		return nil
	})
	return out, err
}

// VersionUse is how many users opened one version of a product.
type VersionUse struct {
	Code, Version string
	Users         uint64
	Launches      uint64
}

// ProductVersions builds the users per product version: launches charged or
// covered by a window (every opening, not only the charged ones).
func ProductVersions(f Filter, codes []string) (string, []any) {
	sql := `SELECT product_code, product_version, uniqExact(user_id) AS users, count() AS launches
FROM launches_v2
WHERE ` + scope(f, "at") + ` AND ` + tokenOutcomes + inList("product_code", len(codes)) + `
GROUP BY product_code, product_version
ORDER BY product_code, users DESC, product_version`
	return sql, strArgs(scopeArgs(f), codes)
}

// ProductVersions returns the users per version of codes in f.
func (r *Reader) ProductVersions(ctx context.Context, f Filter, codes []string) ([]VersionUse, error) {
	sql, args := ProductVersions(f, codes)
	var out []VersionUse
	err := r.each(ctx, "product versions", sql, args, func(rows driver.Rows) error {
		var v VersionUse
		if err := rows.Scan(&v.Code, &v.Version, &v.Users, &v.Launches); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}
