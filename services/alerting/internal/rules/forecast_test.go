package rules_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/forecast"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
)

// setZone records org acme's time zone as the ledger does: on its catalog
// subject, with no team.
func (f *feed) setZone(zone string) {
	f.seq++
	f.r.Apply(f.seq, &v1.Event{EventId: "zone", OrgId: "acme", ServerTime: timestampOf(f.now),
		Payload: &v1.Event_TimeZoneSet{TimeZoneSet: &v1.TimeZoneSet{Zone: zone}}})
}

// seasonalUse is a team's use on day: 10 tokens, but 100 in April 2025, its
// project season.
func seasonalUse(day time.Time) int64 {
	if day.Year() == 2025 && day.Month() == time.April {
		return 100
	}
	return 10
}

// A seasonal team: 10 tokens a day but for last April's 100. In March its
// trailing rate says its last ~700 tokens last 70 days, while the console's
// forecast (last year's April factor) says they run out in early April. The
// alert must be the console's forecast: it fires the day the console's
// run-out comes within 30 days and names the console's date and level. In
// Auckland, use is counted on the organisation's dates.
func TestForecastRunOutIsTheConsolesForecast(t *testing.T) {
	t.Parallel()
	for _, zone := range []string{"UTC", "Pacific/Auckland"} {
		t.Run(zone, func(t *testing.T) {
			t.Parallel()
			loc, err := time.LoadLocation(zone)
			require.NoError(t, err)
			f := newFeed(t, func(c *rules.Config) {
				c.Forecast.BeforeTermEnd = false
				c.LowBalance.Enabled, c.BurnPace.Enabled, c.Spike.Enabled = false, false, false
			})
			f.now = time.Date(2025, 2, 1, 11, 30, 0, 0, time.UTC)
			if zone != "UTC" {
				f.setZone(zone)
			}
			last := time.Date(2026, 3, 31, 11, 30, 0, 0, time.UTC)
			var total int64
			for at := f.now; !at.After(last); at = at.AddDate(0, 0, 1) {
				total += seasonalUse(at)
			}
			expires := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
			f.pack("p1", total+300, expires.Sub(f.now))

			daily := map[time.Time]int64{}
			var fired *v1.Alert
			var consoleBefore time.Time
			for ; !f.now.After(last) && fired == nil; f.advance(day) {
				today := forecast.Today(f.now, loc)
				daily[today] += seasonalUse(f.now)
				raised := only(rules.KindForecastRunOut, f.charge("ann", "RVT", seasonalUse(f.now)))
				console := forecast.Compute(forecast.Input{Now: f.now, Zone: loc, Daily: daily, TermStart: forecast.HistoryFrom(today),
					Packs: []forecast.Pack{{Remaining: f.avail, ExpiresAt: expires}}})
				if len(raised) == 0 {
					consoleBefore = console.RunOut
					continue
				}
				require.Len(t, raised, 1)
				fired = raised[0]
				require.True(t, console.Season.Seasonal)
				require.Equal(t, console.RunOutWithoutPlans, time.Unix(int64(fired.GetFigures()["run_out_unix"]), 0).UTC(),
					"the alert's run-out is the console's (plans aside)")
				require.InDelta(t, math.Round(console.Rate*10)/10, fired.GetFigures()["daily_rate"], 1e-9)
				require.LessOrEqual(t, console.RunOut.Sub(today), 30*day)
				require.Greater(t, consoleBefore.Sub(today.AddDate(0, 0, -1)), 30*day, "fires the day it first holds")
				require.Contains(t, fired.GetMessage(), "run out on "+console.RunOut.Format(time.DateOnly))
			}
			require.NotNil(t, fired, "the console's run-out came within 30 days in March 2026")
			require.Equal(t, time.March, fired.GetRaisedAt().AsTime().Month())
			require.Equal(t, 2026, fired.GetRaisedAt().AsTime().Year())
		})
	}
}

// Within a day the run-out is simulated again only when the packs changed
// beyond what they held at the rule's limit: charges that stay within it keep
// the answer, one that goes past it brings the run-out within the days.
func TestForecastRunOutFollowsSpendWithinADay(t *testing.T) {
	t.Parallel()
	f := newFeed(t, func(c *rules.Config) {
		c.Forecast.BeforeTermEnd = false
		c.LowBalance.Enabled, c.BurnPace.Enabled, c.Spike.Enabled = false, false, false
	})
	f.pack("p1", 1000, 400*day)
	for range 30 {
		f.advance(day)
		require.Empty(t, only(rules.KindForecastRunOut, f.charge("ann", "RVT", 10)))
	}
	// The next day: 700 left at 10 a day last 70 days; the rule looks 31 days
	// ahead, when 390 would be left.
	f.advance(day)
	require.Empty(t, only(rules.KindForecastRunOut, f.charge("ann", "RVT", 0)), "700 last 70 days")
	require.Empty(t, only(rules.KindForecastRunOut, f.charge("ann", "RVT", 290)), "410 last 41 days")
	got := only(rules.KindForecastRunOut, f.charge("ann", "RVT", 110))
	require.Len(t, got, 1, "300 last 30 days: 400 spent since the simulation, past its 390")
	today := forecast.Today(f.now, nil)
	require.Equal(t, today.AddDate(0, 0, 30), time.Unix(int64(got[0].GetFigures()["run_out_unix"]), 0).UTC())
	require.InDelta(t, 30, got[0].GetFigures()["days_left"], 0)

	// Settings apply from the next charge: 20 days re-arms, back to 30 fires again.
	cfg := rules.Defaults()
	cfg.Forecast.BeforeTermEnd, cfg.Forecast.WithinDays = false, 20
	f.r.SetTeamConfig("acme", "design", &cfg)
	require.Empty(t, only(rules.KindForecastRunOut, f.charge("ann", "RVT", 0)))
	cfg.Forecast.WithinDays = 30
	f.r.SetTeamConfig("acme", "design", &cfg)
	require.Len(t, only(rules.KindForecastRunOut, f.charge("ann", "RVT", 0)), 1)
}

// A team's days are its organisation's dates: in Auckland a charge at 00:30
// and one at 23:30 local fall on one day (a spike), which are two in UTC.
func TestDailyUseFollowsTheOrganisationsZone(t *testing.T) {
	t.Parallel()
	for zone, want := range map[string]int{"Pacific/Auckland": 1, "": 0} {
		f := newFeed(t, nil)
		f.now = time.Date(2026, 3, 2, 11, 30, 0, 0, time.UTC)
		if zone != "" {
			f.setZone(zone)
		}
		f.pack("p1", 10_000, 365*day)
		for range 10 {
			require.Empty(t, only(rules.KindUsageSpike, f.charge("ann", "RVT", 10)))
			f.advance(day)
		}
		got := only(rules.KindUsageSpike, f.advance(-time.Hour).charge("ann", "RVT", 25))
		require.Len(t, got, want, "zone %q", zone)
		if want > 0 {
			require.Equal(t, "Team design used 35 tokens on 2026-03-12, 3.5× its trailing daily mean of 10", got[0].GetMessage())
		}
	}
}
