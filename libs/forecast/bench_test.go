package forecast

import (
	"testing"
	"time"
)

// BenchmarkCompute measures a forecast without a year of history (the
// trailing rate only), with one (seasonal), and seasonal with 100 planned
// projects (the most a team may have), to compare their costs in one run.
func BenchmarkCompute(b *testing.B) {
	now := time.Date(2026, 7, 15, 9, 0, 0, 0, time.UTC)
	year := seasonalYear(d("2025-07-01"), d("2026-07-14"))
	recent := seasonalUntil(year, now)
	for day := range recent {
		if day.Before(d("2026-04-15")) {
			delete(recent, day)
		}
	}
	packs := []Pack{{Remaining: 3000, ExpiresAt: d("2027-01-01")}, {Remaining: 5000, ExpiresAt: d("2027-07-01")}}
	plans := make([]Plan, 100)
	for i := range plans {
		start := d("2026-08-03").AddDate(0, 0, 7*i)
		plans[i] = Plan{Users: 5, DaysPerWeek: 3, Products: fusionRevit, Start: start, End: start.AddDate(0, 3, 0)}
	}
	for _, c := range []struct {
		name  string
		daily map[time.Time]int64
		plans []Plan
	}{
		{"trailing", recent, nil},
		{"seasonal", year, nil},
		{"seasonal+100plans", year, plans},
	} {
		b.Run(c.name, func(b *testing.B) {
			in := Input{Now: now, Daily: c.daily, Packs: packs, TermStart: d("2026-01-01"), TermTokens: 10000, Plans: c.plans}
			for b.Loop() {
				Compute(in)
			}
		})
	}
}
