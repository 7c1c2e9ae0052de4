package forecast

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// seasonalYear is a synthetic team from..to: 20 tokens on each Monday to
// Friday, nothing at weekends, a fifth of that in August (the summer
// shutdown) and twice that in December (the year-end rush).
func seasonalYear(from, to time.Time) map[time.Time]int64 {
	daily := map[time.Time]int64{}
	for day := from; !day.After(to); day = day.AddDate(0, 0, 1) {
		if weekday(day) >= 5 {
			continue
		}
		v := int64(20)
		switch day.Month() {
		case time.August:
			v = 4
		case time.December:
			v = 40
		}
		daily[day] = v
	}
	return daily
}

// projectedMonth sums the projection over a calendar month.
func projectedMonth(r Result, month time.Time) float64 {
	var t float64
	for day := month; day.Before(month.AddDate(0, 1, 0)); day = day.AddDate(0, 0, 1) {
		t += r.Rate * r.Season.Factor(day)
	}
	return t
}

func actualMonth(daily map[time.Time]int64, month time.Time) float64 {
	return float64(sumDays(daily, month, month.AddDate(0, 1, -1)))
}

func TestSeasonNeedsAYearOfHistory(t *testing.T) {
	t.Parallel()
	today := d("2026-07-15")
	for _, c := range []struct {
		name  string
		from  time.Time
		want  bool
		empty bool
	}{
		{"no use at all", today, false, true},
		{"363 days", today.AddDate(0, 0, -363), false, false},
		{"364 days: the last-12-months range", today.AddDate(0, 0, -364), true, false},
		{"two years", today.AddDate(-2, 0, 0), true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			daily := map[time.Time]int64{}
			if !c.empty {
				// The first day must carry use: start on a weekday-filled series.
				daily = seasonalYear(c.from, today.AddDate(0, 0, -1))
				daily[c.from] = 1
			}
			s := SeasonOf(daily, today)
			require.Equal(t, c.want, s.Seasonal)
			if !c.want {
				require.Equal(t, flat(), s, "no seasonality: every factor is 1")
			}
		})
	}
}

func TestSeasonFactorsOfAYearWithAnAugustDipAndADecemberPeak(t *testing.T) {
	t.Parallel()
	today := d("2026-07-15")
	daily := seasonalYear(d("2025-07-01"), today.AddDate(0, 0, -1))
	s := SeasonOf(daily, today)
	require.True(t, s.Seasonal)
	// Factors are each month's mean over the mean of Jul 2025 … Jun 2026.
	yearMean := actualMonthsMean(daily, d("2025-07-01"), d("2026-06-30"))
	for m := time.January; m <= time.December; m++ {
		year := 2026
		if m >= time.July {
			year = 2025
		}
		ms := time.Date(year, m, 1, 0, 0, 0, 0, time.UTC)
		days := float64(ms.AddDate(0, 1, -1).Day())
		require.InDelta(t, actualMonth(daily, ms)/days/yearMean, s.Months[m-1], 1e-9, "month %s", m)
	}
	require.Less(t, s.Months[time.August-1], 0.3, "August is a dip")
	require.Greater(t, s.Months[time.December-1], 1.8, "December is a peak")
	require.Greater(t, s.Months[time.December-1]/s.Months[time.August-1], 9.0, "ten times the use, give or take a weekday")
	// Weekends carry nothing; the weekdays average 1.
	require.Zero(t, s.Weekdays[5])
	require.Zero(t, s.Weekdays[6])
	var sum float64
	for _, w := range s.Weekdays {
		sum += w
	}
	require.InDelta(t, 7.0, sum, 0.05)
	for w := range 5 {
		require.InDelta(t, 1.4, s.Weekdays[w], 0.05, "weekday %d", w)
	}
}

func actualMonthsMean(daily map[time.Time]int64, from, to time.Time) float64 {
	return float64(sumDays(daily, from, to)) / (to.Sub(from).Hours()/24 + 1)
}

// The projection follows last year's months: August's dip and December's
// peak come back at about last year's size, and weekends stay empty.
func TestSeasonalProjectionRepeatsLastYear(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 7, 15, 9, 0, 0, 0, time.UTC)
	daily := seasonalYear(d("2025-07-01"), d("2026-07-14"))
	r := Compute(Input{Now: now, Daily: daily, TermStart: d("2026-01-01"), TermTokens: 10000})
	require.True(t, r.Season.Seasonal)
	for _, c := range []struct{ future, past string }{
		{"2026-08-01", "2025-08-01"}, {"2026-09-01", "2025-09-01"},
		{"2026-10-01", "2025-10-01"}, {"2026-12-01", "2025-12-01"},
	} {
		got, want := projectedMonth(r, d(c.future)), actualMonth(daily, d(c.past))
		require.InEpsilon(t, want, got, 0.12, "%s projected %.0f, last year %.0f", c.future, got, want)
	}
	require.Zero(t, r.Rate*r.Season.Factor(d("2026-08-08")), "a Saturday")
	// The term table's projected months carry the season too.
	aug := r.Months[7]
	require.True(t, aug.Projected)
	require.InEpsilon(t, actualMonth(daily, d("2025-08-01")), float64(aug.Used), 0.12)
	dec := r.Months[11]
	require.InEpsilon(t, actualMonth(daily, d("2025-12-01")), float64(dec.Used), 0.12)
	require.Greater(t, dec.Used, 8*aug.Used)
}

