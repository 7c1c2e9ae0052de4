package query

import (
	"context"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Rates builds the daily rate in force at at of each product of org: the
// ledger's product table as projected, the latest effective_from first.
func Rates(org string, at time.Time) (string, []any) {
	return `SELECT product_code, argMax(daily_rate, effective_from) AS rate
FROM products
WHERE org_id = ? AND effective_from <= ?
GROUP BY product_code`, []any{org, at.UTC()}
}

// Rates returns the daily rate in force at at of each product of org.
func (r *Reader) Rates(ctx context.Context, org string, at time.Time) (map[string]int64, error) {
	sql, args := Rates(org, at)
	out := map[string]int64{}
	err := r.each(ctx, "rates", sql, args, func(rows driver.Rows) error {
		var code string
		var rate int64
		if err := rows.Scan(&code, &rate); err != nil {
			return err
		}
		out[code] = rate
		return nil
	})
	return out, err
}
