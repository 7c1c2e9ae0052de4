package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func TestDue(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	monthly, weekly := v1.SchedulePeriod_SCHEDULE_PERIOD_MONTHLY, v1.SchedulePeriod_SCHEDULE_PERIOD_WEEKLY
	for _, c := range []struct {
		p               v1.SchedulePeriod
		now             time.Time
		label, from, to string
	}{
		{monthly, time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC), "2026-11", "2026-11-01", "2026-11-30"},
		{monthly, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), "2026-12", "2026-12-01", "2026-12-31"},
		{monthly, time.Date(2026, 3, 31, 12, 0, 0, 0, time.FixedZone("x", 5*3600)), "2026-02", "2026-02-01", "2026-02-28"},
		// Sunday 2026-12-06: the week before is Monday 23 Nov to Sunday 29 Nov (ISO week 48).
		{weekly, time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC), "2026-W48", "2026-11-23", "2026-11-29"},
		{weekly, time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), "2026-W49", "2026-11-30", "2026-12-06"},
		// Across a year: the week of 29 Dec 2025 is ISO 2026-W01.
		{weekly, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC), "2026-W01", "2025-12-29", "2026-01-04"},
	} {
		got := Due(c.p, c.now, time.UTC)
		require.Equal(t, Period{Label: c.label, From: day(c.from), To: day(c.to)}, got, "%s at %s", c.p, c.now)
	}
	require.Less(t, Due(monthly, day("2026-12-06"), time.UTC).Label, Due(monthly, day("2027-01-02"), time.UTC).Label)
	require.Less(t, Due(weekly, day("2026-12-30"), time.UTC).Label, Due(weekly, day("2027-01-12"), time.UTC).Label)
}

// A period ends at the organisation's midnight: Auckland's March is over
// while it is still the 31st in UTC, Los Angeles' is not yet over when
// April has begun in UTC, and a week likewise.
func TestDueInZone(t *testing.T) {
	nz, err := time.LoadLocation("Pacific/Auckland")
	require.NoError(t, err)
	la, err := time.LoadLocation("America/Los_Angeles")
	require.NoError(t, err)
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	monthly, weekly := v1.SchedulePeriod_SCHEDULE_PERIOD_MONTHLY, v1.SchedulePeriod_SCHEDULE_PERIOD_WEEKLY
	at := time.Date(2026, 3, 31, 20, 0, 0, 0, time.UTC) // 09:00 on 1 April in Auckland
	require.Equal(t, Period{Label: "2026-03", From: day("2026-03-01"), To: day("2026-03-31")}, Due(monthly, at, nz))
	require.Equal(t, "2026-02", Due(monthly, at, time.UTC).Label)
	at = time.Date(2026, 4, 1, 3, 0, 0, 0, time.UTC) // 20:00 on 31 March in Los Angeles
	require.Equal(t, Period{Label: "2026-02", From: day("2026-02-01"), To: day("2026-02-28")}, Due(monthly, at, la))
	// Monday 30 March 2026 01:00 in Auckland is Sunday 12:00 in UTC.
	at = time.Date(2026, 3, 29, 12, 0, 0, 0, time.UTC)
	require.Equal(t, Period{Label: "2026-W13", From: day("2026-03-23"), To: day("2026-03-29")}, Due(weekly, at, nz))
	require.Equal(t, "2026-W12", Due(weekly, at, time.UTC).Label)
}
