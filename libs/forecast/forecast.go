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
	m := ModelOf(in.Daily, today)
	r := Result{Burn30: m.Burn30, Burn90: m.Burn90, Rate: m.Rate, Season: m.Season}
	for _, p := range in.Packs {
		r.Available += p.Remaining
	}
	base := m.Projected
	planned := plansSeries(in.Plans, today, horizon)
	withPlans := func(day time.Time) float64 { return base(day) + planned(day) }
	without, with := simulate(today, in.Packs, base, horizon), simulate(today, in.Packs, withPlans, horizon)
	r.RunOutWithoutPlans, r.ExpiringWithoutPlans = without.RunOut, without.Lost
	r.RunOut, r.ExpiringUnspent = with.RunOut, with.Lost
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

// Model is what the projection rests on as of a day: the trailing rates,
// the level and the seasonal profile. It reads only the days before today,
// so it holds all day whatever today's use.
type Model struct {
	Burn30, Burn90, Rate float64
	Season               Season
}

// ModelOf derives the model from daily use (as Input.Daily) as of today.
func ModelOf(daily map[time.Time]int64, today time.Time) Model {
	m := Model{
		Burn30: float64(sumDays(daily, today.AddDate(0, 0, -30), today.AddDate(0, 0, -1))) / 30,
		Burn90: float64(sumDays(daily, today.AddDate(0, 0, -90), today.AddDate(0, 0, -1))) / 90,
		Season: SeasonOf(daily, today),
	}
	m.Rate = m.Season.Level(daily, today)
	return m
}

// Projected is the use projected on day, without plans.
func (m Model) Projected(day time.Time) float64 { return m.Rate * m.Season.Factor(day) }

// RunOut is the forecast's run-out without plans from today (a UTC
// midnight, as Today gives) on: Result's RunOutWithoutPlans and
// ExpiringWithoutPlans.
func (m Model) RunOut(today time.Time, packs []Pack) Run {
	return simulate(today, packs, m.Projected, horizon)
}

// RunOutBefore is RunOut looking no further than the days before until: a
// run-out on or after it is not found (RunOut zero), Left is what the packs
// held then, and Lost counts that too.
func (m Model) RunOutBefore(today time.Time, packs []Pack, until time.Time) Run {
	days := int(math.Ceil(until.Sub(today).Hours() / 24))
	return simulate(today, packs, m.Projected, max(0, min(days, horizon)))
}

// Run is a run-out simulation's outcome.
type Run struct {
	// RunOut is the first day the pool cannot pay a day's use (its packs
	// spent or expired); zero when it can through the horizon.
	RunOut time.Time
	// Lost is the tokens lost to expiry before RunOut.
	Lost int64
	// Left is what each pack (in the order given) held when it expired or the
	// simulation ended; 0 once spent, or when it was not live. A pack holding
	// less by under its Left runs the same simulation: only Lost changes.
	Left []float64
}

// simulate spends rate(day) tokens a day for days days from today on, from
// the pack that expires first (then the smaller one), losing what is left of
// a pack at its expiry. It returns the first day the pool cannot pay a day's
// use (spent or expired; zero when nothing is used) and the tokens lost to
// expiry before then.
func simulate(today time.Time, packs []Pack, rate func(time.Time) float64, days int) Run {
	type live struct {
		left    float64
		expires time.Time
		i       int
	}
	run := Run{Left: make([]float64, len(packs))}
	ps := make([]live, 0, len(packs))
	for i, p := range packs {
		if p.Remaining > 0 && p.ExpiresAt.After(today) {
			ps = append(ps, live{float64(p.Remaining), p.ExpiresAt, i})
		}
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if !ps[i].expires.Equal(ps[j].expires) {
			return ps[i].expires.Before(ps[j].expires)
		}
		return ps[i].left < ps[j].left
	})
	var lostF float64
	for d := 0; d < days; d++ {
		day := today.Add(time.Duration(d) * oneDay) // UTC midnights: a day is 24 hours
		// Packs expired by the start of the day lose what is left.
		for len(ps) > 0 && !ps[0].expires.After(day) {
			lostF += ps[0].left
			run.Left[ps[0].i] = ps[0].left
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
			run.RunOut, run.Lost = day, int64(math.Round(lostF))
			return run
		}
	}
	for _, p := range ps {
		lostF += p.left
		run.Left[p.i] = p.left
	}
	run.Lost = int64(math.Round(lostF))
	return run
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

// sumDays sums daily over from … to (inclusive): by looking each day up when
// the range is shorter than the map, else by one pass over the map.
func sumDays(daily map[time.Time]int64, from, to time.Time) int64 {
	var n int64
	if days := to.Sub(from) / oneDay; days >= 0 && int(days) < len(daily) && isMidnight(from) {
		for d := from; !d.After(to); d = d.Add(oneDay) {
			n += daily[d]
		}
		return n
	}
	for d, v := range daily {
		if !d.Before(from) && !d.After(to) {
			n += v
		}
	}
	return n
}

// isMidnight reports whether t is a UTC midnight, the form of Daily's keys.
func isMidnight(t time.Time) bool {
	return t.Location() == time.UTC && t.Equal(dayOf(t))
}

// today is Now's date in Zone, as a UTC midnight like Daily's keys.
func (in Input) today() time.Time { return Today(in.Now, in.Zone) }

// Today is now's date in zone (nil: UTC) as a UTC midnight, the form of
// Daily's keys: the day a use at now counts on.
func Today(now time.Time, zone *time.Location) time.Time {
	if zone != nil {
		now = now.In(zone)
	}
	return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
}

// HistoryFrom is the first day Daily must hold for a forecast as of today:
// the first of the month a year before today's, since the seasonal profile
// reads the 12 calendar months before the current one.
func HistoryFrom(today time.Time) time.Time {
	return time.Date(today.Year()-1, today.Month(), 1, 0, 0, 0, 0, time.UTC)
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
