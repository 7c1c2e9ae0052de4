package query

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var acme = Filter{OrgID: "acme", TeamIDs: []string{"design", "civil"}, From: day("2025-01-01"), To: day("2025-01-31")}

func TestUserTotalsSQL(t *testing.T) {
	t.Parallel()
	sql, args := UserTotals(acme, []string{"REVIT"}, Order{By: SortTokens, Limit: 10}, nil)
	require.Equal(t, `SELECT user_id, sum(tokens) AS total_tokens, sum(charges) AS total_charges, uniqExact(day) AS days_used, max(day) AS last_day, groupUniqArray(product_code) AS products
FROM usage_daily_v2
WHERE org_id = ? AND team_id IN (?, ?) AND day >= toDate(?) AND day <= toDate(?) AND product_code IN (?)
GROUP BY user_id
ORDER BY total_tokens DESC, user_id
LIMIT 10`, sql)
	require.Equal(t, []any{"acme", "design", "civil", "2025-01-01", "2025-01-31", "REVIT"}, args)
}

func TestOrderBy(t *testing.T) {
	t.Parallel()
	cols := map[SortBy]string{SortTokens: "total_tokens", SortName: "user_id", SortLastUsed: "last_day"}
	require.Equal(t, "\nORDER BY total_tokens DESC, user_id", orderBy(Order{}, cols, "user_id"))
	require.Equal(t, "\nORDER BY total_tokens ASC, user_id\nLIMIT 5", orderBy(Order{Asc: true, Limit: 5}, cols, "user_id"))
	require.Equal(t, "\nORDER BY user_id ASC", orderBy(Order{By: SortName}, cols, "user_id"))
	require.Equal(t, "\nORDER BY user_id DESC", orderBy(Order{By: SortName, Asc: true}, cols, "user_id"))
	require.Equal(t, "\nORDER BY last_day DESC, user_id", orderBy(Order{By: SortLastUsed}, cols, "user_id"))
	require.Equal(t, "\nORDER BY total_tokens DESC, user_id", orderBy(Order{By: SortDaysUsed}, cols, "user_id"), "unknown key: tokens")
}

func TestAttributeValuesSQL(t *testing.T) {
	t.Parallel()
	sql, args := AttributeValues(acme, "project", 3)
	require.Equal(t, `SELECT attribute_value, sum(tokens) AS total_tokens, count() AS charges, uniqExact(user_id) AS users
FROM charges_v2
ARRAY JOIN attribute_keys AS attribute_key, attribute_values AS attribute_value
WHERE org_id = ? AND team_id IN (?, ?) AND day >= toDate(?) AND day <= toDate(?) AND attribute_key = ?
GROUP BY attribute_value
ORDER BY total_tokens DESC, attribute_value
LIMIT 3`, sql)
	require.Equal(t, []any{"acme", "design", "civil", "2025-01-01", "2025-01-31", "project"}, args)
}

// Every builder binds one argument per placeholder, the organisation first
// (or right after a leading value), and never the org inside the SQL text.
func TestBuildersBindEveryPlaceholder(t *testing.T) {
	t.Parallel()
	builders := map[string]func() (string, []any){
		"ProductTotals": func() (string, []any) {
			return ProductTotals(acme, ProductScope{Codes: []string{"A", "B"}, Group: "G"}, Order{})
		},
		"ProductUsers":      func() (string, []any) { return ProductUsers(acme, []string{"A"}) },
		"ProductVersions":   func() (string, []any) { return ProductVersions(acme, nil) },
		"Totals":            func() (string, []any) { return Totals(acme, nil) },
		"SameDay":           func() (string, []any) { return SameDay(acme, []string{"u1", "u2"}, []string{"A"}) },
		"UserProductUse":    func() (string, []any) { return UserProductUse(acme, []string{"u1"}, nil) },
		"LastUse":           func() (string, []any) { return LastUse(acme, []string{"u1"}) },
		"UserTeamUse":       func() (string, []any) { return UserTeamUse(acme) },
		"AttributeProducts": func() (string, []any) { return AttributeProducts(acme, "project") },
		"AttributeCoverage": func() (string, []any) { return AttributeCoverage(acme, "project") },
		"DailyTotals":       func() (string, []any) { return DailyTotals(acme) },
		"PoolMoves":         func() (string, []any) { return PoolMoves(acme) },
		"PackList":          func() (string, []any) { return PackList(acme) },
		"PackDebits":        func() (string, []any) { return PackDebits(acme) },
		"MonthlyUse":        func() (string, []any) { return MonthlyUse(acme) },
		"Assignees":         func() (string, []any) { return Assignees(acme) },
		"LastDays":          func() (string, []any) { return LastDays(acme) },
		"Charges":           func() (string, []any) { return Charges(acme) },
		"SessionTimes":      func() (string, []any) { return SessionTimes(acme, []string{"u1"}, 15*time.Minute) },
		"BudgetEvents":      func() (string, []any) { return BudgetEvents(acme) },
		"DenialGroups": func() (string, []any) {
			return DenialGroups(DenialScope{Filter: acme, Reasons: []string{"insufficient_tokens"}, Products: []string{"A", "B"}}, DenyByUser)
		},
		"DenialReasons": func() (string, []any) { return DenialReasons(DenialScope{Filter: acme}, DenyByDay) },
		"DenialList": func() (string, []any) {
			return DenialList(DenialScope{Filter: acme, Products: []string{"A"}}, &DenialPos{At: 1735689600, Part: 1, Seq: 42}, 101)
		},
		"Spend":              func() (string, []any) { return Spend(acme, SpendByTeam, "") },
		"SpendAttribute":     func() (string, []any) { return Spend(acme, SpendByAttribute, "project") },
		"ExpiredValue":       func() (string, []any) { return ExpiredValue(acme) },
		"SubscriptionStates": func() (string, []any) { return SubscriptionStates(acme) },
		"CapacityUsage": func() (string, []any) {
			return CapacityUsage(CapacityScope{Filter: acme, Product: "API", Bucket: BucketWeek})
		},
		"BudgetSpend": func() (string, []any) {
			return BudgetSpend(acme, []BudgetCharges{
				{TeamID: "design", AfterSeq: 3, From: day("2025-01-01"), Scope: "user", Key: "u1"},
				{TeamID: "civil", AfterSeq: 9, From: day("2024-12-30"), Scope: "attribute", Key: "P-1", AttributeKey: "project"},
				{TeamID: "civil", Scope: "group", Key: "AEC"},
			})
		},
	}
	for name, build := range builders {
		sql, args := build()
		require.Equal(t, countPlaceholders(sql), len(args), name)
		require.Contains(t, args, "acme", name)
		require.NotContains(t, sql, "acme", name)
		require.Contains(t, sql, "org_id = ?", name)
	}
}

