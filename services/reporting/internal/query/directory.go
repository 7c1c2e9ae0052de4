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

// Membership is one user group a user belongs to now.
type Membership struct {
	TeamID, GroupID, Name string
	JoinedAt              time.Time
}

// DirectoryUser is one user ever assigned, charged or in a user group in
// the scope of a directory: the last charged day (zero if never), the
// assignments and the groups now.
type DirectoryUser struct {
	UserID      string
	LastDay     time.Time
	Assignments []Assignment
	Groups      []Membership
}

// directoryScope is org's rows, or one team's when team is set.
func directoryScope(org, team string) (string, []any) {
	if team == "" {
		return "org_id = ?", []any{org}
	}
	return "org_id = ? AND team_id = ?", []any{org, team}
}

// DirectoryUsers builds every user charged, ever assigned or ever added to
// a user group in the scope, with the last charge's time (1970-01-01 when
// never): an instant, whose date each reader shows in the organisation's zone.
func DirectoryUsers(org, team string) (string, []any) {
	where, args := directoryScope(org, team)
	sql := `SELECT user_id, max(last_at) FROM (
	SELECT user_id, max(charged_at) AS last_at FROM charges_v2 WHERE ` + where + ` GROUP BY user_id
	UNION ALL
	SELECT user_id, toDateTime(0) AS last_at FROM assignments_v2 WHERE ` + where + ` GROUP BY user_id
	UNION ALL
	SELECT arrayJoin(added_user_ids) AS user_id, toDateTime(0) AS last_at FROM user_group_events
	WHERE ` + where + ` AND kind = 'members' GROUP BY user_id
) GROUP BY user_id`
	return sql, append(append(args, args...), args...)
}

// DirectoryGroups builds the user groups in the scope now, with their names.
func DirectoryGroups(org, team string) (string, []any) {
	where, args := directoryScope(org, team)
	sql := `SELECT team_id, group_id, argMax(name, seq) AS name
FROM user_group_events
WHERE ` + where + ` AND kind IN ('set', 'deleted')
GROUP BY team_id, group_id
HAVING argMax(kind, seq) = 'set'`
	return sql, args
}

// DirectoryMembers builds who belongs to which group now (by the latest
// change naming them), with when they were added.
func DirectoryMembers(org, team string) (string, []any) {
	where, args := directoryScope(org, team)
	sql := `SELECT team_id, group_id, user_id, argMax(at, seq) AS joined
FROM (
	SELECT seq, at, team_id, group_id, tupleElement(m, 1) AS user_id, tupleElement(m, 2) AS member
	FROM user_group_events
	ARRAY JOIN arrayConcat(arrayMap(u -> (u, 1), added_user_ids), arrayMap(u -> (u, 0), removed_user_ids)) AS m
	WHERE ` + where + ` AND kind = 'members'
)
GROUP BY team_id, group_id, user_id
HAVING argMax(member, seq) = 1
ORDER BY team_id, group_id, user_id`
	return sql, args
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
	if err == nil {
		err = r.directoryGroups(ctx, org, team, byUser)
	}
	out := make([]DirectoryUser, 0, len(byUser))
	for _, u := range byUser {
		out = append(out, *u)
	}
	return out, err
}

// directoryGroups adds to each user the groups they belong to now.
func (r *Reader) directoryGroups(ctx context.Context, org, team string, byUser map[string]*DirectoryUser) error {
	names := map[[2]string]string{}
	sql, args := DirectoryGroups(org, team)
	err := r.each(ctx, "directory groups", sql, args, func(rows driver.Rows) error {
		var team, group, name string
		if err := rows.Scan(&team, &group, &name); err != nil {
			return err
		}
		names[[2]string{team, group}] = name
		return nil
	})
	if err != nil {
		return err
	}
	sql, args = DirectoryMembers(org, team)
	return r.each(ctx, "directory members", sql, args, func(rows driver.Rows) error {
		var m Membership
		var user string
		if err := rows.Scan(&m.TeamID, &m.GroupID, &user, &m.JoinedAt); err != nil {
			return err
		}
		name, current := names[[2]string{m.TeamID, m.GroupID}]
		if u := byUser[user]; u != nil && current {
			m.Name = name
			u.Groups = append(u.Groups, m)
		}
		return nil
	})
}
