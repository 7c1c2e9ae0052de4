package rules

import (
	"fmt"
	"math"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// heavyUserWeeks is the span of the days-a-week average.
const heavyUserWeeks = 4

// heavyUser raises heavy_user once when a user has been active on more than
// the configured days of the trailing 365, or on more than the configured
// days a week on average over the trailing four weeks (once the user's
// history is that long): a named subscription is likely cheaper. It re-arms
// when neither holds any more at the user's next launch.
func heavyUser(f *fold) []*v1.Alert {
	cfg := f.cfg.HeavyUser
	if f.userID == "" || f.charged == nil {
		return nil
	}
	u := f.t.users[f.userID]
	today := day(f.at)
	year := u.activeDaysSince(today - 364)
	var perWeek float64
	if len(u.days) > 0 && today-u.days[0] >= heavyUserWeeks*7-1 {
		perWeek = float64(u.activeDaysSince(today-heavyUserWeeks*7+1)) / heavyUserWeeks
	}
	heavy := year > cfg.DaysPerYear || perWeek > cfg.DaysPerWeek
	if !heavy || !cfg.Enabled {
		u.heavy = u.heavy && heavy
		return nil
	}
	if u.heavy {
		return nil
	}
	u.heavy = true
	msg := fmt.Sprintf("%s of team %s used tokens on %d days of the last 365 (%s a week lately); a named subscription may cost less",
		f.userID, f.raise.team, year, formatFloat(math.Round(perWeek*10)/10))
	return []*v1.Alert{f.alert(KindHeavyUser, v1.Severity_SEVERITY_INFO, msg, map[string]float64{
		"days_last_365":       float64(year),
		"days_per_week":       perWeek,
		"days_per_year_limit": float64(cfg.DaysPerYear),
		"days_per_week_limit": cfg.DaysPerWeek,
	}, f.userID)}
}
