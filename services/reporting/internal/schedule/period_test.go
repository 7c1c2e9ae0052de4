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
		got := Due(c.p, c.now)
		require.Equal(t, Period{Label: c.label, From: day(c.from), To: day(c.to)}, got, "%s at %s", c.p, c.now)
	}
	require.Less(t, Due(monthly, day("2026-12-06")).Label, Due(monthly, day("2027-01-02")).Label)
	require.Less(t, Due(weekly, day("2026-12-30")).Label, Due(weekly, day("2027-01-12")).Label)
}
