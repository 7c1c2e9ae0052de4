package query

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestUsageByDaySQL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		f    Filter
		sql  string
		args []any
	}{
		{
			name: "one team",
			f:    Filter{OrgID: "acme", TeamIDs: []string{"design"}, From: day("2025-01-01"), To: day("2025-01-31")},
			sql: `SELECT day AS d, product_code, sum(tokens) AS total_tokens, sum(charges) AS total_charges
FROM usage_daily_v2
WHERE org_id = ? AND team_id IN (?) AND day >= toDate(?) AND day <= toDate(?)
GROUP BY d, product_code
ORDER BY d, product_code`,
			args: []any{"acme", "design", "2025-01-01", "2025-01-31"},
		},
		{
			name: "several teams",
			f:    Filter{OrgID: "globex", TeamIDs: []string{"a", "b", "c"}, From: day("2024-05-16"), To: day("2025-05-15")},
			sql: `SELECT day AS d, product_code, sum(tokens) AS total_tokens, sum(charges) AS total_charges
FROM usage_daily_v2
WHERE org_id = ? AND team_id IN (?, ?, ?) AND day >= toDate(?) AND day <= toDate(?)
GROUP BY d, product_code
ORDER BY d, product_code`,
			args: []any{"globex", "a", "b", "c", "2024-05-16", "2025-05-15"},
		},
		{
			name: "no team matches nothing",
			f:    Filter{OrgID: "acme", From: day("2025-01-01"), To: day("2025-01-01")},
			sql: `SELECT day AS d, product_code, sum(tokens) AS total_tokens, sum(charges) AS total_charges
FROM usage_daily_v2
WHERE org_id = ? AND team_id IN (NULL) AND day >= toDate(?) AND day <= toDate(?)
GROUP BY d, product_code
ORDER BY d, product_code`,
			args: []any{"acme", "2025-01-01", "2025-01-01"},
		},
		{
			// A zone's days are its charges' dates there; the UTC day
			// column, a day wider each side, still prunes the read.
			name: "another zone",
			f:    Filter{OrgID: "acme", TeamIDs: []string{"design"}, From: day("2026-04-01"), To: day("2026-04-30"), Zone: auckland},
			sql: `SELECT toDate(charged_at, 'Pacific/Auckland') AS d, product_code, sum(tokens) AS total_tokens, count() AS total_charges
FROM charges_v2
WHERE org_id = ? AND team_id IN (?) AND day >= toDate(?) AND day <= toDate(?) AND toDate(charged_at, 'Pacific/Auckland') >= toDate(?) AND toDate(charged_at, 'Pacific/Auckland') <= toDate(?)
GROUP BY d, product_code
ORDER BY d, product_code`,
			args: []any{"acme", "design", "2026-03-31", "2026-05-01", "2026-04-01", "2026-04-30"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sql, args := UsageByDay(tt.f)
			require.Equal(t, tt.sql, sql)
			require.Equal(t, tt.args, args)
			require.Equal(t, len(args), countPlaceholders(sql), "one argument per placeholder")
		})
	}
}

var auckland, _ = time.LoadLocation("Pacific/Auckland")

func countPlaceholders(sql string) int {
	n := 0
	for _, r := range sql {
		if r == '?' {
			n++
		}
	}
	return n
}
