package forecast

import (
	"math"
	"time"
)

// Season is a multiplicative seasonal profile: a day's use is the level
// times its month's factor times its weekday's factor. With one year of
// history there is one observation of each month, so the factors are last
// year's ratios (a seasonal-naïve decomposition) rather than a fitted model.
type Season struct {
	// Seasonal is false without a year of history: every factor is then 1.
	Seasonal bool
	// Months are the factors of January … December: the mean daily use in
	// the month's latest full occurrence over the mean daily use of the 12
	// months before the current one.
	Months [12]float64
	// Weekdays are the factors of Monday … Sunday over the same 12 months;
	// they average 1, so a week's total is the level's.
	Weekdays [7]float64
}

// YearOfHistory is how long before today use must have begun for the
// projection to be seasonal: the last-12-months report range.
const YearOfHistory = 364 * 24 * time.Hour

// MinSeasonDivisor keeps a window of almost no seasonal use (a shutdown
// month) from inflating the level taken out of it: below it, the window's
// raw rate is the level.
const MinSeasonDivisor = 0.05

// flat is the profile without seasonality.
func flat() Season {
	var s Season
	for i := range s.Months {
		s.Months[i] = 1
	}
	for i := range s.Weekdays {
		s.Weekdays[i] = 1
	}
	return s
}

// SeasonOf derives the profile from daily use. There is a year of history
// when use began on or before the first day of the last-12-months range
// (364 days before today, so 365 days with today); the factors
// come from the 12 calendar months before today's month, each month's mean
// taken over its days since that first use.
func SeasonOf(daily map[time.Time]int64, today time.Time) Season {
	s := flat()
	first, ok := firstUse(daily)
	if !ok || today.Sub(first) < YearOfHistory {
		return s
	}
	from := monthOf(today).AddDate(-1, 0, 0)
	to := monthOf(today).AddDate(0, 0, -1)
	yearMean := meanDaily(daily, maxTime(from, first), to)
	if yearMean <= 0 {
		return s
	}
	for m := range 12 {
		ms, end := from.AddDate(0, m, 0), from.AddDate(0, m+1, -1)
		if end.Before(first) {
			continue // not observed since use began: neutral, as without seasonality
		}
		s.Months[int(ms.Month())-1] = meanDaily(daily, maxTime(ms, first), end) / yearMean
	}
	var sums [7]float64
	var counts [7]int
	for day := maxTime(from, first); !day.After(to); day = day.AddDate(0, 0, 1) {
		w := weekday(day)
		sums[w] += float64(daily[day])
		counts[w]++
	}
	for w := range 7 {
		if counts[w] > 0 {
			s.Weekdays[w] = sums[w] / float64(counts[w]) / yearMean
		}
	}
	s.Seasonal = true
	return s
}

// Factor is day's month factor times its weekday factor.
func (s Season) Factor(day time.Time) float64 {
	return s.Months[int(day.Month())-1] * s.Weekdays[weekday(day)]
}

// Level is the deseasonalised rate: each of the 30- and 90-day trailing
// rates divided by the mean factor of its days, the higher of the two.
// Without seasonality it is the higher trailing rate.
func (s Season) Level(daily map[time.Time]int64, today time.Time) float64 {
	level := 0.0
	for _, n := range []int{30, 90} {
		from := today.AddDate(0, 0, -n)
		rate := float64(sumDays(daily, from, today.AddDate(0, 0, -1))) / float64(n)
		if s.Seasonal { // flat factors are all 1: nothing to divide by
			rate = s.deseasoned(rate, from, today, n)
		}
		level = math.Max(level, rate)
	}
	return level
}

// deseasoned is rate over the n days from … today (excluded) divided by
// their mean factor, unless that is under MinSeasonDivisor.
func (s Season) deseasoned(rate float64, from, today time.Time, n int) float64 {
	var f float64
	midnights := isMidnight(from) // then a day is 24 hours
	for day := from; day.Before(today); {
		f += s.Factor(day)
		if midnights {
			day = day.Add(oneDay)
		} else {
			day = day.AddDate(0, 0, 1)
		}
	}
	if f /= float64(n); f >= MinSeasonDivisor {
		return rate / f
	}
	return rate
}

func firstUse(daily map[time.Time]int64) (time.Time, bool) {
	var first time.Time
	for d, v := range daily {
		if v > 0 && (first.IsZero() || d.Before(first)) {
			first = d
		}
	}
	return first, !first.IsZero()
}

// meanDaily is the mean use a day over from … to (inclusive), 0 when empty.
func meanDaily(daily map[time.Time]int64, from, to time.Time) float64 {
	days := to.Sub(from).Hours()/24 + 1
	if days < 1 {
		return 0
	}
	return float64(sumDays(daily, from, to)) / math.Round(days)
}

// weekday numbers Monday 0 … Sunday 6.
func weekday(day time.Time) int {
	return (int(day.Weekday()) + 6) % 7
}
