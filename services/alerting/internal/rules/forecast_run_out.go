package rules

import (
	"fmt"
	"math"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/forecast"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// forecastRunOut raises forecast_run_out when the console's forecast
// (libs/forecast, without planned projects, which alerting does not see)
// runs the pool out within the configured days, or before its last live
// pack expires (the term ends). It re-arms when the forecast stops saying
// so (tokens bought, a new day's model).
func forecastRunOut(f *fold) []*v1.Alert {
	cfg, t := f.cfg.Forecast, f.t
	if f.pool == nil || t.live <= 0 {
		return nil
	}
	if !cfg.Enabled {
		t.forecast = false
		return nil
	}
	// The rule holds exactly when the run-out is before until: within the
	// days, or before the term's end.
	today := f.day
	_, termEnd, hasTerm := t.term()
	until := dayTime(today + int64(cfg.WithinDays) + 1)
	if cfg.BeforeTermEnd && hasTerm && termEnd.After(until) {
		until = termEnd
	}
	if t.forecast && f.charged != nil && t.outlook.holds(today, until) {
		return nil // a charge only brings the run-out nearer: it still holds
	}
	runOut, m := t.runOut(today, until)
	if runOut.IsZero() {
		t.forecast = false
		return nil
	}
	daysLeft := int(runOut.Sub(dayTime(today)) / dayLength)
	soon := daysLeft <= cfg.WithinDays
	beforeTerm := cfg.BeforeTermEnd && hasTerm && runOut.Before(termEnd)
	if !(soon || beforeTerm) {
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
	rounded := math.Round(m.Rate*10) / 10
	msg := fmt.Sprintf("Team %s has %d tokens left (%s %%); %s they run out on %s",
		f.raise.team, t.available, formatFloat(percent(t.available, t.live)), pace(m), runOut.Format(time.DateOnly))
	figures := map[string]float64{
		"available":    float64(t.available),
		"daily_rate":   rounded,
		"days_left":    float64(daysLeft),
		"run_out_unix": float64(runOut.Unix()),
	}
	if hasTerm {
		msg += fmt.Sprintf(", before the term ends on %s", termEnd.UTC().Format(time.DateOnly))
		figures["term_end_unix"] = float64(termEnd.Unix())
	}
	return []*v1.Alert{f.alert(KindForecastRunOut, sev, msg, figures)}
}

// pace says at what the forecast projects: the level, and last year's
// season when it has a year of history.
func pace(m forecast.Model) string {
	s := fmt.Sprintf("at %s tokens a day", formatFloat(math.Round(m.Rate*10)/10))
	if m.Season.Seasonal {
		s += " with last year's season"
	}
	return s
}
