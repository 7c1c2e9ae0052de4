package query

import (
	"context"
	"errors"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// SpendGroup is what spend is totalled by, mirroring
// tokenmeter.v1.SpendGrouping.
type SpendGroup int

// Spend groupings.
const (
	SpendByTeam SpendGroup = iota
	SpendByProduct
	SpendByUser
	SpendByAttribute
)

// spendKeys are the grouping expressions; the SQL takes them from here,
// never from a request. The attribute's value is "" on charges without it.
var spendKeys = map[SpendGroup]string{
	SpendByTeam: "team_id", SpendByProduct: "product_code", SpendByUser: "user_id",
	SpendByAttribute: "attribute_values[indexOf(attribute_keys, ?)]",
}

// packPrices is every pack of the teams with its price: each debit is
// valued at the price of the pack it came from. A pack moved in keeps the
// price it was bought at.
func packPrices(f Filter) string {
	return `SELECT team_id, pack_id, any(unit_price_micros) AS price, any(currency) AS currency
	FROM pool_events_v2
	WHERE ` + teamScope(f) + ` AND kind IN ('pack_added', 'move_in')
	GROUP BY team_id, pack_id`
}

// SpendAmount is the value of some tokens in one currency; Key is the
// group it belongs to ("" when not grouped).
type SpendAmount struct {
	Key, Currency string
	AmountMicros  int64
	Tokens        int64
	Charges       uint64
}

// Spend builds the value of f's charges per key of g and currency: each
// charge's pack split times its packs' unit prices. attrKey is the
// attribute grouped by (SpendByAttribute only).
func Spend(f Filter, g SpendGroup, attrKey string) (string, []any) {
	var args []any
	if g == SpendByAttribute {
		args = append(args, attrKey)
	}
	args = append(args, scopeArgs(f)...)
	sql := `SELECT k, currency, sum(split_token * price) AS amount, sum(split_token) AS total_tokens, uniqExact(event_id) AS charges,
	sum(toFloat64(split_token) * price) AS approx
FROM (
	SELECT ` + spendKeys[g] + ` AS k, event_id, team_id, split_pack_id AS pack_id, split_token
	FROM charges_v2 ARRAY JOIN split_pack_ids AS split_pack_id, split_tokens AS split_token
	WHERE ` + scope(f, "charged_at") + `
) ANY LEFT JOIN (
	` + packPrices(f) + `
) USING (team_id, pack_id)
GROUP BY k, currency
ORDER BY currency, amount DESC, k`
	return sql, append(args, teamArgs(f)...)
}

// ExpiredValue builds the value of the tokens that expired unused in f,
// per currency.
func ExpiredValue(f Filter) (string, []any) {
	sql := `SELECT '' AS k, currency, sum(lost * price) AS amount, sum(lost) AS total_tokens, toUInt64(0) AS charges,
	sum(toFloat64(lost) * price) AS approx
FROM (
	SELECT team_id, pack_id, -tokens AS lost
	FROM pool_events_v2
	WHERE ` + scope(f, "at") + ` AND kind = 'expired'
) ANY LEFT JOIN (
	` + packPrices(f) + `
) USING (team_id, pack_id)
GROUP BY currency
ORDER BY currency`
	return sql, append(scopeArgs(f), teamArgs(f)...)
}

// Spend returns the value of f's charges per key of g and currency.
func (r *Reader) Spend(ctx context.Context, f Filter, g SpendGroup, attrKey string) ([]SpendAmount, error) {
	sql, args := Spend(f, g, attrKey)
	return r.amounts(ctx, "spend", sql, args)
}

// ExpiredValue returns the value of what expired unused in f, per currency.
func (r *Reader) ExpiredValue(ctx context.Context, f Filter) ([]SpendAmount, error) {
	sql, args := ExpiredValue(f)
	return r.amounts(ctx, "expired value", sql, args)
}

// ErrAmountTooLarge means a total does not fit in int64 millionths (over
// 9.2 trillion units of one currency): refused rather than wrapped.
var ErrAmountTooLarge = errors.New("an amount exceeds 9.2e18 millionths of its currency")

// maxAmount is the largest total trusted: float64 sums are only close, so
// the check leaves a margin below int64's limit.
const maxAmount = 9.2e18

func (r *Reader) amounts(ctx context.Context, name, sql string, args []any) ([]SpendAmount, error) {
	var out []SpendAmount
	err := r.each(ctx, name, sql, args, func(rows driver.Rows) error {
		var a SpendAmount
		var approx float64
		if err := rows.Scan(&a.Key, &a.Currency, &a.AmountMicros, &a.Tokens, &a.Charges, &approx); err != nil {
			return err
		}
		if approx > maxAmount || approx < -maxAmount {
			return ErrAmountTooLarge
		}
		out = append(out, a)
		return nil
	})
	return out, err
}
