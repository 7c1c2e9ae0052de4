package query

import (
	"context"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// UserSessions is one user's launcher sessions in a range.
type UserSessions struct {
	UserID                     string
	Sessions, Open             uint64
	ActiveSeconds, IdleSeconds int64
	First, Last                time.Time
}

// SessionTimes builds each user's sessions of f (only users, when given).
//
// A session is one (team, user, product, device, window). Its events in
// sequence order split its time into gaps: a heartbeat's gap is active or
// idle as the heartbeat reports, a session end's gap takes the state of the
// event before it; each gap counts at most maxGap seconds (a launcher that
// went silent is not in use).
func SessionTimes(f Filter, users []string, maxGap time.Duration) (string, []any) {
	// Three levels, as ClickHouse 18.16 loses columns behind chained aliases
	// in a subquery: each level uses only the columns of the one below.
	sql := `SELECT user_id, count() AS sessions,
	sum(arraySum(arrayMap(g -> g.1 * g.2, gaps))) AS active_seconds,
	sum(arraySum(arrayMap(g -> (1 - g.1) * g.2, gaps))) AS idle_seconds,
	countIf(ended = 0) AS open_sessions, min(started) AS first_at, max(last) AS last_at
FROM (
	SELECT user_id, started, last, ended,
		arrayMap((g, f, p) -> (if(f = 2, p = 1, f = 1), least(greatest(g, 0), ?)),
			arrayDifference(ts), flags, arrayPushFront(arrayPopBack(flags), 0)) AS gaps
	FROM (
		SELECT user_id, min(at) AS started, max(at) AS last, max(kind = 'end') AS ended,
			arraySort((x, s) -> s, groupArray(toInt64(toUInt32(at))), groupArray(seq)) AS ts,
			arraySort((x, s) -> s, groupArray(if(kind = 'end', 2, active)), groupArray(seq)) AS flags
		FROM sessions_v2
		WHERE ` + scope(f) + inList("user_id", len(users)) + `
		GROUP BY team_id, user_id, product_code, device_id, window_id
	)
)
GROUP BY user_id
ORDER BY user_id`
	return sql, strArgs(append([]any{int64(maxGap.Seconds())}, scopeArgs(f)...), users)
}

// SessionTimes returns the sessions of f's users (all when users is empty).
func (r *Reader) SessionTimes(ctx context.Context, f Filter, users []string, maxGap time.Duration) (map[string]UserSessions, error) {
	sql, args := SessionTimes(f, users, maxGap)
	out := map[string]UserSessions{}
	err := r.each(ctx, "session times", sql, args, func(rows driver.Rows) error {
		var u UserSessions
		if err := rows.Scan(&u.UserID, &u.Sessions, &u.ActiveSeconds, &u.IdleSeconds, &u.Open, &u.First, &u.Last); err != nil {
			return err
		}
		out[u.UserID] = u
		return nil
	})
	return out, err
}
