package query

import (
	"context"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Charge is one charged window, as exported.
type Charge struct {
	Day                         time.Time
	TeamID, UserID, Code, Group string
	Version, Device, EventID    string
	Tokens                      int64
	Renewal                     uint8
	// Split is the pack split as "pack_id:tokens" joined by ";", and
	// Attributes the launch attributes as key AttrKV value joined by AttrSep
	// (in the stored order, sorted by key), both joined by ClickHouse:
	// scanning four arrays per row costs the exporter more than the rest of
	// the row. The separators are control characters no attribute may hold,
	// so the exporter can take the pairs apart to pseudonymise a value.
	Split, Attributes      string
	WindowStart, WindowEnd time.Time
}

// Separators of Charge.Attributes.
const (
	AttrSep = "\x1f"
	AttrKV  = "\x1e"
)

// Charges builds every charge of f, in day order.
func Charges(f Filter) (string, []any) {
	day := dayOf(f, "charged_at")
	sql := `SELECT ` + day + ` AS d, team_id, user_id, product_code, product_group, product_version, device_id, event_id, tokens, renewal,
	arrayStringConcat(arrayMap((p, t) -> concat(p, ':', toString(t)), split_pack_ids, split_tokens), ';') AS split,
	window_start, window_end,
	arrayStringConcat(arrayMap((k, v) -> concat(k, '\x1e', v), attribute_keys, attribute_values), '\x1f') AS attributes
FROM charges_v2
WHERE ` + scope(f, "charged_at") + `
ORDER BY d, team_id, window_start, seq`
	return sql, scopeArgs(f)
}

// EachCharge calls fn for every charge of f, streaming: rows are not held.
func (r *Reader) EachCharge(ctx context.Context, f Filter, fn func(*Charge) error) error {
	sql, args := Charges(f)
	var c Charge
	return r.each(ctx, "charges", sql, args, func(rows driver.Rows) error {
		if err := rows.Scan(&c.Day, &c.TeamID, &c.UserID, &c.Code, &c.Group, &c.Version, &c.Device, &c.EventID,
			&c.Tokens, &c.Renewal, &c.Split, &c.WindowStart, &c.WindowEnd, &c.Attributes); err != nil {
			return err
		}
		return fn(&c)
	})
}
