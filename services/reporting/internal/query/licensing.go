package query

import (
	"context"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// MonthUse is one user's use of one product in one month.
type MonthUse struct {
	TeamID, UserID, Code string
	Month                time.Time
	Days                 uint64
	Tokens               int64
}

// MonthlyUse builds the days and tokens per team, user, product and month of f.
func MonthlyUse(f Filter) (string, []any) {
	sql := `SELECT team_id, user_id, product_code, toStartOfMonth($day) AS month, uniqExact($day) AS days, sum(tokens) AS total_tokens
FROM usage_daily_v2
WHERE ` + scope(f, "charged_at") + `
GROUP BY team_id, user_id, product_code, month
ORDER BY team_id, user_id, product_code, month`
	return onDaily(f, sql), scopeArgs(f)
}

// MonthlyUse returns the use per team, user, product and month of f.
func (r *Reader) MonthlyUse(ctx context.Context, f Filter) ([]MonthUse, error) {
	sql, args := MonthlyUse(f)
	var out []MonthUse
	err := r.each(ctx, "monthly use", sql, args, func(rows driver.Rows) error {
		var m MonthUse
		if err := rows.Scan(&m.TeamID, &m.UserID, &m.Code, &m.Month, &m.Days, &m.Tokens); err != nil {
			return err
		}
		m.Month = time.Date(m.Month.Year(), m.Month.Month(), 1, 0, 0, 0, 0, time.UTC)
		out = append(out, m)
		return nil
	})
	return out, err
}

// Assignee is a user currently assigned to a team.
type Assignee struct {
	TeamID, UserID string
	Products       []string
	AssignedAt     time.Time
	// LastDay is the user's last charged day in the team, zero if never.
	LastDay time.Time
}

// Assignees builds the users whose last assignment event in f's teams assigns them.
func Assignees(f Filter) (string, []any) {
	sql := `SELECT team_id, user_id, argMax(product_codes, seq) AS products, argMax(at, seq) AS assigned_at
FROM assignments_v2
WHERE ` + teamScope(f) + `
GROUP BY team_id, user_id
HAVING argMax(assigned, seq) = 1
ORDER BY team_id, user_id`
	return sql, teamArgs(f)
}

// LastDays builds every user's last charged day per team, of all time.
func LastDays(f Filter) (string, []any) {
	sql := `SELECT team_id, user_id, max($day) AS last_day
FROM usage_daily_v2
WHERE ` + teamScope(f) + `
GROUP BY team_id, user_id`
	return onDaily(f, sql), teamArgs(f)
}

// Assignees returns the users assigned to f's teams now, with their last use.
func (r *Reader) Assignees(ctx context.Context, f Filter) ([]Assignee, error) {
	sql, args := Assignees(f)
	var out []Assignee
	err := r.each(ctx, "assignees", sql, args, func(rows driver.Rows) error {
		var a Assignee
		if err := rows.Scan(&a.TeamID, &a.UserID, &a.Products, &a.AssignedAt); err != nil {
			return err
		}
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sql, args = LastDays(f)
	last := map[[2]string]time.Time{}
	err = r.each(ctx, "last days", sql, args, func(rows driver.Rows) error {
		var team, user string
		var d time.Time
		if err := rows.Scan(&team, &user, &d); err != nil {
			return err
		}
		last[[2]string{team, user}] = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
		return nil
	})
	for i := range out {
		out[i].LastDay = last[[2]string{out[i].TeamID, out[i].UserID}]
	}
	return out, err
}
