package rules

import (
	"fmt"
	"math"
	"strconv"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// packsExpiring raises pack_expiring for a live pack with unused tokens once
// per threshold it comes within (90, 30, 7 days by default): only the
// tightest when several are crossed at once (a pack bought with 20 days left
// warns at 30, then at 7). A pack's expiry never moves, so it never re-arms.
func (t *team) packsExpiring(rs raise, c *Config) []*v1.Alert {
	cfg := c.PackExpiry
	if !cfg.Enabled || len(cfg.Days) == 0 {
		return nil
	}
	var out []*v1.Alert
	for _, id := range sortedKeys(t.packs) {
		p := t.packs[id]
		if p.expires.IsZero() || p.remaining <= 0 || !rs.at.Before(p.expires) {
			continue
		}
		left := p.expires.Sub(rs.at)
		within := 0
		for _, d := range cfg.Days { // descending
			if left <= time.Duration(d)*dayLength {
				within = d
			}
		}
		if within == 0 || (p.warnedWithin != 0 && p.warnedWithin <= within) {
			continue
		}
		p.warnedWithin = within
		sev := v1.Severity_SEVERITY_INFO
		switch {
		case within <= 7:
			sev = v1.Severity_SEVERITY_CRITICAL
		case within <= 30:
			sev = v1.Severity_SEVERITY_WARNING
		}
		daysLeft := math.Ceil(left.Hours() / 24)
		msg := fmt.Sprintf("Pack %s of team %s expires on %s (in %s days) with %d unused tokens at risk",
			id, rs.team, p.expires.UTC().Format(time.DateOnly), formatFloat(daysLeft), p.remaining)
		out = append(out, rs.alert(KindPackExpiring, sev, msg, map[string]float64{
			"tokens_at_risk": float64(p.remaining),
			"days_left":      daysLeft,
			"within_days":    float64(within),
			"expires_unix":   float64(p.expires.Unix()),
		}, id, strconv.Itoa(within)))
	}
	return out
}
