package query

import (
	"context"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tokenmeter/tokenmeter/services/reporting/internal/sessions"
)

// UserSessions is one user's launcher sessions in a range.
type UserSessions struct {
	UserID                     string
	Sessions, Open             uint64
	ActiveSeconds, IdleSeconds int64
	First, Last                time.Time
}

// sessionRows is the one place a session's active and idle time are
// counted: one row per session of sessions_v2 matching where, with its
// first and last event, whether it ended, and its active and idle seconds.
// Its one argument, the cap of a gap in seconds, comes before where's.
//
// A session is one (team, user, product, device, window). Its events in
// sequence order split its time into gaps: a heartbeat's gap is active or
// idle as the heartbeat reports, a session end's gap takes the state of the
// event before it; each gap counts at most maxGap seconds (a launcher that
// went silent is not in use).
func sessionRows(where string) string {
	// Three levels, as ClickHouse 18.16 loses columns behind chained aliases
	// in a subquery: each level uses only the columns of the one below.
	return `SELECT team_id, user_id, product_code, device_id, window_id, started, last, ended,
		arraySum(arrayMap(g -> g.1 * g.2, gaps)) AS active_seconds,
		arraySum(arrayMap(g -> (1 - g.1) * g.2, gaps)) AS idle_seconds
	FROM (
		SELECT team_id, user_id, product_code, device_id, window_id, started, last, ended,
			arrayMap((g, f, p) -> (if(f = 2, p = 1, f = 1), least(greatest(g, 0), ?)),
				arrayDifference(ts), flags, arrayPushFront(arrayPopBack(flags), 0)) AS gaps
		FROM (
			SELECT team_id, user_id, product_code, device_id, window_id,
				min(at) AS started, max(at) AS last, max(kind = 'end') AS ended,
				arraySort((x, s) -> s, groupArray(toInt64(toUInt32(at))), groupArray(seq)) AS ts,
				arraySort((x, s) -> s, groupArray(if(kind = 'end', 2, active)), groupArray(seq)) AS flags
			FROM sessions_v2
			WHERE ` + where + `
			GROUP BY team_id, user_id, product_code, device_id, window_id
		)
	)`
}

// SessionTimes builds each user's sessions of f (only users, when given).
func SessionTimes(f Filter, users []string, maxGap time.Duration) (string, []any) {
	sql := `SELECT user_id, count() AS sessions, sum(active_seconds), sum(idle_seconds),
	countIf(ended = 0) AS open_sessions, min(started) AS first_at, max(last) AS last_at
FROM (` + sessionRows(scope(f, "at")+inList("user_id", len(users))) + `)
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

// MaxSessions bounds the sessions one sessions report reads.
const MaxSessions = 200_000

// SessionList builds at most limit sessions of f (only products, when
// given), one row each.
func SessionList(f Filter, products []string, maxGap time.Duration, limit int) (string, []any) {
	sql := `SELECT team_id, user_id, product_code, device_id, window_id, started, last, ended, active_seconds, idle_seconds
FROM (` + sessionRows(scope(f, "at")+inList("product_code", len(products))) + `)
LIMIT ` + strconv.Itoa(max(limit, 1))
	return sql, strArgs(append([]any{int64(maxGap.Seconds())}, scopeArgs(f)...), products)
}

// SessionList returns at most limit sessions of f.
func (r *Reader) SessionList(ctx context.Context, f Filter, products []string, maxGap time.Duration, limit int) ([]sessions.Session, error) {
	sql, args := SessionList(f, products, maxGap, limit)
	var out []sessions.Session
	err := r.each(ctx, "session list", sql, args, func(rows driver.Rows) error {
		var s sessions.Session
		var ended uint8
		if err := rows.Scan(&s.Team, &s.User, &s.Product, &s.Device, &s.Window, &s.Start, &s.Last, &ended, &s.Active, &s.Idle); err != nil {
			return err
		}
		s.Ended = ended == 1
		out = append(out, s)
		return nil
	})
	return out, err
}

// WindowCharges builds the tokens each granted launch of f charged (only
// products, when given), from the launcher telemetry, which names the
// window a launch opened; at most limit.
func WindowCharges(f Filter, products []string, limit int) (string, []any) {
	sql := `SELECT team_id, user_id, product_code, window_id, min(at) AS charged_at, sum(tokens_charged) AS tokens
FROM usage_events
WHERE ` + scope(f, "at") + ` AND kind = 'launch' AND tokens_charged > 0` + inList("product_code", len(products)) + `
GROUP BY team_id, user_id, product_code, window_id
LIMIT ` + strconv.Itoa(max(limit, 1))
	return sql, strArgs(scopeArgs(f), products)
}

// WindowCharges returns at most limit launch charges of f.
func (r *Reader) WindowCharges(ctx context.Context, f Filter, products []string, limit int) ([]sessions.Charge, error) {
	sql, args := WindowCharges(f, products, limit)
	var out []sessions.Charge
	err := r.each(ctx, "window charges", sql, args, func(rows driver.Rows) error {
		var c sessions.Charge
		if err := rows.Scan(&c.Team, &c.User, &c.Product, &c.Window, &c.At, &c.Tokens); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	return out, err
}