func TestBudgetSpendSQL(t *testing.T) {
	t.Parallel()
	sql, args := BudgetSpend(acme, []BudgetCharges{
		{TeamID: "design", AfterSeq: 3, From: day("2025-01-06"), Scope: "user", Key: "u1"},
		{TeamID: "civil", AfterSeq: 9, From: day("2025-01-01"), Scope: "attribute", Key: "P-1", AttributeKey: "project"},
	})
	require.Equal(t, `SELECT [sumIf(tokens, team_id = ? AND seq > ? AND day >= toDate(?) AND user_id = ?), `+
		`sumIf(tokens, team_id = ? AND seq > ? AND day >= toDate(?) AND has(attribute_keys, ?) AND attribute_values[indexOf(attribute_keys, ?)] = ?)] AS spent
FROM charges_v2
WHERE org_id = ? AND team_id IN (?, ?) AND day >= toDate(?)`, sql)
	require.Equal(t, []any{"design", uint64(3), "2025-01-06", "u1", "civil", uint64(9), "2025-01-01", "project", "project", "P-1",
		"acme", "design", "civil", "2025-01-01"}, args)
}

func TestSpendSQL(t *testing.T) {
	t.Parallel()
	sql, args := Spend(acme, SpendByAttribute, "project")
	require.Equal(t, `SELECT k, currency, sum(split_token * price) AS amount, sum(split_token) AS total_tokens, uniqExact(event_id) AS charges,
	sum(toFloat64(split_token) * price) AS approx
FROM (
	SELECT attribute_values[indexOf(attribute_keys, ?)] AS k, event_id, team_id, split_pack_id AS pack_id, split_token
	FROM charges_v2 ARRAY JOIN split_pack_ids AS split_pack_id, split_tokens AS split_token
	WHERE org_id = ? AND team_id IN (?, ?) AND day >= toDate(?) AND day <= toDate(?)
) ANY LEFT JOIN (
	SELECT team_id, pack_id, any(unit_price_micros) AS price, any(currency) AS currency
	FROM pool_events_v2
	WHERE org_id = ? AND team_id IN (?, ?) AND kind IN ('pack_added', 'move_in')
	GROUP BY team_id, pack_id
) USING (team_id, pack_id)
GROUP BY k, currency
ORDER BY currency, amount DESC, k`, sql)
	require.Equal(t, []any{"project", "acme", "design", "civil", "2025-01-01", "2025-01-31", "acme", "design", "civil"}, args)
}

func TestDenialListSQL(t *testing.T) {
	t.Parallel()
	sql, args := DenialList(DenialScope{Filter: acme, Reasons: []string{"budget_exceeded"}}, &DenialPos{At: 1735689600, Part: 2, Seq: 42}, 11)
	require.Equal(t, `SELECT seq, stream_part, event_id, team_id, user_id, product_code, product_version, device_id, deny_reason, at, tokens, renewal
FROM launches_v2
WHERE org_id = ? AND team_id IN (?, ?) AND day >= toDate(?) AND day <= toDate(?) AND outcome = 'denied' AND deny_reason IN (?) AND `+
		`(toUInt32(at) < ? OR toUInt32(at) = ? AND (stream_part < ? OR stream_part = ? AND seq < ?))
ORDER BY at DESC, stream_part DESC, seq DESC
LIMIT 11`, sql)
	require.Equal(t, []any{"acme", "design", "civil", "2025-01-01", "2025-01-31", "budget_exceeded",
		uint32(1735689600), uint32(1735689600), int8(2), int8(2), uint64(42)}, args)
}
