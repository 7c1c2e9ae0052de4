package query

import (
	"context"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// DayTotal is the tokens and charges of one day, all products together.
type DayTotal struct {
	Day     time.Time
	Tokens  int64
	Charges uint64
}

// DailyTotals builds the tokens and charges per day of f.
func DailyTotals(f Filter) (string, []any) {
	table, day, charges := daily(f)
	sql := `SELECT ` + day + ` AS d, sum(tokens) AS total_tokens, ` + charges + ` AS total_charges
FROM ` + table + `
WHERE ` + scope(f, "charged_at") + `
GROUP BY d
ORDER BY d`
	return sql, scopeArgs(f)
}

// DailyTotals returns the tokens and charges per day of f, days without use left out.
func (r *Reader) DailyTotals(ctx context.Context, f Filter) ([]DayTotal, error) {
	sql, args := DailyTotals(f)
	var out []DayTotal
	err := r.each(ctx, "daily totals", sql, args, func(rows driver.Rows) error {
		var d DayTotal
		if err := rows.Scan(&d.Day, &d.Tokens, &d.Charges); err != nil {
			return err
		}
		d.Day = time.Date(d.Day.Year(), d.Day.Month(), d.Day.Day(), 0, 0, 0, 0, time.UTC)
		out = append(out, d)
		return nil
	})
	return out, err
}

// PoolMoves builds the tokens added to and removed from f's pools in its
// range by admins: packs, true-ups, moves in; removals, refunds, moves out,
// merges. Expiry is not a removal.
func PoolMoves(f Filter) (string, []any) {
	sql := `SELECT sumIf(tokens, tokens > 0) AS added, -sumIf(tokens, tokens < 0) AS removed
FROM pool_events_v2
WHERE ` + scope(f, "at") + ` AND kind != 'expired'`
	return sql, scopeArgs(f)
}

// PoolMoves returns the tokens added and removed in f.
func (r *Reader) PoolMoves(ctx context.Context, f Filter) (added, removed int64, err error) {
	sql, args := PoolMoves(f)
	err = r.each(ctx, "pool moves", sql, args, func(rows driver.Rows) error { return rows.Scan(&added, &removed) })
	return added, removed, err
}

// Pack is one pack added to a team, with what is left of it.
type Pack struct {
	TeamID, PackID, Kind, Source, Currency, Counterparty, Reason string
	Tokens, UnitPriceMicros                                      int64
	PurchasedAt, ExpiresAt, AddedAt                              time.Time
	// Used is every debit from the pack: charges, removals, moves, expiry.
	Used int64
}

// Remaining is what is left of the pack.
func (p Pack) Remaining() int64 { return p.Tokens - p.Used }

// teamScope is scope without the days: packs are read over all time.
func teamScope(f Filter) string {
	return "org_id = ? AND team_id IN (" + placeholders(len(f.TeamIDs)) + ")"
}

func teamArgs(f Filter) []any {
	return strArgs([]any{f.OrgID}, f.TeamIDs)
}

// PackList builds the packs of f's teams, of all time.
func PackList(f Filter) (string, []any) {
	sql := `SELECT team_id, pack_id, kind, source, currency, counterparty_team_id, reason, tokens, unit_price_micros, purchased_at, expires_at, at
FROM pool_events_v2
WHERE ` + teamScope(f) + ` AND kind IN ('pack_added', 'move_in')
ORDER BY team_id, purchased_at, pack_id`
	return sql, teamArgs(f)
}

// PackDebits builds the tokens taken from each pack of f's teams: the pack
// splits of charges and adjustments, and what expired.
func PackDebits(f Filter) (string, []any) {
	ts := teamScope(f)
	sql := `SELECT team_id, pack_id, sum(debit) AS used FROM (
	SELECT team_id, split_pack_id AS pack_id, split_token AS debit
	FROM charges_v2 ARRAY JOIN split_pack_ids AS split_pack_id, split_tokens AS split_token
	WHERE ` + ts + `
	UNION ALL
	SELECT team_id, split_pack_id AS pack_id, split_token AS debit
	FROM pool_events_v2 ARRAY JOIN split_pack_ids AS split_pack_id, split_tokens AS split_token
	WHERE ` + ts + `
	UNION ALL
	SELECT team_id, pack_id, -tokens AS debit
	FROM pool_events_v2
	WHERE ` + ts + ` AND kind = 'expired'
)
GROUP BY team_id, pack_id`
	args := teamArgs(f)
	return sql, append(append(append([]any{}, args...), args...), args...)
}

// Packs returns the packs of f's teams with what each has left.
func (r *Reader) Packs(ctx context.Context, f Filter) ([]Pack, error) {
	sql, args := PackList(f)
	var packs []Pack
	err := r.each(ctx, "packs", sql, args, func(rows driver.Rows) error {
		var p Pack
		if err := rows.Scan(&p.TeamID, &p.PackID, &p.Kind, &p.Source, &p.Currency, &p.Counterparty, &p.Reason,
			&p.Tokens, &p.UnitPriceMicros, &p.PurchasedAt, &p.ExpiresAt, &p.AddedAt); err != nil {
			return err
		}
		packs = append(packs, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sql, args = PackDebits(f)
	used := map[[2]string]int64{}
	err = r.each(ctx, "pack debits", sql, args, func(rows driver.Rows) error {
		var team, pack string
		var n int64
		if err := rows.Scan(&team, &pack, &n); err != nil {
			return err
		}
		used[[2]string{team, pack}] = n
		return nil
	})
	for i := range packs {
		packs[i].Used = used[[2]string{packs[i].TeamID, packs[i].PackID}]
	}
	return packs, err
}
