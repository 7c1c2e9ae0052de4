package rules

import (
	"fmt"
	"math"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// inactiveUsers raises inactive_user once for an assigned user who has not
// launched anything for the configured days since being assigned or last
// active: unassigning them keeps the pool to people who use it. A launch,
// on tokens or by subscription, re-arms it (learn clears the flag through
// user.seen).
func (t *team) inactiveUsers(rs raise, c *Config) []*v1.Alert {
	cfg := c.InactiveUser
	if !cfg.Enabled {
		return nil
	}
	var out []*v1.Alert
	limit := time.Duration(cfg.Days) * dayLength
	for _, id := range sortedKeys(t.users) {
		u := t.users[id]
		since := u.since()
		if !u.assigned || u.inactive || rs.at.Sub(since) < limit {
			continue
		}
		u.inactive = true
		days := math.Floor(rs.at.Sub(since).Hours() / 24)
		what := "has not launched anything since " + since.UTC().Format(time.DateOnly)
		if u.lastActive.IsZero() {
			what = "has launched nothing since being assigned on " + since.UTC().Format(time.DateOnly)
		}
		msg := fmt.Sprintf("%s of team %s %s (%s days)", id, rs.team, what, formatFloat(days))
		out = append(out, rs.alert(KindInactiveUser, v1.Severity_SEVERITY_INFO, msg, map[string]float64{
			"days_inactive": days,
			"limit_days":    float64(cfg.Days),
		}, id))
	}
	return out
}
