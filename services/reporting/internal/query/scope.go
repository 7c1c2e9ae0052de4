package query

import (
	"strings"

	"github.com/tokenmeter/tokenmeter/libs/privacy"
)

// scope is the WHERE condition every report starts with: the caller's
// organisation, its requested teams, and the days of the range. ts is the
// rows' timestamp column: in a zone other than UTC the range is of its
// dates there, and the UTC day column, widened by a day each side (no zone
// is a day from UTC), still narrows the read to the range's parts.
//
// Each team gets its own placeholder: clickhouse-go binds a slice as an
// array literal, and ClickHouse 18.16 refuses `team_id IN (['a', 'b'])`.
func scope(f Filter, ts string) string {
	where := "org_id = ? AND team_id IN (" + placeholders(len(f.TeamIDs)) + ") AND day >= toDate(?) AND day <= toDate(?)"
	if zoned(f) {
		d := dayOf(f, ts)
		where += " AND " + d + " >= toDate(?) AND " + d + " <= toDate(?)"
	}
	return where
}

// scopeArgs are the arguments of scope, in order.
func scopeArgs(f Filter) []any {
	args := make([]any, 0, len(f.TeamIDs)+5)
	args = append(args, f.OrgID)
	for _, id := range f.TeamIDs {
		args = append(args, id)
	}
	from, to := f.From.Format(DateLayout), f.To.Format(DateLayout)
	if zoned(f) {
		return append(args, f.From.AddDate(0, 0, -1).Format(DateLayout), f.To.AddDate(0, 0, 1).Format(DateLayout), from, to)
	}
	return append(args, from, to)
}

// zoned reports whether f's dates are of a zone other than UTC.
func zoned(f Filter) bool {
	name := f.zone().String()
	return name != "UTC" && privacy.ZoneNameOK(name)
}

// dayOf is the SQL date of a row's timestamp column ts in f's zone: the
// projected UTC day column in UTC. ClickHouse needs the zone as a constant,
// so it is a literal, never a bound argument.
func dayOf(f Filter, ts string) string {
	if !zoned(f) {
		return "day"
	}
	return "toDate(" + ts + ", '" + f.zone().String() + "')"
}

// daily is where usage per day is summed: usage_daily_v2, summed by UTC
// day; in another zone the charges themselves, dated there.
func daily(f Filter) (table, day, charges string) {
	if !zoned(f) {
		return "usage_daily_v2", "day", "sum(charges)"
	}
	return "charges_v2", dayOf(f, "charged_at"), "count()"
}

func placeholders(n int) string {
	if n <= 0 {
		// No team matches nothing; NewFilter never lets this through.
		return "NULL"
	}
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// onDaily writes sql, a query of usage_daily_v2 in which $day is a row's
// date and $charges its charges, for f's zone (see daily).
func onDaily(f Filter, sql string) string {
	table, day, charges := daily(f)
	return strings.NewReplacer("usage_daily_v2", table, "$day", day, "$charges", charges).Replace(sql)
}
