// Package forecast projects a pool's token use: burn rates, the run-out
// date, tokens that will expire before they can be spent, the term's
// month-by-month cumulative table (the seeds' "Token Usage Forecast
// Example") and a renewal size. With a year of history the projection
// follows last year's months and the weekday profile (seasonal.go); planned
// projects add their demand on top (plan.go). It is pure: the caller passes
// the clock.
package forecast

import (
	"math"
	"sort"
	"time"
)

// Pack is a live pack: what is left of it and when it expires.
type Pack struct {
	Remaining int64
	ExpiresAt time.Time
}

// Input is what a forecast is computed from.
type Input struct {
	// Now anchors everything; its date in Zone is "today".
	Now time.Time
	// Zone is the organisation's time zone (nil: UTC).
	Zone *time.Location
	// Daily is the tokens used per day in Zone (the day each window started);
	// it must cover the term and the 12 months before today.
	Daily map[time.Time]int64
	// Packs are the pool's live packs.
	Packs []Pack
	// TermStart is the first day of the term's first month; the term is 12 months.
	TermStart time.Time
	// TermTokens is what the term's percentages divide by.
	TermTokens int64
	// Plans are planned projects whose demand the projection adds.
	Plans []Plan
}

// Month is one row of the term table.
type Month struct {
	Start      time.Time
	Used       int64
	Cumulative int64
	Percent    float64
	Projected  bool
	// RunOut is the first day of the month the term's tokens run out at the
	// pace seen at this month's end; zero when they last the term.
	RunOut time.Time
}

// Result is a forecast.
type Result struct {
	// Burn30 and Burn90 are tokens per day over the 30 and 90 days before today.
	Burn30, Burn90 float64
	// Rate is the level projected: the higher of the two, so that a recent
	// surge is not averaged away (the goal is never to be surprised by a
	// zero balance); with seasonality, the higher of the two with the
	// season of their days taken out.
	Rate float64
	// Season is the seasonal profile applied (Seasonal false: none).
	Season          Season
	Available       int64
	RunOut          time.Time // zero when nothing is used
	ExpiringUnspent int64
	// RunOutWithoutPlans and ExpiringWithoutPlans are the same without the
	// planned projects; PlannedTokens is what the plans add from today on.
	RunOutWithoutPlans   time.Time
	ExpiringWithoutPlans int64
	PlannedTokens        int64
	Used6, Used12        int64
	Renewal              int64
	Months               []Month
}

// RenewalStep rounds the suggested renewal up to a whole number of these.
const RenewalStep = 100

// horizon bounds the run-out simulation.
const horizon = 3 * 366

// Compute forecasts in.
func Compute(in Input) Result {
	today := in.today()
	r := Result{}
	r.Burn30 = float64(sumDays(in.Daily, today.AddDate(0, 0, -30), today.AddDate(0, 0, -1))) / 30
	r.Burn90 = float64(sumDays(in.Daily, today.AddDate(0, 0, -90), today.AddDate(0, 0, -1))) / 90
	r.Season = SeasonOf(in.Daily, today)
	r.Rate = r.Season.Level(in.Daily, today)
	for _, p := range in.Packs {
		r.Available += p.Remaining
	}
	base := func(day time.Time) float64 { return r.Rate * r.Season.Factor(day) }
	planned := plansSeries(in.Plans, today, horizon)
	withPlans := func(day time.Time) float64 { return base(day) + planned(day) }
	r.RunOutWithoutPlans, r.ExpiringWithoutPlans = simulate(today, in.Packs, base)
	r.RunOut, r.ExpiringUnspent = simulate(today, in.Packs, withPlans)
	for _, p := range in.Plans {
		r.PlannedTokens += p.TokensFrom(today)
	}

	thisMonth := monthOf(today)
	r.Used6 = sumDays(in.Daily, thisMonth.AddDate(0, -6, 0), thisMonth.AddDate(0, 0, -1))
	r.Used12 = sumDays(in.Daily, thisMonth.AddDate(0, -12, 0), thisMonth.AddDate(0, 0, -1))
	need := max(float64(r.Used12), 2*float64(r.Used6))
	r.Renewal = int64(math.Ceil(need/RenewalStep)) * RenewalStep

	r.Months = months(in, today, withPlans)
	return r
}

