package query

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func day(s string) time.Time {
	d, err := time.Parse(DateLayout, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestNewFilterRanges(t *testing.T) {
	t.Parallel()
	// 23:30 in UTC-5 on 14 May is already 15 May in UTC.
	now := time.Date(2025, 5, 14, 23, 30, 0, 0, time.FixedZone("EST", -5*3600))
	tests := []struct {
		name     string
		spec     RangeSpec
		from, to string
	}{
		{"default is the last 12 months", RangeSpec{}, "2024-05-16", "2025-05-15"},
		{"this month", RangeSpec{Preset: PresetThisMonth}, "2025-05-01", "2025-05-15"},
		{"last 3 months", RangeSpec{Preset: PresetLast3Months}, "2025-02-16", "2025-05-15"},
		{"last 6 months", RangeSpec{Preset: PresetLast6Months}, "2024-11-16", "2025-05-15"},
		{"last 9 months", RangeSpec{Preset: PresetLast9Months}, "2024-08-16", "2025-05-15"},
		{"last 12 months", RangeSpec{Preset: PresetLast12Months}, "2024-05-16", "2025-05-15"},
		{"explicit dates", RangeSpec{FromDate: "2025-01-01", ToDate: "2025-01-31"}, "2025-01-01", "2025-01-31"},
		{"from only runs to today", RangeSpec{FromDate: "2025-04-01"}, "2025-04-01", "2025-05-15"},
		{"one day", RangeSpec{FromDate: "2025-04-01", ToDate: "2025-04-01"}, "2025-04-01", "2025-04-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := NewFilter("acme", []string{"design"}, tt.spec, now)
			require.NoError(t, err)
			require.Equal(t, day(tt.from), f.From)
			require.Equal(t, day(tt.to), f.To)
		})
	}
}

func TestMonthsBackClampsShortMonths(t *testing.T) {
	t.Parallel()
	// 31 May minus 3 months is "31 Feb": clamped to 28 Feb, so the range starts 1 Mar.
	require.Equal(t, day("2025-03-01"), monthsBack(day("2025-05-31"), 3))
	require.Equal(t, day("2024-03-01"), monthsBack(day("2024-05-31"), 3)) // 29 Feb + 1
	require.Equal(t, day("2024-02-01"), monthsBack(day("2025-01-31"), 12))
}

func TestNewFilterViolations(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 5, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		teams  []string
		spec   RangeSpec
		fields []string
	}{
		{"no teams", nil, RangeSpec{}, []string{"team_ids"}},
		{"bad team ids are each named", []string{"ok", "bad.team", "", "ok-2"}, RangeSpec{}, []string{"team_ids[1]", "team_ids[2]"}},
		{"preset and dates", []string{"t"}, RangeSpec{Preset: PresetThisMonth, FromDate: "2025-01-01"}, []string{"range"}},
		{"bad from", []string{"t"}, RangeSpec{FromDate: "2025-13-01"}, []string{"range.from_date"}},
		{"bad to", []string{"t"}, RangeSpec{FromDate: "2025-01-01", ToDate: "01/02/2025"}, []string{"range.to_date"}},
		{"to without from", []string{"t"}, RangeSpec{ToDate: "2025-01-01"}, []string{"range.from_date"}},
		{"from after to", []string{"t"}, RangeSpec{FromDate: "2025-02-01", ToDate: "2025-01-01"}, []string{"range.from_date"}},
		{"unknown preset", []string{"t"}, RangeSpec{Preset: Preset(99)}, []string{"range.preset"}},
		{"every problem at once", []string{"a b"}, RangeSpec{FromDate: "x"}, []string{"team_ids[0]", "range.from_date"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewFilter("acme", tt.teams, tt.spec, now)
			var inv *InvalidError
			require.True(t, errors.As(err, &inv), "want *InvalidError, got %v", err)
			var fields []string
			for _, v := range inv.Violations {
				require.NotEmpty(t, v.Description)
				fields = append(fields, v.Field)
			}
			require.Equal(t, tt.fields, fields)
		})
	}
}

func TestNewFilterDeduplicatesTeams(t *testing.T) {
	t.Parallel()
	f, err := NewFilter("acme", []string{"a", "b", "a"}, RangeSpec{}, time.Now())
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, f.TeamIDs)
}

func TestNewFilterNeedsAnOrg(t *testing.T) {
	t.Parallel()
	_, err := NewFilter("", []string{"a"}, RangeSpec{}, time.Now())
	require.Error(t, err)
	var inv *InvalidError
	require.False(t, errors.As(err, &inv), "a missing org is not the caller's mistake")
}

func TestFilterMonths(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 5, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		spec   RangeSpec
		months int
		days   int
	}{
		{RangeSpec{Preset: PresetThisMonth}, 1, 15},
		{RangeSpec{Preset: PresetLast3Months}, 3, 89},
		{RangeSpec{Preset: PresetLast6Months}, 6, 181},
		{RangeSpec{Preset: PresetLast9Months}, 9, 273},
		{RangeSpec{Preset: PresetLast12Months}, 12, 365},
		{RangeSpec{FromDate: "2025-01-01", ToDate: "2025-03-31"}, 3, 90},
		{RangeSpec{FromDate: "2025-01-15", ToDate: "2025-02-14"}, 1, 31},
		{RangeSpec{FromDate: "2025-01-15", ToDate: "2025-02-15"}, 2, 32},
		{RangeSpec{FromDate: "2025-04-01", ToDate: "2025-04-01"}, 1, 1},
	}
	for _, tt := range tests {
		f, err := NewFilter("acme", []string{"t"}, tt.spec, now)
		require.NoError(t, err)
		require.Equal(t, tt.months, f.Months(), "%+v", tt.spec)
		require.Equal(t, tt.days, f.Days(), "%+v", tt.spec)
	}
}

// TestViolationsQuoteAShortPrefix: a refused value comes back cut short,
// however long it was.
func TestViolationsQuoteAShortPrefix(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("9", 100_000)
	_, err := NewFilter("acme", []string{huge}, RangeSpec{FromDate: huge, ToDate: huge}, time.Now())
	var inv *InvalidError
	require.True(t, errors.As(err, &inv))
	require.Len(t, inv.Violations, 3)
	for _, v := range inv.Violations {
		require.Less(t, len(v.Description), 200, v.Field)
		require.Contains(t, v.Description, `"99999999999999999999999999999999"…`, v.Field)
	}
}

// Presets follow the organisation's zone: at 12:30 UTC on 30 April it is
// already 1 May in Auckland and still 30 April in Los Angeles.
func TestThisMonthInTheOrganisationsZone(t *testing.T) {
	now := time.Date(2026, 4, 30, 12, 30, 0, 0, time.UTC)
	la, _ := time.LoadLocation("America/Los_Angeles")
	for zone, want := range map[*time.Location][2]string{
		time.UTC: {"2026-04-01", "2026-04-30"},
		auckland: {"2026-05-01", "2026-05-01"},
		la:       {"2026-04-01", "2026-04-30"},
	} {
		f, err := NewFilterIn("acme", []string{"design"}, RangeSpec{Preset: PresetThisMonth}, now, zone)
		require.NoError(t, err)
		require.Equal(t, want, [2]string{f.From.Format(DateLayout), f.To.Format(DateLayout)}, zone.String())
		require.Equal(t, want[1], f.Today(now).Format(DateLayout))
	}
}
