package query

import (
	"context"
	"sort"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Assignment is one team's current assignment of a user.
type Assignment struct {
	TeamID     string
	Products   []string
	AssignedAt time.Time
}

// DirectoryUser is one user ever assigned or charged in the scope of a
// directory: the last charged day (zero if never) and the assignments now.
type DirectoryUser struct {
	UserID      string
	LastDay     time.Time
	Assignments []Assignment
}

// directoryScope is org's rows, or one team's when team is set.
func directoryScope(org, team string) (string, []any) {
	if team == "" {
		return "org_id = ?", []any{org}
	}
	return "org_id = ? AND team_id = ?", []any{org, team}
}

// DirectoryUsers builds every user charged or ever assigned in the scope,
// with the last charge's time (1970-01-01 when never): an instant, whose
// date each reader shows in the organisation's zone.
func DirectoryUsers(org, team string) (string, []any) {
	where, args := directoryScope(org, team)
	sql := `SELECT user_id, max(last_at) FROM (
	SELECT user_id, max(charged_at) AS last_at FROM charges_v2 WHERE ` + where + ` GROUP BY user_id
	UNION ALL
	SELECT user_id, toDateTime(0) AS last_at FROM assignments_v2 WHERE ` + where + ` GROUP BY user_id
) GROUP BY user_id`
	return sql, append(args, args...)
}

// DirectoryAssignments builds the current assignments in the scope.
func DirectoryAssignments(org, team string) (string, []any) {
	where, args := directoryScope(org, team)
	sql := `SELECT team_id, user_id, argMax(product_codes, seq) AS products, argMax(at, seq) AS assigned_at
FROM assignments_v2
WHERE ` + where + `
GROUP BY team_id, user_id
HAVING argMax(assigned, seq) = 1
ORDER BY team_id, user_id`
	return sql, args
}

// Directory returns the users of org (or of one team), unsorted.
func (r *Reader) Directory(ctx context.Context, org, team string) ([]DirectoryUser, error) {
	byUser := map[string]*DirectoryUser{}
	sql, args := DirectoryUsers(org, team)
	err := r.each(ctx, "directory users", sql, args, func(rows driver.Rows) error {
		var u DirectoryUser
		if err := rows.Scan(&u.UserID, &u.LastDay); err != nil {
			return err
		}
		if u.LastDay.Unix() <= 0 {
			u.LastDay = time.Time{}
		}
		byUser[u.UserID] = &u
		return nil
	})
	if err != nil {
		return nil, err
	}
	sql, args = DirectoryAssignments(org, team)
	err = r.each(ctx, "directory assignments", sql, args, func(rows driver.Rows) error {
		var team, user string
		var a Assignment
		if err := rows.Scan(&team, &user, &a.Products, &a.AssignedAt); err != nil {
			return err
		}
		a.TeamID = team
		sort.Strings(a.Products)
		if u := byUser[user]; u != nil {
			u.Assignments = append(u.Assignments, a)
		}
		return nil
	})
	out := make([]DirectoryUser, 0, len(byUser))
	for _, u := range byUser {
		out = append(out, *u)
	}
	return out, err
}
