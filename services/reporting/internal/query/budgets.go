package query

import (
	"context"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// BudgetEvent is one budget set, removed or crossed.
type BudgetEvent struct {
	Seq                              uint64
	TeamID, Kind, BudgetID           string
	Scope, Key, AttributeKey, Period string
	LimitTokens, Spent               int64
	Hard                             uint8
	PeriodStart, At                  time.Time
}

// BudgetEvents builds every budget event of f's teams, of all time, in
// sequence order.
func BudgetEvents(f Filter) (string, []any) {
	sql := `SELECT seq, team_id, kind, budget_id, scope, key, attribute_key, period, limit_tokens, spent, hard, period_start, at
FROM budget_events_v2
WHERE ` + teamScope(f) + `
ORDER BY seq`
	return sql, teamArgs(f)
}

// BudgetEvents returns every budget event of f's teams in sequence order.
func (r *Reader) BudgetEvents(ctx context.Context, f Filter) ([]BudgetEvent, error) {
	sql, args := BudgetEvents(f)
	var out []BudgetEvent
	err := r.each(ctx, "budget events", sql, args, func(rows driver.Rows) error {
		var b BudgetEvent
		if err := rows.Scan(&b.Seq, &b.TeamID, &b.Kind, &b.BudgetID, &b.Scope, &b.Key, &b.AttributeKey, &b.Period,
			&b.LimitTokens, &b.Spent, &b.Hard, &b.PeriodStart, &b.At); err != nil {
			return err
		}
		out = append(out, b)
		return nil
	})
	return out, err
}

// BudgetCharges selects the charges one budget counts: those of its team
// after it was set (AfterSeq, a LEDGER sequence like the charges'), whose
// window started on or after From, and that match its scope.
type BudgetCharges struct {
	TeamID                   string
	AfterSeq                 uint64
	From                     time.Time
	Scope, Key, AttributeKey string
}

// BudgetSpend builds the tokens each of budgets counts, as one array in
// their order. f gives the organisation and teams; its range is ignored.
func BudgetSpend(f Filter, budgets []BudgetCharges) (string, []any) {
	sums := make([]string, len(budgets))
	var args []any
	from := time.Time{}
	for i, b := range budgets {
		cond := "team_id = ? AND seq > ? AND day >= toDate(?) AND "
		args = append(args, b.TeamID, b.AfterSeq, b.From.Format(DateLayout))
		switch b.Scope {
		case "user":
			cond += "user_id = ?"
			args = append(args, b.Key)
		case "group":
			cond += "product_group = ?"
			args = append(args, b.Key)
		case "attribute":
			cond += "has(attribute_keys, ?) AND attribute_values[indexOf(attribute_keys, ?)] = ?"
			args = append(args, b.AttributeKey, b.AttributeKey, b.Key)
		default:
			cond += "0"
		}
		sums[i] = "sumIf(tokens, " + cond + ")"
		if i == 0 || b.From.Before(from) {
			from = b.From
		}
	}
	sql := `SELECT [` + strings.Join(sums, ", ") + `] AS spent
FROM charges_v2
WHERE ` + teamScope(f) + ` AND day >= toDate(?)`
	return sql, append(append(args, teamArgs(f)...), from.Format(DateLayout))
}

// BudgetSpend returns the tokens each of budgets counts, in their order.
func (r *Reader) BudgetSpend(ctx context.Context, f Filter, budgets []BudgetCharges) ([]int64, error) {
	if len(budgets) == 0 {
		return nil, nil
	}
	sql, args := BudgetSpend(f, budgets)
	var out []int64
	err := r.each(ctx, "budget spend", sql, args, func(rows driver.Rows) error { return rows.Scan(&out) })
	return out, err
}
