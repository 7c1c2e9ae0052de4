package query

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// AttributeUse is the use of one attribute value (and, with Code set, of one
// product under it).
type AttributeUse struct {
	Value, Code string
	Tokens      int64
	Charges     uint64
	Users       uint64
}

const attributeJoin = `FROM charges_v2
ARRAY JOIN attribute_keys AS attribute_key, attribute_values AS attribute_value
WHERE `

// AttributeValues builds the use per value of attribute key in f, highest first.
func AttributeValues(f Filter, key string, limit int) (string, []any) {
	sql := `SELECT attribute_value, sum(tokens) AS total_tokens, count() AS charges, uniqExact(user_id) AS users
` + attributeJoin + scope(f, "charged_at") + ` AND attribute_key = ?
GROUP BY attribute_value` + orderBy(Order{Limit: limit}, map[SortBy]string{SortTokens: "total_tokens"}, "attribute_value")
	return sql, append(scopeArgs(f), key)
}

// AttributeProducts builds the use per value and product of attribute key in f.
func AttributeProducts(f Filter, key string) (string, []any) {
	sql := `SELECT attribute_value, product_code, sum(tokens) AS total_tokens, count() AS charges, uniqExact(user_id) AS users
` + attributeJoin + scope(f, "charged_at") + ` AND attribute_key = ?
GROUP BY attribute_value, product_code
ORDER BY attribute_value, total_tokens DESC, product_code`
	return sql, append(scopeArgs(f), key)
}

// AttributeCoverage builds the tokens of f and those charged without key.
func AttributeCoverage(f Filter, key string) (string, []any) {
	sql := `SELECT sum(tokens) AS total_tokens, sumIf(tokens, NOT has(attribute_keys, ?)) AS unattributed
FROM charges_v2
WHERE ` + scope(f, "charged_at")
	return sql, append([]any{key}, scopeArgs(f)...)
}

// AttributeValues returns the values of key in f, highest use first.
func (r *Reader) AttributeValues(ctx context.Context, f Filter, key string, limit int) ([]AttributeUse, error) {
	sql, args := AttributeValues(f, key, limit)
	var out []AttributeUse
	err := r.each(ctx, "attribute values", sql, args, func(rows driver.Rows) error {
		var a AttributeUse
		if err := rows.Scan(&a.Value, &a.Tokens, &a.Charges, &a.Users); err != nil {
			return err
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// AttributeProducts returns the use per value and product of key in f.
func (r *Reader) AttributeProducts(ctx context.Context, f Filter, key string) ([]AttributeUse, error) {
	sql, args := AttributeProducts(f, key)
	var out []AttributeUse
	err := r.each(ctx, "attribute products", sql, args, func(rows driver.Rows) error {
		var a AttributeUse
		if err := rows.Scan(&a.Value, &a.Code, &a.Tokens, &a.Charges, &a.Users); err != nil {
			return err
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// AttributeCoverage returns the tokens of f and those without key.
func (r *Reader) AttributeCoverage(ctx context.Context, f Filter, key string) (total, unattributed int64, err error) {
	sql, args := AttributeCoverage(f, key)
	err = r.each(ctx, "attribute coverage", sql, args, func(rows driver.Rows) error { return rows.Scan(&total, &unattributed) })
	return total, unattributed, err
}
