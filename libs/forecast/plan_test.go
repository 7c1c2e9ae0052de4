package forecast

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var fusionRevit = []ProductRate{{Code: "FUSION", Rate: 2}, {Code: "REVIT", Rate: 10}}

func TestPlanEstimate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name        string
		plan        Plan
		daysPerUser int64
		tokens      int64
		perProduct  []int64
	}{
		// The Flex Estimator's sum: 10 users × 3 days × 4 weeks × (2 + 10).
		{"days a week, whole weeks", Plan{Users: 10, DaysPerWeek: 3, Products: fusionRevit,
			Start: d("2027-01-04"), End: d("2027-01-31")}, 12, 1440, []int64{240, 1200}},
		{"five days a week is every workday", Plan{Users: 2, DaysPerWeek: 5, Products: fusionRevit[:1],
			Start: d("2027-01-04"), End: d("2027-01-17")}, 10, 40, []int64{40}},
		{"seven days a week", Plan{Users: 1, DaysPerWeek: 7, Products: fusionRevit[1:],
			Start: d("2027-01-04"), End: d("2027-01-17")}, 14, 140, []int64{140}},
		// Wed-Sun: 3 workdays at 3/5 is 1.8 days, rounded up to 2 whole days.
		{"a partial week rounds up to whole days", Plan{Users: 4, DaysPerWeek: 3, Products: fusionRevit[:1],
			Start: d("2027-01-06"), End: d("2027-01-10")}, 2, 16, []int64{16}},
		{"days in all", Plan{Users: 5, Days: 7, Products: fusionRevit,
			Start: d("2027-01-04"), End: d("2027-03-31")}, 7, 420, []int64{70, 350}},
		{"more days than workdays spill into weekends", Plan{Users: 1, Days: 12, Products: fusionRevit[:1],
			Start: d("2027-01-04"), End: d("2027-01-17")}, 12, 24, []int64{24}},
		{"one day", Plan{Users: 1, Days: 1, Products: fusionRevit[1:],
			Start: d("2027-01-09"), End: d("2027-01-09")}, 1, 10, []int64{10}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := c.plan.Estimate()
			require.Equal(t, c.daysPerUser, e.DaysPerUser)
			require.Equal(t, c.plan.Users*c.daysPerUser, e.UserDays)
			require.Equal(t, c.tokens, e.Tokens)
			require.Equal(t, c.perProduct, e.PerProduct)
			// The daily demand spreads exactly the estimate over the plan's days.
			demand := c.plan.Demand()
			var sum float64
			for day := c.plan.Start.AddDate(0, 0, -3); !day.After(c.plan.End.AddDate(0, 0, 3)); day = day.AddDate(0, 0, 1) {
				v := demand(day)
				require.GreaterOrEqual(t, v, 0.0)
				if day.Before(c.plan.Start) || day.After(c.plan.End) {
					require.Zero(t, v, "outside the plan: %s", day.Format(time.DateOnly))
				}
				sum += v
			}
			require.InDelta(t, float64(c.tokens), sum, 1e-6)
			require.Equal(t, c.tokens, c.plan.TokensFrom(c.plan.Start.AddDate(0, 0, -10)))
		})
	}
}

func TestPlanDemandFallsOnWorkdaysFirst(t *testing.T) {
	t.Parallel()
	p := Plan{Users: 10, DaysPerWeek: 2, Products: fusionRevit[:1], Start: d("2027-01-04"), End: d("2027-01-10")}
	demand := p.Demand()
	for day := p.Start; !day.After(p.End); day = day.AddDate(0, 0, 1) {
		want := 10 * 2 * 2.0 / 5 // users × rate × 2/5 of each workday
		if weekday(day) >= 5 {
			want = 0
		}
		require.InDelta(t, want, demand(day), 1e-9, day.Format(time.DateOnly))
	}
	require.Equal(t, int64(16), p.TokensFrom(d("2027-01-07")), "Thu and Fri left: 2 × 8 tokens")
	require.Zero(t, p.TokensFrom(d("2027-01-11")), "ended")
}

