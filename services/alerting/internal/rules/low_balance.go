package rules

import (
	"fmt"
	"math"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// lowBalance raises low_balance once when available falls to the threshold
// share of live or below, and re-arms when it rises above again. A pool with
// no live tokens (none bought yet, or all expired) neither fires nor re-arms:
// there is no share to speak of.
func lowBalance(f *fold) []*v1.Alert {
	cfg, t := f.cfg.LowBalance, f.t
	if f.pool == nil || t.live <= 0 {
		return nil
	}
	low := float64(t.available)*100 <= cfg.Percent*float64(t.live)
	if !low || !cfg.Enabled {
		t.lowBalance = t.lowBalance && low
		return nil
	}
	if t.lowBalance {
		return nil
	}
	t.lowBalance = true
	sev := v1.Severity_SEVERITY_WARNING
	if t.available <= 0 {
		sev = v1.Severity_SEVERITY_CRITICAL
	}
	p := percent(t.available, t.live)
	figures := map[string]float64{
		"available": float64(t.available),
		"live":      float64(t.live),
		"percent":   p,
		"threshold": cfg.Percent,
	}
	msg := fmt.Sprintf("Team %s has %d tokens left (%s %%) of %d live", f.raise.team, t.available, formatFloat(p), t.live)
	if runOut, m := t.runOut(f.day, time.Time{}); !runOut.IsZero() && t.available > 0 {
		msg += fmt.Sprintf("; %s they run out on %s", pace(m), runOut.Format(time.DateOnly))
		figures["daily_rate"] = math.Round(m.Rate*10) / 10
		figures["run_out_unix"] = float64(runOut.Unix())
	}
	return []*v1.Alert{f.alert(KindLowBalance, sev, msg, figures)}
}
