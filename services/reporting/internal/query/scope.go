package query

import "strings"

// scope is the WHERE condition every report starts with: the caller's
// organisation, its requested teams, and the days of the range.
//
// Each team gets its own placeholder: clickhouse-go binds a slice as an
// array literal, and ClickHouse 18.16 refuses `team_id IN (['a', 'b'])`.
func scope(f Filter) string {
	return "org_id = ? AND team_id IN (" + placeholders(len(f.TeamIDs)) + ") AND day >= toDate(?) AND day <= toDate(?)"
}

// scopeArgs are the arguments of scope, in order.
func scopeArgs(f Filter) []any {
	args := make([]any, 0, len(f.TeamIDs)+3)
	args = append(args, f.OrgID)
	for _, id := range f.TeamIDs {
		args = append(args, id)
	}
	return append(args, f.From.Format(DateLayout), f.To.Format(DateLayout))
}

func placeholders(n int) string {
	if n <= 0 {
		// No team matches nothing; NewFilter never lets this through.
		return "NULL"
	}
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