// A planned project adds its demand to the projection: the pool runs out
// sooner with it, the run-out without it stays what it was, and the term
// table carries the plan's tokens in its months.
func TestComputeWithAPlan(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 1, 1, 8, 0, 0, 0, time.UTC)
	daily := map[time.Time]int64{}
	for i := 1; i <= 90; i++ {
		daily[dayOf(now).AddDate(0, 0, -i)] = 10
	}
	packs := []Pack{{Remaining: 2000, ExpiresAt: d("2027-12-31")}}
	in := Input{Now: now, Daily: daily, Packs: packs, TermStart: d("2027-01-01"), TermTokens: 4000}
	without := Compute(in)
	require.Equal(t, d("2027-07-20"), without.RunOut, "2,000 at 10 a day")

	// 10 users, 5 days a week, Revit (10 a day) through February: 20 workdays, 2,000 tokens.
	in.Plans = []Plan{{ID: "p1", Users: 10, DaysPerWeek: 5, Products: fusionRevit[1:], Start: d("2027-02-01"), End: d("2027-02-28")}}
	with := Compute(in)
	require.Equal(t, int64(2000), in.Plans[0].Estimate().Tokens)
	require.Equal(t, int64(2000), with.PlannedTokens)
	require.Equal(t, without.RunOut, with.RunOutWithoutPlans)
	require.Equal(t, without.ExpiringUnspent, with.ExpiringWithoutPlans)
	// 310 by 31 Jan; February's workdays take 100 + 10 a day: 1,690 left
	// after 1 Feb's 110 … the pool cannot pay a day in late February.
	require.True(t, with.RunOut.Before(d("2027-03-01")) && with.RunOut.After(d("2027-02-01")), "run-out %s", with.RunOut.Format(time.DateOnly))
	require.Equal(t, without.Months[1].Used+2000, with.Months[1].Used, "February carries the plan")
	require.Equal(t, without.Months[2].Used, with.Months[2].Used, "March does not")
	// The term's 4,000: 3,690 left after January last the term at 10 a day,
	// but with February's 2,280 the other 1,410 are spent by July.
	require.True(t, without.Months[0].RunOut.IsZero())
	require.Equal(t, d("2027-07-01"), with.Months[0].RunOut)
}

func TestComputeWithAPlanAndNoHistory(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	in := Input{Now: now, Daily: map[time.Time]int64{}, TermStart: d("2027-01-01"),
		Packs: []Pack{{Remaining: 100, ExpiresAt: d("2027-06-01")}},
		Plans: []Plan{{Users: 1, Days: 23, Products: fusionRevit[1:], Start: d("2027-03-01"), End: d("2027-03-31")}}}
	r := Compute(in)
	require.True(t, r.RunOutWithoutPlans.IsZero(), "no use: never runs out")
	require.Equal(t, int64(100), r.ExpiringWithoutPlans)
	// March's 23 workdays at 10 from Monday 1 Mar: the 100 are gone after 10 workdays.
	require.Equal(t, d("2027-03-15"), r.RunOut)
	require.Zero(t, r.ExpiringUnspent)
	require.Equal(t, int64(230), r.PlannedTokens)
}

func TestPlanFromThePastCountsOnlyWhatIsLeft(t *testing.T) {
	t.Parallel()
	p := Plan{Users: 3, DaysPerWeek: 5, Products: fusionRevit[:1], Start: d("2026-12-07"), End: d("2027-01-01")}
	r := Compute(Input{Now: time.Date(2026, 12, 28, 0, 0, 0, 0, time.UTC), Daily: map[time.Time]int64{},
		TermStart: d("2026-01-01"), Plans: []Plan{p}})
	// 28 Dec - 1 Jan: five workdays of 3 users at 2.
	require.Equal(t, int64(30), r.PlannedTokens)
	require.False(t, math.IsNaN(r.Rate))
}