// Against a flat projection at the trailing rate, the August dip makes a
// pool last longer and the December peak makes it run out sooner.
func TestSeasonMovesTheRunOut(t *testing.T) {
	t.Parallel()
	daily := seasonalYear(d("2025-07-01"), d("2026-11-30"))
	flatRun := func(now time.Time, packs []Pack) time.Time {
		recent := map[time.Time]int64{} // the same last 90 days without the year before
		for day, v := range daily {
			if !day.Before(now.AddDate(0, 0, -90)) && day.Before(now) {
				recent[day] = v
			}
		}
		return Compute(Input{Now: now, Daily: recent, Packs: packs, TermStart: d("2026-01-01")}).RunOut
	}
	// Mid-July, 600 tokens: a flat ~14/day runs out in early August; with
	// August at a fifth, they last into September.
	july := time.Date(2026, 7, 15, 0, 0, 0, 0, time.UTC)
	packs := []Pack{{Remaining: 600, ExpiresAt: d("2027-06-01")}}
	seasonal := Compute(Input{Now: july, Daily: seasonalUntil(daily, july), Packs: packs, TermStart: d("2026-01-01")})
	require.Equal(t, time.August, flatRun(july, packs).Month())
	require.True(t, seasonal.RunOut.After(d("2026-08-31")), "seasonal run-out %s", seasonal.RunOut.Format(time.DateOnly))
	// Mid-November, 700 tokens: flat lasts into January; December's peak
	// spends them before Christmas.
	nov := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	packs = []Pack{{Remaining: 700, ExpiresAt: d("2027-06-01")}}
	seasonal = Compute(Input{Now: nov, Daily: seasonalUntil(daily, nov), Packs: packs, TermStart: d("2026-01-01")})
	require.True(t, flatRun(nov, packs).After(d("2026-12-31")))
	require.True(t, seasonal.RunOut.Before(d("2026-12-25")), "seasonal run-out %s", seasonal.RunOut.Format(time.DateOnly))
}

func seasonalUntil(daily map[time.Time]int64, now time.Time) map[time.Time]int64 {
	out := map[time.Time]int64{}
	for day, v := range daily {
		if day.Before(dayOf(now)) {
			out[day] = v
		}
	}
	return out
}

// Measured in the December peak, the level has December taken out: January
// is projected at January's size, not at December's pace.
func TestSeasonalLevelTakesOutTheSeasonItWasMeasuredIn(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	daily := seasonalYear(d("2025-07-01"), d("2026-12-30"))
	r := Compute(Input{Now: now, Daily: daily, TermStart: d("2026-01-01")})
	require.True(t, r.Season.Seasonal)
	jan := projectedMonth(r, d("2027-01-01"))
	require.InEpsilon(t, actualMonth(daily, d("2026-01-01")), jan, 0.12)
	require.Less(t, jan, 0.7*actualMonth(daily, d("2025-12-01")))
	require.Greater(t, r.Burn30, r.Rate, "the raw December rate is above the level")
}

// A month without any use (a full shutdown) gives a zero factor; a trailing
// window inside it must not divide by zero.
func TestSeasonWithAShutdownMonth(t *testing.T) {
	t.Parallel()
	daily := seasonalYear(d("2025-07-01"), d("2026-08-30"))
	for day := range daily {
		if day.Month() == time.August {
			delete(daily, day)
		}
	}
	now := time.Date(2026, 8, 31, 0, 0, 0, 0, time.UTC)
	r := Compute(Input{Now: now, Daily: daily, TermStart: d("2026-01-01"),
		Packs: []Pack{{Remaining: 1000, ExpiresAt: d("2027-08-01")}}})
	require.True(t, r.Season.Seasonal)
	require.Zero(t, r.Season.Months[time.August-1])
	require.Zero(t, r.Burn30)
	require.False(t, math.IsNaN(r.Rate) || math.IsInf(r.Rate, 0))
	require.Positive(t, r.Rate, "the 90-day window still sees June and July")
	require.False(t, r.RunOut.IsZero())
	require.Equal(t, r.RunOut, r.RunOutWithoutPlans, "no plans: the same run-out")
}

// Use that began after the first of last year's months leaves that month
// unobserved: its factor is 1 (nothing known), not 0, so a steady team's
// level stays its rate instead of being divided by a season it never had.
func TestAMonthBeforeFirstUseIsNeutral(t *testing.T) {
	t.Parallel()
	today := d("2026-02-28")
	daily := map[time.Time]int64{}
	for day := d("2025-03-01"); day.Before(today); day = day.AddDate(0, 0, 1) {
		daily[day] = 10
	}
	s := SeasonOf(daily, today)
	require.True(t, s.Seasonal)
	require.InDelta(t, 1, s.Months[time.February-1], 1e-9, "February 2025 had no use yet")
	require.InDelta(t, 10, s.Level(daily, today), 0.5, "a steady 10 a day")
}