// simulate spends rate(day) tokens a day from today on, from the pack that
// expires first (then the smaller one), losing what is left of a pack at its
// expiry. It returns the first day the pool cannot pay a day's use (spent or
// expired; zero when nothing is used) and the tokens lost to expiry before then.
func simulate(today time.Time, packs []Pack, rate func(time.Time) float64) (runOut time.Time, lost int64) {
	type live struct {
		left    float64
		expires time.Time
	}
	ps := make([]live, 0, len(packs))
	for _, p := range packs {
		if p.Remaining > 0 && p.ExpiresAt.After(today) {
			ps = append(ps, live{float64(p.Remaining), p.ExpiresAt})
		}
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if !ps[i].expires.Equal(ps[j].expires) {
			return ps[i].expires.Before(ps[j].expires)
		}
		return ps[i].left < ps[j].left
	})
	var lostF float64
	for d := 0; d < horizon; d++ {
		day := today.AddDate(0, 0, d)
		// Packs expired by the start of the day lose what is left.
		for len(ps) > 0 && !ps[0].expires.After(day) {
			lostF += ps[0].left
			ps = ps[1:]
		}
		spend := rate(day)
		if spend <= 0 && len(ps) == 0 {
			continue
		}
		for spend > 1e-9 && len(ps) > 0 {
			take := math.Min(spend, ps[0].left)
			ps[0].left -= take
			spend -= take
			if ps[0].left <= 1e-9 {
				ps = ps[1:]
			}
		}
		if spend > 1e-9 {
			return day, int64(math.Round(lostF))
		}
	}
	for _, p := range ps {
		lostF += p.left
	}
	return time.Time{}, int64(math.Round(lostF))
}

// months builds the term table: ended months as used, the current and later
// months projected day by day.
func months(in Input, today time.Time, rate func(time.Time) float64) []Month {
	start := monthOf(in.TermStart)
	termEnd := start.AddDate(1, 0, 0)
	out := make([]Month, 0, 12)
	var cum float64
	for m := range 12 {
		ms := start.AddDate(0, m, 0)
		me := ms.AddDate(0, 1, -1) // last day
		row := Month{Start: ms}
		used := float64(sumDays(in.Daily, ms, minTime(me, today.AddDate(0, 0, -1))))
		pace := rate
		if !me.Before(today) { // not ended: project the rest
			row.Projected = true
			for day := maxTime(ms, today); !day.After(me); day = day.AddDate(0, 0, 1) {
				used += rate(day)
			}
		} else {
			b30 := float64(sumDays(in.Daily, me.AddDate(0, 0, -29), me)) / 30
			b90 := float64(sumDays(in.Daily, me.AddDate(0, 0, -89), me)) / 90
			p := math.Max(b30, b90)
			pace = func(time.Time) float64 { return p }
		}
		cum += used
		row.Used, row.Cumulative = int64(math.Round(used)), int64(math.Round(cum))
		if in.TermTokens > 0 {
			row.Percent = math.Round(10000*cum/float64(in.TermTokens)) / 100
			row.RunOut = reach(me, float64(in.TermTokens)-cum, pace, termEnd)
			if cum >= float64(in.TermTokens) {
				row.RunOut = ms
			}
		}
		out = append(out, row)
	}
	return out
}

// reach is the month of the first day after from by which pace has spent
// left tokens, zero when that is not before until.
func reach(from time.Time, left float64, pace func(time.Time) float64, until time.Time) time.Time {
	for day := from.AddDate(0, 0, 1); day.Before(until); day = day.AddDate(0, 0, 1) {
		left -= pace(day)
		if left <= 1e-9 {
			return monthOf(day)
		}
	}
	return time.Time{}
}

func sumDays(daily map[time.Time]int64, from, to time.Time) int64 {
	var n int64
	for d, v := range daily {
		if !d.Before(from) && !d.After(to) {
			n += v
		}
	}
	return n
}

// today is Now's date in Zone, as a UTC midnight like Daily's keys.
func (in Input) today() time.Time {
	local := in.Now
	if in.Zone != nil {
		local = local.In(in.Zone)
	}
	return time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
}

func monthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// dayOf is t's UTC date, the keys of Daily and of plan days.
func dayOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
