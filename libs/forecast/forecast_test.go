package forecast

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func d(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// seedYear is the seeds' "Token Usage Forecast Example": 5,000 tokens for
// 2025, 500 used by the end of January (10 %), 1,800 by April (36 %), 3,200
// by July (64 %). Each month's use falls on its 15th so the rates are easy
// to compute by hand.
func seedYear() map[time.Time]int64 {
	return map[time.Time]int64{
		d("2025-01-15"): 500, d("2025-02-15"): 450, d("2025-03-15"): 450, d("2025-04-15"): 400,
		d("2025-05-15"): 400, d("2025-06-15"): 400, d("2025-07-15"): 600,
	}
}

func TestComputeSeedExample(t *testing.T) {
	t.Parallel()
	r := Compute(Input{
		Now:        time.Date(2025, 8, 1, 10, 0, 0, 0, time.UTC),
		Daily:      seedYear(),
		Packs:      []Pack{{Remaining: 1800, ExpiresAt: d("2026-01-01")}},
		TermStart:  d("2025-01-01"),
		TermTokens: 5000,
	})
	// 30 days before 1 Aug: 2-31 Jul, holding July's 600. 90 days: 3 May-31 Jul.
	require.InDelta(t, 20.0, r.Burn30, 1e-9)
	require.InDelta(t, 1400.0/90, r.Burn90, 1e-9)
	require.InDelta(t, 20.0, r.Rate, 1e-9)
	require.Equal(t, int64(1800), r.Available)
	// 1,800 tokens at 20 a day last 90 days (1 Aug-29 Oct): 30 Oct cannot be paid.
	require.Equal(t, d("2025-10-30"), r.RunOut)
	require.Zero(t, r.ExpiringUnspent)
	// Feb-Jul and Aug 2024-Jul 2025; renewal: max(3,200, 2 x 2,700) rounded up.
	require.Equal(t, int64(2700), r.Used6)
	require.Equal(t, int64(3200), r.Used12)
	require.Equal(t, int64(5400), r.Renewal)

	require.Len(t, r.Months, 12)
	type row struct {
		month       string
		used, cum   int64
		percent     float64
		projected   bool
		runOutMonth string
	}
	var got []row
	for _, m := range r.Months[:10] {
		ro := ""
		if !m.RunOut.IsZero() {
			ro = m.RunOut.Format("2006-01")
		}
		got = append(got, row{m.Start.Format("2006-01"), m.Used, m.Cumulative, m.Percent, m.Projected, ro})
	}
	require.Equal(t, []row{
		// Pace at 31 Jan: 500/30 a day; 4,500 left last 270 days: 28 Oct.
		{"2025-01", 500, 500, 10, false, "2025-10"},
		{"2025-02", 450, 950, 19, false, "2025-11"},
		{"2025-03", 450, 1400, 28, false, "2025-11"},
		// Pace at 30 Apr: 1,300/90 a day; 3,200 left last 222 days: 8 Dec.
		{"2025-04", 400, 1800, 36, false, "2025-12"},
		{"2025-05", 400, 2200, 44, false, "2025-12"},
		// Pace at 30 Jun: 400/30 = 1,200/90 a day; 2,400 left last 180 days: 27 Dec.
		{"2025-06", 400, 2600, 52, false, "2025-12"},
		// The seeds' July row: 64 %, run-out in October (1,800 at 20 a day: 29 Oct).
		{"2025-07", 600, 3200, 64, false, "2025-10"},
		{"2025-08", 620, 3820, 76.4, true, "2025-10"},
		{"2025-09", 600, 4420, 88.4, true, "2025-10"},
		{"2025-10", 620, 5040, 100.8, true, "2025-10"},
	}, got)
}

func TestComputeExpiryAndIdle(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	daily := map[time.Time]int64{}
	for i := 1; i <= 30; i++ {
		daily[now.AddDate(0, 0, -i)] = 10 // 10 a day for 30 days, nothing before
	}
	r := Compute(Input{Now: now, Daily: daily, TermStart: d("2025-01-01"), TermTokens: 1000, Packs: []Pack{
		{Remaining: 100, ExpiresAt: d("2025-03-06")}, // 5 days at 10 = 50 spent, 50 lost
		{Remaining: 300, ExpiresAt: d("2026-01-01")},
	}})
	require.InDelta(t, 10.0, r.Burn30, 1e-9)
	require.InDelta(t, 300.0/90, r.Burn90, 1e-9)
	require.Equal(t, int64(50), r.ExpiringUnspent)
	require.Equal(t, d("2025-03-06").AddDate(0, 0, 30), r.RunOut, "300 at 10 a day from 6 Mar")

	idle := Compute(Input{Now: now, Daily: map[time.Time]int64{}, TermStart: d("2025-01-01"),
		Packs: []Pack{{Remaining: 70, ExpiresAt: d("2025-06-01")}}})
	require.True(t, idle.RunOut.IsZero(), "nothing used: never runs out")
	require.Equal(t, int64(70), idle.ExpiringUnspent, "all of it expires unspent")
	require.Zero(t, idle.Renewal)
}

// "Today" is the organisation's date: at 12:30 UTC on 30 April it is
// already May in Auckland, so April has ended there (its figures are what
// was used, not a projection) and the burn rates include 30 April's use.
func TestTodayIsTheOrganisationsDate(t *testing.T) {
	auckland, err := time.LoadLocation("Pacific/Auckland")
	require.NoError(t, err)
	in := Input{Now: time.Date(2026, 4, 30, 12, 30, 0, 0, time.UTC), TermStart: d("2025-06-01"), TermTokens: 1000,
		Daily: map[time.Time]int64{d("2026-04-30"): 30}}
	utc := Compute(in)
	require.True(t, utc.Months[10].Projected, "April has not ended in UTC")
	require.Zero(t, utc.Burn30, "30 April is today in UTC: not in the trailing 30 days")
	in.Zone = auckland
	nz := Compute(in)
	require.False(t, nz.Months[10].Projected, "April has ended in Auckland")
	require.InDelta(t, 1.0, nz.Burn30, 1e-9, "30 April is yesterday in Auckland")
}
