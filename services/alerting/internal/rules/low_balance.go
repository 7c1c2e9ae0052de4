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
	if rate, ok := t.dailyRate(day(f.at), f.cfg.Forecast.TrailingDays, f.cfg.Forecast.MinHistoryDays); ok && rate > 0 && t.available > 0 {
		runOut := runOutDate(f.at, t.available, rate)
		msg += fmt.Sprintf("; at %s tokens a day they run out on %s", formatFloat(math.Round(rate*10)/10), runOut.Format(time.DateOnly))
		figures["daily_rate"] = math.Round(rate*10) / 10
		figures["run_out_unix"] = float64(runOut.Unix())
	}
	return []*v1.Alert{f.alert(KindLowBalance, sev, msg, figures)}
}

// runOutDate is when available tokens last at rate a day from at.
func runOutDate(at time.Time, available int64, rate float64) time.Time {
	return at.Add(time.Duration(float64(available) / rate * float64(dayLength))).UTC()
}
