package rules

import (
	"fmt"
	"math"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// usageSpike raises usage_spike once a day when the day's charges exceed the
// daily limit (if set) or the factor times the mean of the trailing days
// before it (once there is enough history). It re-arms the next day.
func usageSpike(f *fold) []*v1.Alert {
	cfg, t := f.cfg.Spike, f.t
	if f.charged == nil || !cfg.Enabled {
		return nil
	}
	today := f.day
	if t.spikeDay == today {
		return nil
	}
	used := t.usage[dayTime(today)]
	overLimit := cfg.DailyLimit > 0 && used > cfg.DailyLimit
	var mean float64
	history := today - t.firstUsage
	if history >= int64(cfg.MinHistoryDays) {
		n := min(int64(cfg.TrailingDays), history)
		mean = float64(t.usageBetween(today-n, today)) / float64(n)
	}
	overMean := mean > 0 && float64(used) > cfg.Factor*mean
	if !overLimit && !overMean {
		return nil
	}
	t.spikeDay = today
	figures := map[string]float64{"tokens_today": float64(used)}
	var why string
	if overLimit {
		figures["daily_limit"] = float64(cfg.DailyLimit)
		why = fmt.Sprintf("over its daily limit of %d", cfg.DailyLimit)
	}
	if overMean {
		m := math.Round(mean*10) / 10
		figures["trailing_mean"], figures["factor"] = m, cfg.Factor
		if why != "" {
			why += " and "
		}
		why += fmt.Sprintf("%s× its trailing daily mean of %s", formatFloat(math.Round(float64(used)/mean*10)/10), formatFloat(m))
	}
	msg := fmt.Sprintf("Team %s used %d tokens on %s, %s", f.raise.team, used, dateOf(today), why)
	return []*v1.Alert{f.alert(KindUsageSpike, v1.Severity_SEVERITY_WARNING, msg, figures, dateOf(today))}
}
