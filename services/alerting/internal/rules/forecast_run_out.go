package rules

import (
	"fmt"
	"math"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// forecastRunOut raises forecast_run_out when, at the trailing daily burn
// rate, the pool runs out within the configured days, or before its last live
// pack expires (the term ends). It needs some history to trust the rate, and
// re-arms when the forecast stops saying so (tokens bought, usage slowed).
func forecastRunOut(f *fold) []*v1.Alert {
	cfg, t := f.cfg.Forecast, f.t
	if f.pool == nil || t.live <= 0 {
		return nil
	}
	rate, ok := t.dailyRate(day(f.at), cfg.TrailingDays, cfg.MinHistoryDays)
	if !ok || rate <= 0 {
		t.forecast = false
		return nil
	}
	runOut := runOutDate(f.at, t.available, rate)
	daysLeft := float64(t.available) / rate
	_, termEnd, hasTerm := t.term()
	soon := daysLeft <= float64(cfg.WithinDays)
	beforeTerm := cfg.BeforeTermEnd && hasTerm && runOut.Before(termEnd)
	if !(soon || beforeTerm) || !cfg.Enabled {
		t.forecast = false
		return nil
	}
	if t.forecast {
		return nil
	}
	t.forecast = true
	sev := v1.Severity_SEVERITY_WARNING
	if daysLeft <= 7 {
		sev = v1.Severity_SEVERITY_CRITICAL
	}
	rounded := math.Round(rate*10) / 10
	msg := fmt.Sprintf("Team %s has %d tokens left (%s %%); at %s tokens a day they run out on %s",
		f.raise.team, t.available, formatFloat(percent(t.available, t.live)), formatFloat(rounded), runOut.Format(time.DateOnly))
	figures := map[string]float64{
		"available":    float64(t.available),
		"daily_rate":   rounded,
		"days_left":    math.Floor(daysLeft*10) / 10,
		"run_out_unix": float64(runOut.Unix()),
	}
	if hasTerm {
		msg += fmt.Sprintf(", before the term ends on %s", termEnd.UTC().Format(time.DateOnly))
		figures["term_end_unix"] = float64(termEnd.Unix())
	}
	return []*v1.Alert{f.alert(KindForecastRunOut, sev, msg, figures)}
}
