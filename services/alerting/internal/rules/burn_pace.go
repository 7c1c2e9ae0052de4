package rules

import (
	"fmt"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// burnPace raises burn_pace when the configured share (70 %) of the live
// tokens is used before the middle of the term (earliest purchase to latest
// expiry of the live packs): at that pace the pool is empty long before the
// term ends, time to plan a true-up. Re-arms when the used share falls below.
func burnPace(f *fold) []*v1.Alert {
	cfg, t := f.cfg.BurnPace, f.t
	if f.pool == nil || t.live <= 0 {
		return nil
	}
	used := percent(t.live-t.available, t.live)
	if used < cfg.Percent {
		t.burnPace = false
		return nil
	}
	start, end, ok := t.term()
	if !ok || t.burnPace || !cfg.Enabled {
		return nil
	}
	mid := start.Add(end.Sub(start) / 2)
	if !f.at.Before(mid) {
		return nil
	}
	t.burnPace = true
	msg := fmt.Sprintf("Team %s has used %s %% of its %d live tokens before mid-term (%s); plan a true-up before the term ends on %s",
		f.raise.team, formatFloat(used), t.live, mid.UTC().Format(time.DateOnly), end.UTC().Format(time.DateOnly))
	return []*v1.Alert{f.alert(KindBurnPace, v1.Severity_SEVERITY_WARNING, msg, map[string]float64{
		"used_percent":  used,
		"threshold":     cfg.Percent,
		"mid_term_unix": float64(mid.Unix()),
		"term_end_unix": float64(end.Unix()),
	})}
}
