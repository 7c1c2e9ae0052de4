package query

import (
	"context"
	"fmt"
	"time"
)

// DayUsage is the tokens charged on one day for one product.
type DayUsage struct {
	Day         time.Time
	ProductCode string
	Tokens      int64
	Charges     uint64
}

// UsageByDay builds the per-day, per-product usage query of f.
// usage_daily_v2 is a SummingMergeTree, so rows are summed again here; in
// a zone other than UTC the charges are dated there instead (onDaily).
func UsageByDay(f Filter) (string, []any) {
	sql := `SELECT $day AS d, product_code, sum(tokens) AS total_tokens, $charges AS total_charges
FROM usage_daily_v2
WHERE ` + scope(f, "charged_at") + `
GROUP BY d, product_code
ORDER BY d, product_code`
	return onDaily(f, sql), scopeArgs(f)
}

// UsageByDay returns f's usage per day and product, ordered by day then product.
func (r *Reader) UsageByDay(ctx context.Context, f Filter) ([]DayUsage, error) {
	sql, args := UsageByDay(f)
	rows, err := r.conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("usage by day: %w", err)
	}
	defer rows.Close()
	var out []DayUsage
	for rows.Next() {
		var d DayUsage
		if err := rows.Scan(&d.Day, &d.ProductCode, &d.Tokens, &d.Charges); err != nil {
			return nil, fmt.Errorf("usage by day: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("usage by day: %w", err)
	}
	return out, nil
}