func TestFoldPlans(t *testing.T) {
	t.Parallel()
	at := d("2027-01-01")
	a := Plan{Name: "bridge", Users: 3, DaysPerWeek: 2}
	b := Plan{Name: "tunnel", Users: 5, Days: 10}
	events := []PlanEvent{
		{EventID: "e1", PlanID: "p1", Plan: a, At: at, Actor: "admin:ann"},
		{EventID: "e2", PlanID: "p2", Plan: b, At: at.Add(time.Hour), Actor: "admin:bob"},
		{EventID: "e1", PlanID: "p1", Plan: b, At: at.Add(2 * time.Hour)}, // the same write landed twice
		{EventID: "e3", PlanID: "p1", Removed: true, At: at.Add(3 * time.Hour)},
		{EventID: "e4", PlanID: "p9", Removed: true, At: at.Add(4 * time.Hour)}, // not in force
		{EventID: "e5", PlanID: "p2", Plan: a, At: at.Add(5 * time.Hour)},       // id taken: ignored
	}
	got := FoldPlans(events)
	require.Len(t, got, 1)
	require.Equal(t, "p2", got[0].Plan.ID)
	require.Equal(t, "tunnel", got[0].Plan.Name)
	require.Equal(t, "admin:bob", got[0].AddedBy)
	require.Equal(t, at.Add(time.Hour), got[0].AddedAt)
	require.Len(t, FoldPlans(events[:3]), 2)
	require.Empty(t, FoldPlans(nil))
	e, ok := FindEvent(events, "e3")
	require.True(t, ok)
	require.True(t, e.Removed)
	_, ok = FindEvent(events, "nope")
	require.False(t, ok)
}

// Every start weekday, length and kind of days: the workdays are counted
// right, each user's days are the share rounded up, and the daily demand
// sums to the estimate.
func TestPlanShapes(t *testing.T) {
	t.Parallel()
	for offset := range 7 {
		start := d("2027-01-04").AddDate(0, 0, offset)
		for length := 1; length <= 45; length++ {
			end := start.AddDate(0, 0, length-1)
			var workdays int64
			for day := start; !day.After(end); day = day.AddDate(0, 0, 1) {
				if wd := day.Weekday(); wd != time.Saturday && wd != time.Sunday {
					workdays++
				}
			}
			var plans []Plan
			for dpw := 1; dpw <= 7; dpw++ {
				plans = append(plans, Plan{Users: 3, DaysPerWeek: dpw, Products: fusionRevit, Start: start, End: end})
			}
			for _, days := range []int64{1, workdays, int64(length)} {
				if days > 0 {
					plans = append(plans, Plan{Users: 3, Days: days, Products: fusionRevit, Start: start, End: end})
				}
			}
			for _, p := range plans {
				w, we := p.dayCounts()
				require.Equal(t, workdays, w, "%s +%d", start.Format(time.DateOnly), length)
				require.Equal(t, int64(length)-workdays, we)
				e := p.Estimate()
				if p.Days > 0 {
					require.Equal(t, p.Days, e.DaysPerUser)
				} else {
					require.LessOrEqual(t, e.DaysPerUser, int64(length))
					require.GreaterOrEqual(t, float64(e.DaysPerUser), float64(workdays*int64(min(p.DaysPerWeek, 5)))/5-1e-9, "the workdays' share")
				}
				require.Equal(t, 3*e.DaysPerUser*12, e.Tokens)
				demand := p.Demand()
				var sum float64
				for day := start; !day.After(end); day = day.AddDate(0, 0, 1) {
					sum += demand(day)
				}
				require.InDelta(t, float64(e.Tokens), sum, 1e-6)
				require.Equal(t, e.Tokens, p.TokensFrom(start))
			}
		}
	}
}
